using System.Diagnostics;
using System.Globalization;
using ZImage.Engine.Memory;

namespace ZImage.Engine.Pipeline;

/// <summary>One job of <see cref="IdleUnloadCheck"/>: how it ended (succeeded, failed, cancelled, refused) and its times.</summary>
public sealed record IdleUnloadJob(string Outcome, string? Reason, TimeSpan Wall, TimeSpan Run)
{
    public bool Succeeded => Outcome == "succeeded";
}

/// <summary>
/// What <see cref="IdleUnloadCheck.RunAsync"/> saw: NVML's "used" bytes of the card (null where the GPU memory was not
/// consulted: the CPU provider, or no NVML) and the host's open sessions at each point, and the verdict.
/// </summary>
public sealed record IdleUnloadReport
{
    public required IdleUnloadJob First { get; init; }
    public required IdleUnloadJob Second { get; init; }
    public long? UsedBefore { get; init; }
    public long? UsedAfterFirst { get; init; }
    public long? UsedAtUnload { get; init; }
    /// <summary><see cref="IdleUnloadCheck.Settle"/> after the unload: what the criterion reads.</summary>
    public long? UsedAfterUnload { get; init; }
    public long? UsedAfterSecond { get; init; }
    public int SessionsAfterFirst { get; init; }
    public int SessionsAfterUnload { get; init; }
    public int SessionsAfterSecond { get; init; }
    public bool Unloaded { get; init; }
    /// <summary>Wall time from the end of the first job until the host said unloaded (or the limit).</summary>
    public TimeSpan UnloadWait { get; init; }
    /// <summary>The host's status-bar sentence while unloaded.</summary>
    public string? DetailWhileUnloaded { get; init; }

    public bool MemoryRead => UsedAfterFirst is not null && UsedAfterUnload is not null && UsedAfterSecond is not null;

    /// <summary>What the unload gave back: used after the first job minus used after the unload.</summary>
    public long? Released => MemoryRead ? UsedAfterFirst!.Value - UsedAfterUnload!.Value : null;

    /// <summary>
    /// What the model takes: what the reload added to the unloaded card. Read on the reload, not the first load, because
    /// the first load also pays what the process keeps for its life (the CUDA context, the kernels loaded on first use).
    /// </summary>
    public long? ModelTakes => MemoryRead ? UsedAfterSecond!.Value - UsedAfterUnload!.Value : null;

    /// <summary>Of what the model takes, the share the unload gave back (null without NVML readings).</summary>
    public double? ReleasedShare => ModelTakes is > 0 ? (double)Released!.Value / ModelTakes.Value : null;

    /// <summary>Every way the check failed, as sentences; empty when it passed.</summary>
    public IReadOnlyList<string> Failures => IdleUnloadCheck.Judge(this);

    public bool Passed => Failures.Count == 0;
}

/// <summary>
/// Issue 16's idle-unload check, one home for its criterion and its measuring sequence, run by the unit test
/// (IdleUnloadTests, on whatever provider this machine has) and by <c>ZImage.Tools idle-unload-check</c> on a real card:
/// the first job loads the model into the <see cref="PipelineHost"/> and makes a picture; the host's own idle timer
/// unloads it; the sessions and NVML's "used" memory are read; a second job must load the model again and succeed.
/// It passes when every session was disposed, at least <see cref="MinReleasedShare"/> of what the model takes came back
/// (where NVML was read), and both jobs left the model's <see cref="ModelSessions"/> sessions open.
/// </summary>
public static class IdleUnloadCheck
{
    /// <summary>Text encoder, transformer and VAE decoder, all kept open after a run under resident residency.</summary>
    public const int ModelSessions = 3;

    /// <summary>Of what the model takes, this share must be back after the unload (some of the driver's pools may stay).</summary>
    public const double MinReleasedShare = 0.9;

    /// <summary>How long after the unload the memory is read again before the verdict (NVML can trail the frees).</summary>
    public static readonly TimeSpan Settle = TimeSpan.FromSeconds(2);

    /// <param name="host">The host under test; run the check with resident residency, so the sessions stay open after a run.</param>
    /// <param name="gpu">
    /// The card's NVML probe when the sessions run on a GPU provider; null on the CPU provider, where NVML is not consulted
    /// (the card's memory has nothing to do with the sessions then).
    /// </param>
    /// <param name="runJob">Runs one job named "first" or "second" through whatever the caller drives (the jobs worker, or the host itself).</param>
    /// <param name="passIdleTime">Lets the idle minutes pass: nothing where the host's clock runs by itself, a fake clock's advance in tests.</param>
    /// <param name="unloadLimit">How long (wall time) to wait for the host's timer after <paramref name="passIdleTime"/> before calling it a failure.</param>
    public static async Task<IdleUnloadReport> RunAsync(PipelineHost host, IGpuMemoryProbe? gpu, Func<string, Task<IdleUnloadJob>> runJob,
        Func<Task> passIdleTime, TimeSpan unloadLimit, CancellationToken ct = default)
    {
        long? Used() => gpu?.Read()?.UsedBytes;

        long? before = Used();
        var first = await runJob("first");
        long? afterFirst = Used();
        int sessionsAfterFirst = host.OpenSessionCount;

        // The host's own timer does the unload; this only lets the time pass and watches for it.
        var wait = Stopwatch.StartNew();
        await passIdleTime();
        while (host.State != ModelState.Unloaded && wait.Elapsed < unloadLimit)
            await Task.Delay(20, ct);
        wait.Stop();
        bool unloaded = host.State == ModelState.Unloaded;
        int sessionsAfterUnload = host.OpenSessionCount;
        string? detail = host.Detail;
        long? atUnload = Used();
        long? afterUnload = atUnload;
        if (atUnload is not null)
        {
            await Task.Delay(Settle, ct);
            afterUnload = Used();
        }

        var second = await runJob("second");
        return new IdleUnloadReport
        {
            First = first,
            Second = second,
            UsedBefore = before,
            UsedAfterFirst = afterFirst,
            UsedAtUnload = atUnload,
            UsedAfterUnload = afterUnload,
            UsedAfterSecond = Used(),
            SessionsAfterFirst = sessionsAfterFirst,
            SessionsAfterUnload = sessionsAfterUnload,
            SessionsAfterSecond = host.OpenSessionCount,
            Unloaded = unloaded,
            UnloadWait = wait.Elapsed,
            DetailWhileUnloaded = detail,
        };
    }

    /// <summary>The criterion, as sentences naming what failed.</summary>
    internal static IReadOnlyList<string> Judge(IdleUnloadReport r)
    {
        var failures = new List<string>();
        if (!r.First.Succeeded)
            failures.Add($"job 1 {r.First.Outcome}: {r.First.Reason}");
        if (r.SessionsAfterFirst != ModelSessions)
            failures.Add($"job 1 left {r.SessionsAfterFirst} sessions open, not {ModelSessions}");
        if (!r.Unloaded)
            failures.Add("the model was not unloaded in time");
        if (r.SessionsAfterUnload != 0)
            failures.Add($"{r.SessionsAfterUnload} sessions still open after the unload");
        if (!r.Second.Succeeded)
            failures.Add($"job 2 {r.Second.Outcome}: {r.Second.Reason}");
        if (r.SessionsAfterSecond != ModelSessions)
            failures.Add($"job 2 left {r.SessionsAfterSecond} sessions open, not {ModelSessions}: the model was not loaded again");
        if (r.MemoryRead)
        {
            if (r.ModelTakes is not > 0)
                failures.Add($"the reload took no GPU memory that NVML saw ({Mebibytes.Of(r.ModelTakes!.Value)} MiB), so whether the unload gave it back cannot be told");
            else if (r.ReleasedShare < MinReleasedShare)
                failures.Add(string.Create(CultureInfo.InvariantCulture,
                    $"the unload gave back {Mebibytes.Of(r.Released!.Value)} MiB, {r.ReleasedShare * 100:0.0} % of the {Mebibytes.Of(r.ModelTakes.Value)} MiB the model takes (at least {MinReleasedShare * 100:0} % expected)"));
        }
        return failures;
    }
}
