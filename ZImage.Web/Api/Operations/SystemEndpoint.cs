using ZImage.Engine.Jobs;
using ZImage.Web.Api.Auth;

namespace ZImage.Web.Api.Operations;

public static class SystemEndpoint
{
    /// <summary>The setting the Settings page writes for the execution provider.</summary>
    public const string ProviderKey = "ZImage:Engine:Provider";

    /// <summary>
    /// Providers: the configured one. What the loaded runtime offers (OrtRuntime.AvailableProviders, Onnx room)
    /// is not part of this branch yet, so it is not guessed here.
    /// </summary>
    public static IResult Get(HttpContext http, ISystemStatus status, IJobService jobs, IConfiguration configuration)
    {
        var s = status.GetStatus();
        var queue = jobs.ListQueue(http.Caller());
        return TypedResults.Ok(new
        {
            gpu = new { present = s.HasGpu, name = s.GpuName, vramTotalBytes = s.VramTotalBytes, vramUsedBytes = s.VramUsedBytes, vramFreeBytes = s.VramFreeBytes },
            providers = new { configured = configuration[ProviderKey] ?? "default" },
            model = new { state = s.ModelState.ToString().ToLowerInvariant(), detail = s.ModelDetail },
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
