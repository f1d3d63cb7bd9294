using Microsoft.Extensions.Logging;

namespace ZImage.Engine.Jobs;

/// <summary>Copy-on-write subscriber lists: publishing never takes a lock, subscribing is rare.</summary>
public sealed class JobNotifier(ILogger<JobNotifier> logger) : IJobNotifier
{
    private readonly object _gate = new();
    private Dictionary<string, Action<JobEvent>[]> _byJob = new(StringComparer.Ordinal);
    private Dictionary<string, Action<JobEvent>[]> _byUser = new(Caller.NameComparer);
    private Action<JobEvent>[] _all = [];

    public IDisposable SubscribeJob(string jobId, Action<JobEvent> handler) => AddKeyed(byJob: true, jobId, handler);

    public IDisposable SubscribeUser(string userName, Action<JobEvent> handler) => AddKeyed(byJob: false, userName, handler);

    public IDisposable SubscribeAll(Action<JobEvent> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        lock (_gate)
            _all = [.. _all, handler];
        return new Subscription(() =>
        {
            lock (_gate)
                _all = Without(_all, handler);
        });
    }

    public void Publish(JobEvent e)
    {
        if (Volatile.Read(ref _byJob).TryGetValue(e.JobId, out var forJob))
            Deliver(forJob, e);
        if (Volatile.Read(ref _byUser).TryGetValue(e.UserName, out var forUser))
            Deliver(forUser, e);
        Deliver(Volatile.Read(ref _all), e);
    }

    private void Deliver(Action<JobEvent>[] handlers, JobEvent e)
    {
        foreach (var handler in handlers)
        {
            try
            {
                handler(e);
            }
            catch (Exception ex)
            {
                // One broken subscriber (a closed browser tab) must not fail the job or starve the others.
                logger.LogWarning(ex, "A subscriber to job {JobId} threw on {Event}", e.JobId, e.GetType().Name);
            }
        }
    }

    private IDisposable AddKeyed(bool byJob, string key, Action<JobEvent> handler)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(handler);
        lock (_gate)
        {
            var copy = Copy(byJob);
            copy[key] = copy.TryGetValue(key, out var existing) ? [.. existing, handler] : [handler];
            Store(byJob, copy);
        }

        return new Subscription(() =>
        {
            lock (_gate)
            {
                var copy = Copy(byJob);
                if (!copy.TryGetValue(key, out var existing))
                    return;
                var rest = Without(existing, handler);
                if (rest.Length == 0)
                    copy.Remove(key);
                else
                    copy[key] = rest;
                Store(byJob, copy);
            }
        });
    }

    private Dictionary<string, Action<JobEvent>[]> Copy(bool byJob)
    {
        var map = byJob ? _byJob : _byUser;
        return new Dictionary<string, Action<JobEvent>[]>(map, (IEqualityComparer<string>)map.Comparer);
    }

    private void Store(bool byJob, Dictionary<string, Action<JobEvent>[]> map)
    {
        if (byJob)
            Volatile.Write(ref _byJob, map);
        else
            Volatile.Write(ref _byUser, map);
    }

    private static Action<JobEvent>[] Without(Action<JobEvent>[] handlers, Action<JobEvent> handler)
    {
        int i = Array.IndexOf(handlers, handler);
        return i < 0 ? handlers : [.. handlers[..i], .. handlers[(i + 1)..]];
    }

    private sealed class Subscription(Action dispose) : IDisposable
    {
        private Action? _dispose = dispose;

        public void Dispose() => Interlocked.Exchange(ref _dispose, null)?.Invoke();
    }
}
