using System.Collections.Concurrent;
using System.Diagnostics;

namespace ZImage.Tools.Scale;

/// <summary>
/// A <c>scale-worker</c> child process (ZImage.Tools with that command word) and the lines it prints: what the
/// scale-out tests kill and what scale-bench counts.
/// </summary>
internal sealed class WorkerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _lines = new();
    private readonly SemaphoreSlim _signal = new(0, int.MaxValue);

    private WorkerProcess(Process process) => _process = process;

    public int Id => _process.Id;
    public bool HasExited => _process.HasExited;
    public IReadOnlyList<string> Lines => [.. _lines];

    /// <summary>Job ids this process announced as started / succeeded.</summary>
    public IReadOnlyList<string> Started => [.. _lines.Where(l => l.StartsWith("started ", StringComparison.Ordinal)).Select(l => l[8..])];
    public IReadOnlyList<string> Succeeded => [.. _lines.Where(l => l.StartsWith("succeeded ", StringComparison.Ordinal)).Select(l => l[10..])];

    public static async Task<WorkerProcess> StartAsync(IEnumerable<string> arguments, TimeSpan timeout)
    {
        var info = Load.ServerProcess.ChildProcess(typeof(WorkerProcess).Assembly);
        info.ArgumentList.Add("scale-worker");
        foreach (var a in arguments)
            info.ArgumentList.Add(a);

        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var worker = new WorkerProcess(process);
        process.OutputDataReceived += (_, e) => worker.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => worker.OnLine(e.Data);
        process.Exited += (_, _) => worker._signal.Release();
        if (!process.Start())
            throw new InvalidOperationException($"could not start {info.FileName}");
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        await worker.UntilAsync(() => worker._lines.Contains("ready"), "the worker to be ready", timeout);
        return worker;
    }

    private void OnLine(string? line)
    {
        if (line is null)
            return;
        _lines.Enqueue(line);
        _signal.Release();
    }

    /// <summary>Waits for a line-based condition; fails with the process's output when the process ends first or time runs out.</summary>
    public async Task UntilAsync(Func<bool> condition, string what, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (_process.HasExited && !condition())
                throw new InvalidOperationException($"worker {Id} exited ({_process.ExitCode}) before {what}; its output:\n{string.Join('\n', _lines.TakeLast(30))}");
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero)
                throw new TimeoutException($"waited {timeout.TotalSeconds:0} s for {what}; worker {Id} output:\n{string.Join('\n', _lines.TakeLast(30))}");
            await _signal.WaitAsync(left < TimeSpan.FromMilliseconds(200) ? left : TimeSpan.FromMilliseconds(200));
        }
    }

    /// <summary>SIGKILL: no shutdown code runs, as when a machine loses power.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
            _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
    }

    /// <summary>SIGTERM, then waits for the process to end; returns how long each of its claims took (milliseconds).</summary>
    public async Task<IReadOnlyList<double>> StopAsync(TimeSpan timeout)
    {
        if (!_process.HasExited)
        {
            using var kill = Process.Start("kill", ["-TERM", Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            await kill.WaitForExitAsync();
        }
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
        var line = _lines.LastOrDefault(l => l.StartsWith("claim-ms", StringComparison.Ordinal))
            ?? throw new InvalidOperationException($"worker {Id} printed no claim-ms line; output:\n{string.Join('\n', _lines.TakeLast(30))}");
        return [.. line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(v => double.Parse(v, System.Globalization.CultureInfo.InvariantCulture))];
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process.Dispose();
    }
}
