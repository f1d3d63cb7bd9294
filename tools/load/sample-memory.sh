#!/usr/bin/env bash
# Samples the memory of the server that `ZImage.Tools.dll load` started, once a minute, until the driver exits:
#   tools/load/sample-memory.sh LOAD_DRIVER_PID OUT.csv
# Columns: seconds, RSS / anonymous / file-backed resident KiB (/proc), and from the server's /metrics the managed
# heap, the GC's committed and fragmented bytes and the generation-2 collection count, then the thread count.
# RSS that grows while the GC's committed memory stays flat is native memory; both flat is no leak.
set -u
driver=${1:?usage: sample-memory.sh LOAD_DRIVER_PID OUT.csv}
out=${2:?usage: sample-memory.sh LOAD_DRIVER_PID OUT.csv}
echo "t,rss_kb,anon_kb,file_kb,heap,committed,fragmented,gen2,threads" > "$out"
start=$(date +%s)
while kill -0 "$driver" 2>/dev/null; do
  server=$(pgrep -P "$driver" | head -1)
  if [ -n "$server" ] && [ -r "/proc/$server/status" ]; then
    port=$(ss -ltnp 2>/dev/null | grep "pid=$server," | grep -o '127.0.0.1:[0-9]*' | head -1 | cut -d: -f2)
    field() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$server/status"; }
    metrics=$(curl -s --max-time 5 "http://127.0.0.1:$port/metrics")
    metric() { echo "$metrics" | awk -v k="$1" '$1 == k { print $2 }'; }
    echo "$(( $(date +%s) - start )),$(field VmRSS),$(field RssAnon),$(field RssFile),$(metric dotnet_managed_heap_bytes),$(metric dotnet_gc_committed_bytes),$(metric dotnet_gc_fragmented_bytes),$(metric dotnet_gc_collections_total),$(field Threads)" >> "$out"
  fi
  sleep 60
done
