using System.Collections.Concurrent;
using ZImage.Engine.Jobs;

namespace ZImage.Web.Api.Operations;

/// <summary>
/// Observes every job event to build the wait-time and run-time histograms /metrics exposes; counters and
/// gauges come straight from <see cref="ISystemStatus"/>. Wait time is measured from the first queued event
/// this process saw to the start; run time from start to the final event, per outcome.
/// </summary>
public sealed class ApiMetrics(IJobNotifier notifier) : IHostedService
{
    /// <summary>Seconds: a turbo job is a few seconds on a big GPU, minutes on CPU or behind a long queue.</summary>
    private static readonly double[] Buckets = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];

    private readonly ConcurrentDictionary<string, DateTimeOffset> _queuedAt = new();
    private readonly ConcurrentDictionary<string, DateTimeOffset> _startedAt = new();
    private IDisposable? _subscription;

    public Histogram WaitSeconds { get; } = new(Buckets);
    public IReadOnlyDictionary<string, Histogram> RunSeconds { get; } = new Dictionary<string, Histogram>
    {
        ["succeeded"] = new(Buckets),
        ["failed"] = new(Buckets),
        ["cancelled"] = new(Buckets),
    };

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _subscription = notifier.SubscribeAll(Observe);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        _subscription?.Dispose();
        return Task.CompletedTask;
    }

    internal void Observe(JobEvent e)
    {
        switch (e)
        {
            case JobQueued q:
                _queuedAt.TryAdd(q.JobId, q.At);
                break;
            case JobStarted s:
                if (_queuedAt.TryRemove(s.JobId, out var queued))
                    WaitSeconds.Observe(Math.Max(0, (s.At - queued).TotalSeconds));
                _startedAt[s.JobId] = s.At;
                break;
            case JobSucceeded f:
                _startedAt.TryRemove(f.JobId, out _);
                RunSeconds["succeeded"].Observe(f.RunTime.TotalSeconds);
                break;
            case JobFailed f:
                Finish(f, "failed");
                break;
            case JobCancelled c:
                Finish(c, "cancelled");
                break;
        }
    }

    private void Finish(JobEvent e, string outcome)
    {
        _queuedAt.TryRemove(e.JobId, out _);
        if (_startedAt.TryRemove(e.JobId, out var started))
            RunSeconds[outcome].Observe(Math.Max(0, (e.At - started).TotalSeconds));
    }
}
