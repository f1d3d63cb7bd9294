using ZImage.Engine.Jobs;

namespace ZImage.Engine.Tests.Jobs;

public class JobWatchTests
{
    [Fact]
    public async Task WatchingAJobStartsWithItsSnapshotAndEndsWithItsOutcomeInVersionOrder()
    {
        await using var host = await JobsHost.StartAsync(JobsHost.NewRoot());
        host.Pipeline.Hold();
        await host.StartWorkerAsync();
        var job = await host.SubmitAsync("ann", steps: 3);
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(20));

        var updates = new List<JobUpdate>();
        await foreach (var update in host.Jobs.WatchJobAsync(job.Id, new Caller("ann"), deadline.Token))
        {
            updates.Add(update);
            if (updates.Count == 1)
                host.Pipeline.Release();
        }

        Assert.NotNull(updates[0].Snapshot);
        Assert.IsType<JobSucceeded>(updates[^1].Event);
        Assert.All(updates.Skip(1), u => Assert.NotNull(u.Event));
        Assert.Equal(updates.Select(u => u.Version).Order(), updates.Select(u => u.Version));
        Assert.Equal(updates.Count, updates.Select(u => u.Version).Distinct().Count());
    }

    [Fact]
    public async Task AFinishedJobIsOneFinalSnapshotAndAForeignOneIsNothing()
    {
        await using var host = await JobsHost.StartAsync(JobsHost.NewRoot());
        await host.StartWorkerAsync();
        var job = await host.SubmitAsync("ann");
        await host.UntilFinalAsync(job.Id);

        var mine = await host.Jobs.WatchJobAsync(job.Id, new Caller("ann")).ToListAsync();
        var foreign = await host.Jobs.WatchJobAsync(job.Id, new Caller("bob")).ToListAsync();

        Assert.Equal(JobStatus.Succeeded, Assert.Single(mine).Snapshot!.Status);
        Assert.Empty(foreign);
    }

    [Fact]
    public async Task AWatcherThatDoesNotReadSkipsStepsButNeverTheOutcome()
    {
        await using var host = await JobsHost.StartAsync(JobsHost.NewRoot());
        host.Pipeline.Hold();
        await host.StartWorkerAsync();
        var job = await host.SubmitAsync("ann", steps: 40);
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await using var watch = host.Jobs.WatchJobAsync(job.Id, new Caller("ann"), deadline.Token).GetAsyncEnumerator();
        Assert.True(await watch.MoveNextAsync()); // the snapshot: from here on the watcher is subscribed

        // The whole job runs while nobody reads: the worker never waits for this watcher.
        host.Pipeline.Release();
        await host.UntilFinalAsync(job.Id);
        var rest = new List<JobUpdate>();
        while (await watch.MoveNextAsync())
            rest.Add(watch.Current);

        Assert.InRange(rest.Count(u => u.Event is JobStep), 1, JobUpdateChannel.MaxPendingSteps);
        Assert.IsType<JobSucceeded>(rest[^1].Event);
    }

    [Fact]
    public async Task WatchingMyJobsShowsTheirSnapshotsThenNewJobsAsTheyGo()
    {
        await using var host = await JobsHost.StartAsync(JobsHost.NewRoot());
        await host.StartWorkerAsync();
        var earlier = await host.SubmitAsync("ann");
        await host.UntilFinalAsync(earlier.Id);
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await using var watch = host.Jobs.WatchMineAsync(new Caller("ann"), deadline.Token).GetAsyncEnumerator();

        Assert.True(await watch.MoveNextAsync());
        Assert.Equal(earlier.Id, watch.Current.Snapshot!.Id);
        var next = await host.SubmitAsync("ann");
        var seen = new List<JobUpdate>();
        while (await watch.MoveNextAsync())
        {
            seen.Add(watch.Current);
            if (watch.Current.Event is JobSucceeded)
                break;
        }

        Assert.All(seen, u => Assert.Equal(next.Id, u.JobId));
        Assert.IsType<JobQueued>(seen[0].Event);
    }

    [Fact]
    public async Task WatchingARunningJobNeverRepeatsWhatItsSnapshotAlreadySays()
    {
        await using var host = await JobsHost.StartAsync(JobsHost.NewRoot());
        host.Pipeline.Hold();
        await host.StartWorkerAsync();
        var job = await host.SubmitAsync("ann", steps: 3);
        await host.Events.UntilAsync(() => host.Events.Of<JobStep>().Any(e => e.JobId == job.Id), "the first step");
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(20));

        var updates = new List<JobUpdate>();
        await foreach (var update in host.Jobs.WatchJobAsync(job.Id, new Caller("ann"), deadline.Token))
        {
            updates.Add(update);
            if (updates.Count == 1)
                host.Pipeline.Release();
        }

        var snapshot = updates[0].Snapshot!;
        Assert.Equal((JobStatus.Running, 1), (snapshot.Status, snapshot.Progress!.Step));
        Assert.DoesNotContain(updates, u => u.Event is JobStarted);
        Assert.Equal([2, 3], updates.Select(u => u.Event).OfType<JobStep>().Select(s => s.Step));
    }
}
