using Npgsql;
using ZImage.Engine.Jobs;
using ZImage.Engine.Pipeline;

namespace ZImage.Engine.Tests.Jobs.Stores;

/// <summary>
/// The PostgreSQL queue shared by several studios: two job hosts (each as the app wires it, with its own worker and fake
/// GPU) on one database and one picture folder, as two processes on two machines would be.
/// </summary>
[NeedsPostgres]
public sealed class SharedQueueTests : IAsyncLifetime
{
    private static readonly DateTimeOffset T0 = DateTimeOffset.UtcNow;
    private readonly List<JobsHost> _hosts = [];
    private PostgresTestServer.TestDatabase _database = null!;
    private readonly string _pictures = Directory.CreateTempSubdirectory("zimage-shared-pictures-").FullName;

    public async Task InitializeAsync() => _database = await PostgresTestServer.CreateDatabaseAsync();

    public async Task DisposeAsync()
    {
        foreach (var host in _hosts)
            await host.DisposeAsync();
        await _database.DisposeAsync();
        Directory.Delete(_pictures, recursive: true);
    }

    private async Task<JobsHost> StudioAsync(Dictionary<string, string?>? extra = null, IGpuCardFactory? cards = null, FakePipeline? pipeline = null,
        IModelStatus? model = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["ZImage:Store:Provider"] = "PostgreSql",
            ["ZImage:Store:ConnectionString"] = _database.ConnectionString,
            ["ZImage:Store:SharedPictureFolder"] = _pictures,
            ["ZImage:Store:LeaseSeconds"] = "2",
            ["ZImage:Store:HeartbeatSeconds"] = "0.2",
            ["ZImage:Store:ClaimPollMilliseconds"] = "50",
            ["ZImage:Jobs:MaxQueuedPerUser"] = "100",
        };
        foreach (var (k, v) in extra ?? [])
            settings[k] = v;
        var host = await JobsHost.StartAsync(JobsHost.NewRoot(), pipeline, settings: settings, cards: cards, model: model);
        _hosts.Add(host);
        return host;
    }

    private async Task<List<(string Id, string User, string Status, long? Started, double Cost)>> JobsAsync()
    {
        await using var c = new NpgsqlConnection(_database.ConnectionString);
        await c.OpenAsync();
        await using var cmd = new NpgsqlCommand("""
            SELECT j.id, u.name, j.status, j.started_at, j.width::float8 * j.height * j.steps * j.count / (1024 * 1024 * 8)
            FROM jobs j JOIN users u ON u.id = j.user_id ORDER BY j.started_at NULLS LAST, j.seq
            """, c);
        await using var r = await cmd.ExecuteReaderAsync();
        var rows = new List<(string, string, string, long?, double)>();
        while (await r.ReadAsync())
            rows.Add((r.GetString(0), r.GetString(1), r.GetString(2), r.IsDBNull(3) ? null : r.GetInt64(3), r.GetDouble(4)));
        return rows;
    }

    private async Task UntilAsync(Func<Task<bool>> condition, string what, int seconds = 30)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
                Assert.Fail($"timed out after {seconds} s waiting for: {what}; jobs: {string.Join(", ", (await JobsAsync()).Select(j => $"{j.User}:{j.Status}"))}");
            await Task.Delay(50);
        }
    }

    [StoreFact]
    public async Task ASecondStudioMakesThePicturesOfTheFirstOnesQueueAndBothSeeThem()
    {
        var first = await StudioAsync();
        var second = await StudioAsync();
        var job = await first.SubmitAsync("ann", count: 2);

        await second.StartWorkerAsync();
        await second.UntilFinalAsync(job.Id);

        var seenByFirst = (await first.Jobs.GetAsync(job.Id, new Caller("ann")))!;
        Assert.Equal(JobStatus.Succeeded, seenByFirst.Status);
        Assert.Equal(2, seenByFirst.ImageIds.Count);
        var picture = (await first.History.GetImageAsync(seenByFirst.ImageIds[1]))!;
        Assert.StartsWith(_pictures, picture.FilePath);
        Assert.True(File.Exists(picture.FilePath));
    }

    [StoreFact]
    public async Task StepsPreviewsAndTheOutcomeOfAJobRunByAnotherStudioReachThisStudiosSubscribers()
    {
        var first = await StudioAsync();
        var second = await StudioAsync();
        await first.StartSharedEventsAsync();
        second.Pipeline.Hold();
        await second.StartWorkerAsync();
        var job = await first.SubmitAsync("ann", steps: 4);

        // Held after its first step: that step, with its preview, is seen here although the other studio runs it.
        await first.Events.UntilAsync(() => first.Events.Of<JobStep>().Any(e => e.JobId == job.Id), "a step from the other studio");
        var step = first.Events.Of<JobStep>().First(e => e.JobId == job.Id);
        Assert.Equal((1, 4), (step.Step, step.TotalSteps));
        Assert.NotNull(step.Preview);
        Assert.Equal(second.Events.Of<JobStep>().First(e => e.JobId == job.Id).Preview!.Image.Pixels, step.Preview.Image.Pixels);

        // The status counts cover every studio: the job running in the other one shows here.
        await first.Service.RefreshSharedCountsAsync(CancellationToken.None);
        Assert.Equal((0, 1), (first.Status.GetStatus().QueuedJobs, first.Status.GetStatus().RunningJobs));

        second.Pipeline.Release();
        await first.UntilFinalAsync(job.Id);
        await second.UntilFinalAsync(job.Id);
        var done = first.Events.Of<JobSucceeded>().Single(e => e.JobId == job.Id);
        Assert.Equal(second.Events.Of<JobSucceeded>().Single(e => e.JobId == job.Id).ImageIds, done.ImageIds);

        // The last picture's signal and the end's own can both be handled after the end is written, each newest then:
        // a further, newer signal reading the ended row tells no second end.
        await first.Service.OnSharedSignalAsync(job.Id, 1_000_000);
        Assert.Single(first.Events.Of<JobSucceeded>(), e => e.JobId == job.Id);
    }

    [StoreFact]
    public async Task APersonWatchingHereFollowsTheStepsAndTheEndOfTheirJobThatAnotherStudioRuns()
    {
        // What the SSE endpoint and the Generate page read: the watch stream, which drops updates not newer than the last.
        var first = await StudioAsync();
        var second = await StudioAsync();
        await first.StartSharedEventsAsync();
        second.Pipeline.Hold();
        await second.StartWorkerAsync();
        var job = await first.SubmitAsync("ann", steps: 4);

        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var seen = new List<JobUpdate>();
        await foreach (var update in first.Jobs.WatchJobAsync(job.Id, new Caller("ann"), deadline.Token))
        {
            seen.Add(update);
            if (update.Event is JobStep)
                second.Pipeline.Release();
        }

        Assert.Contains(seen, u => u.Event is JobStep { Step: 1, TotalSteps: 4 });
        Assert.IsType<JobSucceeded>(seen[^1].Event);
        Assert.Equal(seen.Select(u => u.Version).Order(), seen.Select(u => u.Version));
    }

    [StoreFact]
    public async Task APersonWatchingHereGetsEachPictureOfTheirJobThatAnotherStudioRunsInOrderAndBeforeItsEnd()
    {
        var first = await StudioAsync();
        var second = await StudioAsync();
        await first.StartSharedEventsAsync();
        await second.Pipeline.HoldStepsAsync();
        await second.StartWorkerAsync();
        var job = await first.SubmitAsync("ann", steps: 2, count: 3);

        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var seen = new System.Collections.Concurrent.ConcurrentQueue<JobUpdate>();
        var watching = Task.Run(async () =>
        {
            await foreach (var update in first.Jobs.WatchJobAsync(job.Id, new Caller("ann"), deadline.Token))
                seen.Enqueue(update);
        });
        // What the Generate page reads: all of the person's jobs.
        var seenByPage = new List<JobEvent>();
        var pageWatching = Task.Run(async () =>
        {
            await foreach (var update in first.Jobs.WatchMineAsync(new Caller("ann"), deadline.Token))
            {
                if (update.Event is { } e && e.JobId == job.Id)
                    seenByPage.Add(e);
                if (update.Event is JobSucceeded)
                    break;
            }
        });

        // Picture 1's two steps: it reaches the watcher here while the other studio still waits to make picture 2.
        second.Pipeline.ReleaseSteps(2);
        await UntilAsync(() => Task.FromResult(seen.Any(u => u.Event is JobImageSaved)), "picture 1 to be relayed");
        Assert.Equal(0, seen.Select(u => u.Event).OfType<JobImageSaved>().Single().ImageIndex);
        Assert.Equal(JobStatus.Running, (await first.Store.GetJobAsync(job.Id))!.Status);

        second.Pipeline.Unhold();
        await watching;
        await pageWatching;
        Assert.Equal([0, 1, 2], seenByPage.OfType<JobImageSaved>().Select(p => p.ImageIndex));
        Assert.IsType<JobSucceeded>(seenByPage[^1]);

        var updates = seen.ToList();
        var pictures = updates.Select(u => u.Event).OfType<JobImageSaved>().ToList();
        Assert.Equal([0, 1, 2], pictures.Select(p => p.ImageIndex));
        Assert.All(pictures, p => Assert.Equal(3, p.ImageCount));
        // The same pictures the studio running the job announced, and the end lists them: it comes last.
        Assert.Equal(second.Events.Of<JobImageSaved>().Where(e => e.JobId == job.Id).Select(e => e.ImageId), pictures.Select(p => p.ImageId));
        var end = Assert.IsType<JobSucceeded>(updates[^1].Event);
        Assert.Equal(end.ImageIds, pictures.Select(p => p.ImageId));
        Assert.Equal(updates.Select(u => u.Version).Distinct().Order(), updates.Select(u => u.Version));
        // Each one is served here, as History serves any picture: its row, its file in the shared folder.
        foreach (var picture in pictures)
            Assert.True(File.Exists((await first.History.GetImageAsync(picture.ImageId))!.FilePath));
    }

    [StoreFact]
    public async Task ASharingChoiceChangedInOneStudioShowsOrHidesThePersonsPromptInAnotherStudiosQueueAtOnce()
    {
        var first = await StudioAsync();
        var second = await StudioAsync();
        // Signals only: the second studio's read of the running jobs every couple of seconds is not what makes it change.
        await second.ListenOnlyAsync();
        var heard = new System.Collections.Concurrent.ConcurrentQueue<string>();
        second.History.SharingChanged += heard.Enqueue;
        second.Pipeline.Hold();
        await second.StartWorkerAsync();
        var job = await first.SubmitAsync("ann", prompt: "ann's lighthouse");
        await second.Events.UntilAsync(() => second.Events.Of<JobStep>().Any(e => e.JobId == job.Id), "the second studio to run ann's job");
        var teammate = new Caller("cat", SharesByDefault: true);
        string? PromptTheTeammateSees() => Assert.Single(second.Jobs.ListQueue(teammate)).Prompt;

        await first.History.SetSharingAsync(new Caller("ann"), shares: true);
        await UntilAsync(() => Task.FromResult(PromptTheTeammateSees() == "ann's lighthouse"), "ann's prompt to show in the second studio's queue");

        await first.History.SetSharingAsync(new Caller("ANN"), shares: false);
        await UntilAsync(() => Task.FromResult(PromptTheTeammateSees() is null), "ann's prompt to go from the second studio's queue");
        // Still hers to see, and pages showing the queue were told to draw it again.
        Assert.Equal("ann's lighthouse", Assert.Single(second.Jobs.ListQueue(new Caller("ann"))).Job!.Request.Prompt);
        Assert.Contains("ann", heard, StringComparer.OrdinalIgnoreCase);

        await first.History.SetSharingAsync(new Caller("ann"), shares: true);
        await UntilAsync(() => Task.FromResult(PromptTheTeammateSees() == "ann's lighthouse"), "ann's prompt to show again");

        // A studio that heard no signal (its listener was away) learns the choice with its read of the running jobs.
        var third = await StudioAsync();
        await third.Service.RefreshSharedCountsAsync(CancellationToken.None);
        Assert.Equal("ann's lighthouse", Assert.Single(third.Jobs.ListQueue(teammate)).Prompt);
        await first.History.SetSharingAsync(new Caller("ann"), shares: false);
        await third.Service.RefreshSharedCountsAsync(CancellationToken.None);
        Assert.Null(Assert.Single(third.Jobs.ListQueue(teammate)).Prompt);
        second.Pipeline.Release();
    }

    [StoreFact]
    public async Task WhileTheSharedFolderIsUnreachableJobsFailWithTheReasonAndLeaveNoFileOrRow()
    {
        // A file where the folder's parent should be: every write below it fails, as on a lost mount.
        string blocked = Path.Combine(_pictures, "not-a-folder");
        await File.WriteAllTextAsync(blocked, "");
        var studio = await StudioAsync(new() { ["ZImage:Store:SharedPictureFolder"] = Path.Combine(blocked, "pictures") });
        await studio.StartWorkerAsync();

        var job = await studio.SubmitAsync("ann", count: 2);
        await studio.UntilFinalAsync(job.Id);

        var failed = (await studio.Store.GetJobAsync(job.Id))!;
        Assert.Equal(JobStatus.Failed, failed.Status);
        Assert.Contains("could not be saved", failed.Error);
        Assert.Empty(failed.ImageIds);
        Assert.Equal(["not-a-folder"], Directory.EnumerateFileSystemEntries(_pictures).Select(Path.GetFileName));
    }

    [StoreFact]
    public async Task TheSameClickReachingTwoStudiosAtOnceMakesOneJob()
    {
        var first = await StudioAsync();
        var second = await StudioAsync();
        var request = new JobRequest { Settings = new() { Prompt = "one click", Width = 512, Height = 512 }, IdempotencyKey = "click-7" };

        var results = await Task.WhenAll(Enumerable.Range(0, 8).Select(i =>
            Task.Run(() => (i % 2 == 0 ? first : second).Jobs.SubmitAsync(request, new Caller("ann")))));

        Assert.All(results, r => Assert.True(r.Accepted, r.Message));
        Assert.Single(results.Select(r => r.Job!.Id).Distinct());
        Assert.Single(await first.Store.ListJobsAsync("ann", 10));
    }

    [StoreFact]
    public async Task TwoWorkersClaimingAtOnceNeverTakeTheSameJob()
    {
        var studio = await StudioAsync();
        var queue = (ISharedJobQueue)studio.Store;
        for (int i = 0; i < 20; i++)
            await studio.SubmitAsync(i % 2 == 0 ? "ann" : "bob");

        var now = DateTimeOffset.UtcNow;
        var claims = await Task.WhenAll(Enumerable.Range(0, 24).Select(w =>
            Task.Run(() => queue.ClaimAsync($"w{w}", now, now.AddMinutes(1), _ => true))));

        var taken = claims.Where(c => c is not null).Select(c => c!.Id).ToList();
        Assert.Equal(20, taken.Count);
        Assert.Equal(20, taken.Distinct().Count());
        Assert.Equal((0, 20), await queue.CountAsync());
    }

    [StoreFact]
    public async Task EachPictureOfAClaimedJobIsRecordedWhileItRunsAndAWorkerThatLostTheJobAddsNone()
    {
        var studio = await StudioAsync();
        await studio.Pipeline.HoldStepsAsync();
        await studio.StartWorkerAsync();
        var job = await studio.SubmitAsync("ann", steps: 2, count: 4);

        studio.Pipeline.ReleaseSteps(2);
        await studio.Events.UntilAsync(() => studio.Events.Of<JobImageSaved>().Any(e => e.JobId == job.Id), "picture 1 to be saved");
        var first = studio.Events.Of<JobImageSaved>().Single(e => e.JobId == job.Id);
        var running = (await studio.Store.GetJobAsync(job.Id))!;
        Assert.Equal(JobStatus.Running, running.Status);
        Assert.Equal([first.ImageId], running.ImageIds);

        var queue = (ISharedJobQueue)studio.Store;
        var stranger = new ZImage.Engine.History.NewImage(1, $"x/{job.Id}-stale.png", $"x/thumbs/{job.Id}-stale.png", 512, 512, 1, DateTimeOffset.UtcNow);
        await Assert.ThrowsAsync<LeaseLostException>(() => queue.AddClaimedImageAsync(job.Id, "another-worker", stranger));

        studio.Pipeline.ReleaseSteps(6);
        await studio.UntilFinalAsync(job.Id);
        var done = studio.Events.Of<JobSucceeded>().Single(e => e.JobId == job.Id);
        Assert.Equal(4, done.ImageIds.Count);
        Assert.Equal(first.ImageId, done.ImageIds[0]);
        Assert.Equal(done.ImageIds, (await studio.Store.GetJobAsync(job.Id))!.ImageIds);
    }

    [StoreFact]
    public async Task AJobWhoseWorkerStoppedAnsweringIsTakenByAnotherAndFinishedOnce()
    {
        var studio = await StudioAsync();
        var queue = (ISharedJobQueue)studio.Store;
        var job = await studio.SubmitAsync("ann");
        var now = DateTimeOffset.UtcNow;
        Assert.Equal(job.Id, (await queue.ClaimAsync("dead", now, now.AddSeconds(1), _ => true))!.Id);
        Assert.Null(await queue.ClaimAsync("other", now, now.AddSeconds(1), _ => true));

        Assert.Equal(1, await queue.RequeueExpiredAsync(now.AddSeconds(2)));
        var again = (await queue.ClaimAsync("alive", now.AddSeconds(2), now.AddSeconds(30), _ => true))!;
        Assert.Equal((job.Id, 1), (again.Id, again.Restarts));

        await Assert.ThrowsAsync<LeaseLostException>(() => queue.CompleteClaimedAsync(job.Id, "dead", now, null, [], TimeSpan.Zero));
        Assert.False(await queue.FinishClaimedAsync(job.Id, "dead", JobStatus.Failed, now, "late", null, TimeSpan.Zero));
        Assert.False((await queue.RenewLeaseAsync(job.Id, "dead", now.AddSeconds(30))).Held);
        await queue.CompleteClaimedAsync(job.Id, "alive", now.AddSeconds(3), null, [], TimeSpan.Zero);
        Assert.Equal(JobStatus.Succeeded, (await studio.Store.GetJobAsync(job.Id))!.Status);
    }

    [StoreFact]
    public async Task AJobWhoseCardFailedIsReleasedOnlyByItsHolderKeepsItsPlaceAndCountsARestart()
    {
        var studio = await StudioAsync();
        var queue = (ISharedJobQueue)studio.Store;
        var first = await studio.SubmitAsync("ann", prompt: "first");
        var second = await studio.SubmitAsync("ann", prompt: "second");
        var now = DateTimeOffset.UtcNow;
        Assert.Equal(first.Id, (await queue.ClaimAsync("broken", now, now.AddSeconds(30), _ => true))!.Id);

        Assert.False(await queue.ReleaseAfterCardFaultAsync(first.Id, "someone-else", "GPU 9 failed"));
        Assert.True(await queue.ReleaseAfterCardFaultAsync(first.Id, "broken", "GPU 1 failed while making these pictures"));

        var record = (await studio.Store.GetJobAsync(first.Id))!;
        Assert.Equal((JobStatus.Queued, 1, "GPU 1 failed while making these pictures"), (record.Status, record.Restarts, record.Notice));
        // Same tags: it is still ahead of the job its owner queued after it.
        Assert.Equal(first.Id, (await queue.ClaimAsync("healthy", now, now.AddSeconds(30), _ => true))!.Id);
        Assert.Equal(second.Id, (await queue.ClaimAsync("healthy-2", now, now.AddSeconds(30), _ => true))!.Id);
    }

    [StoreFact]
    public async Task WhenOneStudiosCardIsBrokenTheOtherStudioMakesEveryPictureAndNoneFails()
    {
        var broken = await StudioAsync();
        broken.Pipeline.FailWith = _ => new ZImage.Engine.Onnx.OnnxRuntimeException(ZImage.Engine.Onnx.OrtErrorCode.EpFail, "CUDA failure 999: unspecified launch failure");
        var healthy = await StudioAsync();
        var jobs = new List<string>();
        for (int i = 0; i < 6; i++)
            jobs.Add((await broken.SubmitAsync(new[] { "ann", "bob" }[i % 2], 256, 256, prompt: $"job {i}")).Id);

        // The broken studio starts first, fails its first job's run and pauses (30 s); then the healthy one starts.
        await broken.StartWorkerAsync();
        await UntilAsync(() => Task.FromResult(broken.Cards[0].Health.Fault is not null), "the broken card to pause");
        await healthy.StartWorkerAsync();
        await UntilAsync(async () => (await JobsAsync()).All(j => j.Status == "Succeeded"), "every job to succeed");

        Assert.Single(broken.Pipeline.Started);
        Assert.Equal(6, healthy.Pipeline.Started.Count);
        var victim = jobs[int.Parse(broken.Pipeline.Started.Single().Prompt["job ".Length..])];
        Assert.Equal(1, (await healthy.Store.GetJobAsync(victim))!.Restarts);
        Assert.Equal(CardActivity.Faulted, broken.Status.GetStatus().Cards[0].Activity);
    }

    [StoreFact]
    public async Task APersonWatchingAJobWhoseCardFailedSeesItWaitAgainThenRunAndSucceedOnTheOtherCardOfTheSameStudio()
    {
        var healthy = new FakePipeline();
        // The broken card fails the watched job only once the watcher is listening: otherwise the job can be claimed,
        // failed and queued again before the watch starts, and the watcher's first look is already the second wait.
        var watcherListening = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var broken = new FakePipeline
        {
            FailWith = r =>
            {
                if (r.Prompt == "watched")
                    watcherListening.Task.Wait(TimeSpan.FromSeconds(30));
                return new ZImage.Engine.Onnx.OnnxRuntimeException(ZImage.Engine.Onnx.OrtErrorCode.EpFail, "CUDA failure 999");
            },
        };
        healthy.Hold();
        // Both cards are free when the first job comes, so either may claim it; if the broken one does, it fails it, the
        // healthy one takes it, and the broken one's short pause ends in time for the watched job.
        var studio = await StudioAsync(new()
        {
            ["ZImage:Engine:Devices:0"] = "0", ["ZImage:Engine:Devices:1"] = "1", ["ZImage:Jobs:CardFaultBackoffSeconds"] = "1",
        }, new FakeCards((broken, new FakeMemoryProbe(null))), healthy);
        await studio.StartWorkerAsync();
        var busy = await studio.SubmitAsync("ann", 256, 256, prompt: "keeps the healthy card busy");
        await studio.Events.UntilAsync(() => healthy.Started.Count == 1, "the healthy card to hold a job");
        var job = await studio.SubmitAsync("bob", 256, 256, prompt: "watched");
        var seen = new List<string>();
        var watching = Task.Run(async () =>
        {
            await foreach (var update in studio.Jobs.WatchJobAsync(job.Id, new Caller("bob")))
            {
                seen.Add(update.Event?.GetType().Name ?? update.Snapshot!.Status.ToString());
                watcherListening.TrySetResult();
            }
        });

        await studio.Events.UntilAsync(() => broken.Started.Any(r => r.Prompt == "watched") && studio.Cards[1].Health.Fault is not null, "the broken card to fail the watched job");
        healthy.Release();
        await watching.WaitAsync(TimeSpan.FromSeconds(30));

        // Each step of the story reaches the watcher: the second run's events are not dropped as repeats of the first's.
        int requeued = seen.LastIndexOf(nameof(JobQueued));
        Assert.True(requeued >= 0, string.Join(", ", seen));
        Assert.Equal([nameof(JobStarted), nameof(JobStep)], seen.Skip(requeued + 1).Take(2));
        Assert.Equal(nameof(JobSucceeded), seen[^1]);
        Assert.Equal(JobStatus.Succeeded, (await studio.Store.GetJobAsync(busy.Id))!.Status);
    }

    [StoreFact]
    public async Task ALeaseThatRunsOutTwiceMarksTheJobInterrupted()
    {
        var studio = await StudioAsync();
        var queue = (ISharedJobQueue)studio.Store;
        var job = await studio.SubmitAsync("ann");
        var now = DateTimeOffset.UtcNow;
        await queue.ClaimAsync("a", now, now.AddSeconds(1), _ => true);
        await queue.RequeueExpiredAsync(now.AddSeconds(2));
        await queue.ClaimAsync("b", now, now.AddSeconds(3), _ => true);
        Assert.Equal(0, await queue.RequeueExpiredAsync(now.AddSeconds(4)));

        var record = (await studio.Store.GetJobAsync(job.Id))!;
        Assert.Equal(JobStatus.Interrupted, record.Status);
        Assert.Contains("stopped answering; it had already been queued again", record.Error);
    }

    [StoreFact]
    public async Task ThePerPersonCapCountsTheJobsQueuedThroughEveryStudio()
    {
        var cap = new Dictionary<string, string?> { ["ZImage:Jobs:MaxQueuedPerUser"] = "3" };
        var first = await StudioAsync(cap);
        var second = await StudioAsync(cap);
        await first.SubmitAsync("ann");
        await first.SubmitAsync("ann");
        await second.SubmitAsync("ANN");

        var refused = await second.Jobs.SubmitAsync(new JobRequest { Settings = new() { Prompt = "one more", Width = 512, Height = 512 } }, new Caller("ann"));

        Assert.Equal(RefusalKind.UserQueueFull, refused.Refusal);
        Assert.Contains("3 jobs waiting", refused.Message);
        Assert.True((await first.Jobs.SubmitAsync(new JobRequest { Settings = new() { Prompt = "mine", Width = 512, Height = 512 } }, new Caller("bob"))).Accepted);
    }

    [StoreFact]
    public async Task CancellingInOneStudioStopsTheRunInTheOther()
    {
        var first = await StudioAsync();
        var second = await StudioAsync();
        second.Pipeline.Hold();
        await second.StartWorkerAsync();
        var job = await first.SubmitAsync("ann");
        await second.Events.UntilAsync(() => second.Events.Of<JobStarted>().Any(e => e.JobId == job.Id), "the second studio to start the job");

        Assert.Equal(CancelOutcome.Stopping, await first.Jobs.CancelAsync(job.Id, new Caller("ann")));

        await second.UntilFinalAsync(job.Id);
        Assert.Single(second.Events.Of<JobCancelled>(), e => e.JobId == job.Id && e.CancelledBy == "ann");
        Assert.Equal(JobStatus.Cancelled, (await first.Store.GetJobAsync(job.Id))!.Status);
    }

    [StoreFact]
    public async Task TheQueueInEveryStudioListsTheJobsAnotherStudioRunsWithItsMachineAndCard()
    {
        var first = await StudioAsync();
        var otherCard = new FakePipeline();
        var second = await StudioAsync(new() { ["ZImage:Engine:Devices:0"] = "0", ["ZImage:Engine:Devices:1"] = "1" },
            new FakeCards((otherCard, new FakeMemoryProbe(null))));
        await first.StartSharedEventsAsync();
        second.Pipeline.Hold();
        otherCard.Hold();
        await second.StartWorkerAsync();
        var job = await first.SubmitAsync("ann", prompt: "ann's secret prompt");
        await second.Events.UntilAsync(() => second.Events.Of<JobStep>().Any(e => e.JobId == job.Id), "the second studio to run the job");

        // The first studio runs nothing itself; its relay reads the other studio's running jobs when the start is signalled.
        await first.Events.UntilAsync(() => first.Jobs.ListQueue(new Caller("bob")).Any(), "the first studio's queue to list the running job");
        var bobsLine = Assert.Single(first.Jobs.ListQueue(new Caller("bob")));
        Assert.Equal((0, JobStatus.Running, false), (bobsLine.Position, bobsLine.Status, bobsLine.IsMine));
        Assert.Null(bobsLine.Job);
        Assert.Equal(new JobRunner(Environment.MachineName, otherCard.Started.IsEmpty ? 0 : 1), bobsLine.Runner);
        // Its prompt follows the one picture rule, as for a job this studio runs: ann never chose, so a team studio's
        // teammate sees it and an accounts studio's person does not.
        Assert.Null(bobsLine.Prompt);
        Assert.Equal("ann's secret prompt", Assert.Single(first.Jobs.ListQueue(new Caller("cat", SharesByDefault: true))).Prompt);
        var annsLine = Assert.Single(first.Jobs.ListQueue(new Caller("ann")));
        Assert.True(annsLine.IsMine);
        Assert.Equal((job.Id, "ann's secret prompt"), (annsLine.Job!.Id, annsLine.Job.Request.Prompt));
        // The studio running it says the same.
        Assert.Equal(bobsLine.Runner, Assert.Single(second.Jobs.ListQueue(new Caller("bob"))).Runner);

        second.Pipeline.Release();
        otherCard.Release();
        await first.Events.UntilAsync(() => first.Events.Of<JobSucceeded>().Any(e => e.JobId == job.Id), "the outcome to reach the first studio");
        Assert.Empty(first.Jobs.ListQueue(new Caller("bob")));
    }

    /// <summary>
    /// The claim follows the studio's own queue: a card whose model was unloaded after idle minutes leaves the next job to
    /// a free card of its studio that has the model, and takes the one after, while that card is busy.
    /// </summary>
    [StoreFact]
    public async Task ACardWithoutTheModelLeavesTheNextJobToAFreeCardThatHasItAndTakesTheOneAfter()
    {
        var cold = new FakePipeline();
        var warm = new FakePipeline();
        cold.Hold();
        warm.Hold();
        var studio = await StudioAsync(new() { ["ZImage:Engine:Devices:0"] = "0", ["ZImage:Engine:Devices:1"] = "1" },
            new FakeCards((warm, new FakeMemoryProbe(null))) { Models = _ => new SettableModelStatus(ModelState.Ready, null) },
            cold, new SettableModelStatus(ModelState.Unloaded, TimeSpan.FromSeconds(40)));
        await studio.StartWorkerAsync();

        var a = await studio.SubmitAsync("ann", 256, 256, prompt: "a");
        await studio.Events.UntilAsync(() => studio.Events.Of<JobStep>().Any(e => e.JobId == a.Id), "job a to run");
        Assert.Equal(["a"], warm.Started.Select(r => r.Prompt));
        Assert.Empty(cold.Started);
        Assert.Null(studio.Events.Of<JobStarted>().Single(e => e.JobId == a.Id).ModelLoad);

        var b = await studio.SubmitAsync("bob", 256, 256, prompt: "b");
        await studio.Events.UntilAsync(() => studio.Events.Of<JobStep>().Any(e => e.JobId == b.Id), "job b to run");
        Assert.Equal(["b"], cold.Started.Select(r => r.Prompt));
        Assert.Equal(TimeSpan.FromSeconds(40), studio.Events.Of<JobStarted>().Single(e => e.JobId == b.Id).ModelLoad);

        cold.Release();
        warm.Release();
        await studio.UntilFinalAsync(a.Id);
        await studio.UntilFinalAsync(b.Id);
    }

    [StoreFact]
    public async Task ThreePeopleOnTwoStudiosEachGetTheirShareOfGpuTimeWithinTenPercent()
    {
        var first = await StudioAsync();
        var second = await StudioAsync();
        // Costs as in docs/jobs.md (W*H*steps*count / (1024*1024*8)): 1/32, 1/16 and 1/16 (small pictures keep the fake
        // GPU quick; only the ratios matter); the same total queued by each.
        for (int i = 0; i < 40; i++)
        {
            await first.SubmitAsync("ann", 256, 256, steps: 16);
            if (i % 2 == 0)
            {
                await second.SubmitAsync("bob", 512, 256, steps: 16);
                await first.SubmitAsync("cy", 512, 512, steps: 8);
            }
        }

        await first.StartWorkerAsync();
        await second.StartWorkerAsync();
        await UntilAsync(async () => (await JobsAsync()).All(j => j.Status == "Succeeded"), "all 80 jobs to succeed", 60);

        // While all three still wait (the first 60 starts, three quarters of each one's total), GPU time is split evenly.
        var served = (await JobsAsync()).Take(60).GroupBy(j => j.User).ToDictionary(g => g.Key, g => g.Sum(j => j.Cost));
        double fair = served.Values.Sum() / 3;
        Assert.All(["ann", "bob", "cy"], user => Assert.InRange(served[user], fair * 0.9, fair * 1.1));
        Assert.True(first.Pipeline.Started.Count > 10 && second.Pipeline.Started.Count > 10,
            $"both studios worked: {first.Pipeline.Started.Count} and {second.Pipeline.Started.Count}");
    }
}
