using ZImage.Engine.Models;
using ZImage.Engine.Jobs;
using ZImage.Engine.Pipeline;
using ZImage.Web.Api.Auth;

namespace ZImage.Web.Api.Operations;

public static class SystemEndpoint
{
    /// <summary>The setting the Settings page writes for the execution provider.</summary>
    public const string ProviderKey = "ZImage:Engine:Provider";

    /// <summary>
    /// Providers: the configured choice, what ONNX Runtime on this machine offers and what Auto picks here. A runtime
    /// that cannot be loaded is reported (<c>runtimeProblem</c>), not an error: the rest of the answer still helps.
    /// </summary>
    public static IResult Get(HttpContext http, ISystemStatus status, IJobService jobs, IConfiguration configuration, IRuntimeInfoSource runtime)
    {
        var s = status.GetStatus();
        var r = runtime.Get();
        var queue = jobs.ListQueue(http.Caller());
        return TypedResults.Ok(new
        {
            gpu = new { present = s.HasGpu, name = s.GpuName, vramTotalBytes = s.VramTotalBytes, vramUsedBytes = s.VramUsedBytes, vramFreeBytes = s.VramFreeBytes },
            // Every card this process drives (ZImage:Engine:Devices), in worker order; "gpu" above is the first.
            cards = s.Cards.Select(c => new
            {
                device = c.DeviceId,
                present = c.HasGpu,
                name = c.Name,
                vramTotalBytes = c.VramTotalBytes,
                vramUsedBytes = c.VramUsedBytes,
                vramFreeBytes = c.VramFreeBytes,
                model = c.ModelState.ToString().ToLowerInvariant(),
                activity = c.Activity.ToString().ToLowerInvariant(),
                step = c.Progress?.Step,
                steps = c.Progress?.TotalSteps,
                // The card's unresolved fault: activity "faulted" until retryAt, then it tries again (docs/scale-out.md).
                fault = c.Fault is { } f
                    ? new { reason = http.Caller().IsAdmin ? f.Reason : ServerPaths.Hide(f.Reason), at = f.At, retryAt = f.RetryAt, inARow = f.InARow }
                    : null,
            }),
            providers = new
            {
                configured = configuration[ProviderKey] ?? nameof(ProviderChoice.Auto),
                available = r.Providers,
                auto = r.AutoChoice?.ToString(),
                runtimeVersion = r.Version,
                runtimeProblem = http.Caller().IsAdmin ? r.Problem : ServerPaths.Hide(r.Problem),
            },
            model = new { state = s.ModelState.ToString().ToLowerInvariant(), detail = http.Caller().IsAdmin ? s.ModelDetail : ServerPaths.Hide(s.ModelDetail) },
            queue = new
            {
                queued = s.QueuedJobs,
                running = s.RunningJobs,
                workers = s.Workers,
                mine = queue.Count(e => e.IsMine),
            },
            jobs = new { succeeded = s.JobsSucceeded, failed = s.JobsFailed, cancelled = s.JobsCancelled, outOfMemory = s.OutOfMemoryCount },
        });
    }
}
