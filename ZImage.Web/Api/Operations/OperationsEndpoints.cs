using Microsoft.Extensions.Options;
using ZImage.Engine.Jobs;
using ZImage.Web.Api.Auth;

namespace ZImage.Web.Api.Operations;

/// <summary>
/// /healthz (the process answers), /readyz (the model is loaded), /metrics (Prometheus text). No caller is
/// needed: probes and scrapers carry no user; nothing here names a prompt.
/// </summary>
public static class OperationsEndpoints
{
    public static WebApplication MapOperationsEndpoints(this WebApplication app)
    {
        var ops = app.MapGroup("").WithTags("Operations");
        ops.MapGet("/healthz", () => TypedResults.Text("ok\n", "text/plain"))
            .WithSummary("Alive: the process answers HTTP.");
        ops.MapGet("/readyz", (ISystemStatus status) =>
            {
                var s = status.GetStatus();
                // Probes carry no user: the detail says what is wrong, not where the server keeps its files.
                var body = new ReadyDto(s.ModelState == ModelState.Ready, s.ModelState.ToString().ToLowerInvariant(), ServerPaths.Hide(s.ModelDetail));
                return s.ModelState == ModelState.Ready
                    ? Results.Json(body)
                    : Results.Json(body, statusCode: StatusCodes.Status503ServiceUnavailable);
            })
            .Produces(StatusCodes.Status200OK, typeof(ReadyDto))
            .Produces(StatusCodes.Status503ServiceUnavailable, typeof(ReadyDto))
            .WithSummary("Ready: 200 when the model is loaded, 503 otherwise.");
        ops.MapGet("/metrics", async Task<IResult> (HttpContext http, ISystemStatus status, ApiMetrics metrics, IOptions<ApiOptions> options, CallerResolver callers) =>
            {
                if (options.Value.AuthMode == ApiAuthMode.Accounts && !options.Value.PublicMetrics)
                {
                    // The series name people; in accounts mode only an administrator's token reads them.
                    var resolution = await callers.ResolveAsync(http);
                    if (resolution.Caller is null)
                    {
                        http.Response.Headers.WWWAuthenticate = "Bearer realm=\"zimage\"";
                        return ApiProblems.Status(resolution.Status, resolution.Error!);
                    }
                    if (!resolution.Caller.IsAdmin)
                        return ApiProblems.Status(StatusCodes.Status403Forbidden, "Only an administrator's token reads /metrics in accounts mode (or set ZImage:Api:PublicMetrics).");
                }
                return TypedResults.Text(Render(status.GetStatus(), metrics, LastCollection()), PrometheusText.ContentType);
            })
            .WithSummary("Prometheus text exposition format 0.0.4. Accounts mode: an administrator's token unless ZImage:Api:PublicMetrics is true.");
        return app;
    }

    private static string Device(CardStatus card) => card.DeviceId.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>
    /// The garbage collector's committed and fragmented bytes at its last collection; null before the first, where the
    /// runtime reports zeros that would read as "nothing committed".
    /// </summary>
    internal static (long CommittedBytes, long FragmentedBytes)? LastCollection()
    {
        var gc = GC.GetGCMemoryInfo();
        return gc.Index > 0 ? (gc.TotalCommittedBytes, gc.FragmentedBytes) : null;
    }

    /// <param name="lastCollection"><see cref="LastCollection"/>: null leaves those samples out (an absent sample is "unknown").</param>
    internal static string Render(SystemStatusSnapshot s, ApiMetrics m, (long CommittedBytes, long FragmentedBytes)? lastCollection)
    {
        var p = new PrometheusText();
        p.Family("zimage_queue_depth", "gauge", "Jobs waiting in the queue.").Sample("zimage_queue_depth", s.QueuedJobs);
        p.Family("zimage_jobs", "gauge", "Jobs by state: queued and running now.")
            .Sample("zimage_jobs", s.QueuedJobs, ("state", "queued"))
            .Sample("zimage_jobs", s.RunningJobs, ("state", "running"));
        p.Family("zimage_jobs_total", "counter", "Jobs that ended since start-up, by state.")
            .Sample("zimage_jobs_total", s.JobsSucceeded, ("state", "succeeded"))
            .Sample("zimage_jobs_total", s.JobsFailed, ("state", "failed"))
            .Sample("zimage_jobs_total", s.JobsCancelled, ("state", "cancelled"));
        p.Family("zimage_workers", "gauge", "GPU workers.").Sample("zimage_workers", s.Workers);
        p.Histogram("zimage_job_wait_seconds", "Time from queued to started.", m.WaitSeconds.Snapshot());
        p.Family("zimage_job_run_seconds", "histogram", "Time from started to the end, by outcome.");
        foreach (var (outcome, h) in m.RunSeconds)
        {
            var snap = h.Snapshot();
            long cumulative = 0;
            for (var i = 0; i < snap.UpperBounds.Count; i++)
            {
                cumulative += snap.Counts[i];
                p.Sample("zimage_job_run_seconds_bucket", cumulative, ("outcome", outcome), ("le", PrometheusText.Number(snap.UpperBounds[i])));
            }
            p.Sample("zimage_job_run_seconds_bucket", snap.Count, ("outcome", outcome), ("le", "+Inf"));
            p.Sample("zimage_job_run_seconds_sum", snap.Sum, ("outcome", outcome));
            p.Sample("zimage_job_run_seconds_count", snap.Count, ("outcome", outcome));
        }
        p.Family("zimage_images_total", "counter", "Images made since start-up, by user.");
        foreach (var (user, count) in s.ImagesByUser.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            p.Sample("zimage_images_total", count, ("user", user));
        p.Family("zimage_gpu_seconds_total", "counter", "GPU seconds held by jobs that ended since start-up, by user.");
        foreach (var (user, seconds) in s.GpuSecondsByUser.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            p.Sample("zimage_gpu_seconds_total", seconds, ("user", user));
        // One series per card this process drives (ZImage:Engine:Devices), labelled with the card's number.
        p.Family("zimage_vram_used_bytes", "gauge", "GPU memory in use, per card (0 without a GPU).");
        foreach (var card in s.Cards)
            p.Sample("zimage_vram_used_bytes", card.VramUsedBytes, ("device", Device(card)));
        p.Family("zimage_vram_total_bytes", "gauge", "GPU memory in total, per card (0 without a GPU).");
        foreach (var card in s.Cards)
            p.Sample("zimage_vram_total_bytes", card.VramTotalBytes, ("device", Device(card)));
        p.Family("zimage_card_busy", "gauge", "1 while the card runs a job (loading the model included), per card.");
        foreach (var card in s.Cards)
            p.Sample("zimage_card_busy", card.Activity is CardActivity.Running or CardActivity.Loading ? 1 : 0, ("device", Device(card)));
        p.Family("zimage_card_faulted", "gauge", "1 while the card pauses after a card fault (its driver or provider failed) and takes no job, per card.");
        foreach (var card in s.Cards)
            p.Sample("zimage_card_faulted", card.Activity == CardActivity.Faulted ? 1 : 0, ("device", Device(card)));
        p.Family("zimage_oom_total", "counter", "Out-of-memory failures since start-up.").Sample("zimage_oom_total", s.OutOfMemoryCount);
        p.Family("zimage_model_ready", "gauge", "1 when the model is loaded.").Sample("zimage_model_ready", s.ModelState == ModelState.Ready ? 1 : 0);
        // Resident memory beside the managed heap: a drift in the first with the second flat points at native memory
        // (ONNX Runtime arenas, SQLite's page cache, allocator fragmentation) rather than at objects kept alive.
        p.Family("process_resident_memory_bytes", "gauge", "Resident memory of the server process.").Sample("process_resident_memory_bytes", Environment.WorkingSet);
        p.Family("dotnet_managed_heap_bytes", "gauge", "Bytes the managed heap holds now (live and not yet collected).").Sample("dotnet_managed_heap_bytes", GC.GetTotalMemory(forceFullCollection: false));
        // Committed memory is what the GC holds from the OS, live objects or not: with it beside RSS, what is left of
        // a drift is memory outside the GC (native libraries, glibc).
        p.Family("dotnet_gc_committed_bytes", "gauge", "Memory the garbage collector had committed from the operating system at the last collection.");
        if (lastCollection is { } committed)
            p.Sample("dotnet_gc_committed_bytes", committed.CommittedBytes);
        p.Family("dotnet_gc_fragmented_bytes", "gauge", "Free space inside the managed heap at the last collection.");
        if (lastCollection is { } fragmented)
            p.Sample("dotnet_gc_fragmented_bytes", fragmented.FragmentedBytes);
        p.Family("dotnet_gc_collections_total", "counter", "Garbage collections since start-up (generation 2).").Sample("dotnet_gc_collections_total", GC.CollectionCount(2));
        return p.ToString();
    }
}

/// <param name="Model">The model's state: notinstalled, loading, ready or error.</param>
public sealed record ReadyDto(bool Ready, string Model, string? Detail);
