using ZImage.Engine.Jobs;
using ZImage.Engine.Pipeline;

namespace ZImage.Engine.Tests.Jobs;

public class JobServiceTests
{
    [Fact]
    public async Task BothSingleJobsStartWithinTheFirstThreeWhenAnotherUserQueuedTen()
    {
        await using var host = await JobsHost.StartAsync(JobsHost.NewRoot());
        var ann = new List<string>();
        for (int i = 0; i < 10; i++)
            ann.Add((await host.SubmitAsync("ann")).Id);
        var bob = await host.SubmitAsync("bob");
        var cy = await host.SubmitAsync("cy");

        await host.StartWorkerAsync();
        await host.Events.UntilAsync(() => host.Events.Of<JobSucceeded>().Count() == 12, "all 12 jobs to finish");

        var startOrder = host.Events.Of<JobStarted>().Select(e => e.JobId).ToList();
        Assert.Contains(bob.Id, startOrder.Take(3));
        Assert.Contains(cy.Id, startOrder.Take(3));
    }

    /// <summary>
    /// A job read back as ended is already in the counters /metrics and /api/v1/system print: a scraper that waits for a
    /// job to finish and then reads the metrics sees it counted.
    /// </summary>
    [Fact]
    public async Task AJobReadBackAsEndedIsAlreadyCountedForMetrics()
    {
        await using var host = await JobsHost.StartAsync(JobsHost.NewRoot(), settings: new() { ["ZImage:Jobs:MaxQueuedPerUser"] = "100" });
        var ids = new List<string>();
        for (int i = 0; i < 60; i++)
            ids.Add((await host.SubmitAsync("ann")).Id);
        var lagging = new List<string>();
        var seen = new HashSet<string>();
        var watcher = Task.Run(async () =>
        {
            while (seen.Count < ids.Count)
            {
                foreach (var id in ids.Where(id => !seen.Contains(id)))
                {
                    if ((await host.Jobs.GetAsync(id, new Caller("ann")))!.Status != JobStatus.Succeeded)
                        continue;
                    seen.Add(id);
                    long counted = host.Status.GetStatus().JobsSucceeded;
                    if (counted < seen.Count)
                        lagging.Add($"{seen.Count} jobs read back as done, {counted} counted");
                }
            }
        });

        await host.StartWorkerAsync();
        await watcher.WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Empty(lagging);
    }

    [Fact]
    public async Task SingleJobsSubmittedWhileALongQueueRunsStartNext()
    {
        await using var host = await JobsHost.StartAsync(JobsHost.NewRoot());
        host.Pipeline.Hold();
        await host.StartWorkerAsync();
        for (int i = 0; i < 10; i++)
            await host.SubmitAsync("ann");
        await host.Events.UntilAsync(() => host.Events.Of<JobStarted>().Any(), "ann's first job to start");
        var bob = await host.SubmitAsync("bob");
        var cy = await host.SubmitAsync("cy");

        var queue = host.Jobs.ListQueue(new Caller("bob"));
        Assert.Equal(JobStatus.Running, queue[0].Status);
        Assert.True(queue.Single(q => q.IsMine).Position <= 2);

        host.Pipeline.Release();
        await host.Events.UntilAsync(() => host.Events.Of<JobSucceeded>().Count() == 12, "all 12 jobs to finish");
        var startOrder = host.Events.Of<JobStarted>().Select(e => e.JobId).ToList();
        Assert.Equal(new[] { bob.Id, cy.Id }.Order(), startOrder.Skip(1).Take(2).Order());
    }

    [Fact]
    public async Task TheCapRefusesOneJobTooManyWithAClearMessage()
    {
        await using var host = await JobsHost.StartAsync(JobsHost.NewRoot(), settings: new() { ["ZImage:Jobs:MaxQueuedPerUser"] = "10" });
        for (int i = 0; i < 10; i++)
            await host.SubmitAsync("ann");

        var refused = await host.Jobs.SubmitAsync(new JobRequest { Settings = new() { Prompt = "one more", Width = 512, Height = 512 } }, new Caller("ann"));
        var othersStillWelcome = await host.Jobs.SubmitAsync(new JobRequest { Settings = new() { Prompt = "mine", Width = 512, Height = 512 } }, new Caller("bob"));

        Assert.False(refused.Accepted);
        Assert.Equal(RefusalKind.UserQueueFull, refused.Refusal);
        Assert.Equal("queue", refused.Problems.Single().Field);
        Assert.Contains("10", refused.Message);
        Assert.True(othersStillWelcome.Accepted);
    }

    [Fact]
    public async Task BadFieldsAreRefusedNamingEachField()
    {
        await using var host = await JobsHost.StartAsync(JobsHost.NewRoot());
        var result = await host.Jobs.SubmitAsync(new JobRequest { Settings = new() { Prompt = "x", Width = 1000, Steps = 99, Count = 5 } }, new Caller("ann"));

        Assert.Equal(RefusalKind.Invalid, result.Refusal);
        Assert.Equal(["count", "steps", "width"], result.Problems.Select(p => p.Field).Order());
        Assert.Contains("multiple of 16", result.Problems.Single(p => p.Field == "width").Message);
    }

    [Fact]
    public async Task ARandomSeedIsTheOneTheSeedSourceGives()
    {
        await using var host = await JobsHost.StartAsync(JobsHost.NewRoot(), seeds: new FixedSeeds(777));

        var job = await host.Jobs.SubmitAsync(new JobRequest { Settings = new() { Prompt = "x", Width = 512, Height = 512, Seed = 5 } }, new Caller("ann"));

        Assert.Equal(777, job.Job!.Request.Seed);
    }

    private sealed class FixedSeeds(long seed) : ISeedSource
    {
        public long NextSeed() => seed;
    }

    [Fact]
    public async Task AFixedSeedIsKeptAndARandomSeedIsResolvedAtAcceptance()
    {
        await using var host = await JobsHost.StartAsync(JobsHost.NewRoot());
        var caller = new Caller("ann");
        var fixedSeed = await host.Jobs.SubmitAsync(new JobRequest { Settings = new() { Prompt = "x", Width = 512, Height = 512, Seed = 42 }, SeedPolicy = SeedPolicy.Fixed }, caller);
        var negativeSeed = await host.Jobs.SubmitAsync(new JobRequest { Settings = new() { Prompt = "x", Width = 512, Height = 512, Seed = -5 }, SeedPolicy = SeedPolicy.Fixed }, caller);
        var random = await host.Jobs.SubmitAsync(new JobRequest { Settings = new() { Prompt = "x", Width = 512, Height = 512 } }, caller);

        Assert.Equal(42, fixedSeed.Job!.Request.Seed);
        Assert.Equal("seed", negativeSeed.Problems.Single().Field);
        var stored = await host.Store.GetJobAsync(random.Job!.Id);
        Assert.Equal(random.Job.Request.Seed, stored!.Request.Seed);
        Assert.InRange(random.Job.Request.Seed, GenerationLimits.MinSeed, GenerationLimits.MaxSeed);
    }

    [Fact]
    public async Task AnIdempotencyKeyReusedForAnotherRequestIsRefusedNamingTheFirstJob()
    {
        await using var host = await JobsHost.StartAsync(JobsHost.NewRoot());
        var first = await host.Jobs.SubmitAsync(new JobRequest { Settings = new() { Prompt = "x", Width = 512, Height = 512 }, IdempotencyKey = "k" }, new Caller("ann"));
        var fixedSeed = await host.Jobs.SubmitAsync(new JobRequest { Settings = new() { Prompt = "x", Width = 512, Height = 512, Seed = 7 }, SeedPolicy = SeedPolicy.Fixed, IdempotencyKey = "k" }, new Caller("ann"));
        var otherPrompt = await host.Jobs.SubmitAsync(new JobRequest { Settings = new() { Prompt = "y", Width = 512, Height = 512 }, IdempotencyKey = "k" }, new Caller("ann"));

        Assert.Equal(RefusalKind.IdempotencyKeyReused, fixedSeed.Refusal);
        Assert.Equal(RefusalKind.IdempotencyKeyReused, otherPrompt.Refusal);
        Assert.Contains(first.Job!.Id, Assert.Single(otherPrompt.Problems).Message);
        Assert.Single(host.Jobs.ListQueue(new Caller("admin", IsAdmin: true)));
    }

    [Fact]
    public void WhoSeesAPictureIsOneRule()
    {
        // Their own, whatever they chose.
        Assert.True(new Caller("ann").CanSee("ANN", ownerShares: false));
        // An administrator sees everything, shared or not.
        Assert.True(new Caller("root", IsAdmin: true).CanSee("ann", ownerShares: false));
        // Anyone else: only when the owner shares, by choice or, never having chosen, by the studio's default.
        Assert.False(new Caller("bob").CanSee("ann", ownerShares: null));
        Assert.True(new Caller("bob").CanSee("ann", ownerShares: true));
        Assert.True(new Caller("bob", SharesByDefault: true).CanSee("ann", ownerShares: null));
        Assert.False(new Caller("bob", SharesByDefault: true).CanSee("ann", ownerShares: false));
        // Seeing is not changing.
        Assert.False(new Caller("bob", SharesByDefault: true).CanManage("ann"));
    }

    [Fact]
    public async Task TheQueueShowsAnotherPersonsPromptOnlyWhenTheyShare()
    {
        await using var host = await JobsHost.StartAsync(JobsHost.NewRoot());
        await host.History.SetSharingAsync(new Caller("ann"), shares: false);
        await host.SubmitAsync("ann", prompt: "ann's secret");
        await host.SubmitAsync("bob", prompt: "bob's lighthouse");

        string?[] PromptsSeenBy(Caller caller) => host.Jobs.ListQueue(caller).Select(e => e.Prompt).ToArray();

        // A team studio: bob never chose, so he shares; ann said no.
        var teammate = PromptsSeenBy(new Caller("cat", SharesByDefault: true));
        Assert.Contains("bob's lighthouse", teammate);
        Assert.DoesNotContain("ann's secret", teammate);
        Assert.Equal(2, teammate.Length);
        // Accounts mode: nobody shares until they say so.
        Assert.All(PromptsSeenBy(new Caller("cat")), Assert.Null);
        // The owner and an administrator always see it.
        Assert.Contains("ann's secret", PromptsSeenBy(new Caller("ann")));
        Assert.Contains("ann's secret", PromptsSeenBy(new Caller("root", IsAdmin: true)));

        // Changing one's mind applies at once, without a new job.
        await host.History.SetSharingAsync(new Caller("ann"), shares: true);
        Assert.Contains("ann's secret", PromptsSeenBy(new Caller("cat")));
    }

    [Fact]
    public async Task TheSameIdempotencyKeyFromTheSameUserReturnsTheSameJob()
    {
        await using var host = await JobsHost.StartAsync(JobsHost.NewRoot());
        var request = new JobRequest { Settings = new() { Prompt = "x", Width = 512, Height = 512 }, IdempotencyKey = "click-1" };

        var first = await host.Jobs.SubmitAsync(request, new Caller("ann"));
        var again = await host.Jobs.SubmitAsync(request, new Caller("ann"));
        var otherUser = await host.Jobs.SubmitAsync(request, new Caller("bob"));

        Assert.False(first.Repeated);
        Assert.True(again.Repeated);
        Assert.Equal(first.Job!.Id, again.Job!.Id);
        Assert.NotEqual(first.Job.Id, otherUser.Job!.Id);
        Assert.Equal(2, host.Jobs.ListQueue(new Caller("admin", IsAdmin: true)).Count);
    }

    [Fact]
    public async Task CancellingAQueuedJobRemovesItAtOnce()
    {
        await using var host = await JobsHost.StartAsync(JobsHost.NewRoot());
        var first = await host.SubmitAsync("ann");
        var second = await host.SubmitAsync("ann");

        Assert.Equal(CancelOutcome.Cancelled, await host.Jobs.CancelAsync(first.Id, new Caller("ann")));

        Assert.Equal([second.Id], host.Jobs.ListQueue(new Caller("ann")).Select(q => q.Job!.Id));
        Assert.Equal(JobStatus.Cancelled, (await host.Jobs.GetAsync(first.Id, new Caller("ann")))!.Status);
        Assert.Single(host.Events.Of<JobCancelled>(), e => e.JobId == first.Id);
        Assert.Equal(1, host.Events.Of<JobQueued>().Last(e => e.JobId == second.Id).Position);
    }

    [Fact]
    public async Task CancellingARunningJobStopsItWithinAStepAndFreesTheWorker()
    {
        await using var host = await JobsHost.StartAsync(JobsHost.NewRoot());
        host.Pipeline.Hold();
        await host.StartWorkerAsync();
        var running = await host.SubmitAsync("ann", steps: 8);
        await host.Events.UntilAsync(() => host.Events.Of<JobStep>().Any(e => e.JobId == running.Id), "the first step");

        Assert.Equal(CancelOutcome.Stopping, await host.Jobs.CancelAsync(running.Id, new Caller("ann")));
        await host.UntilFinalAsync(running.Id);
        host.Pipeline.Release();
        var next = await host.SubmitAsync("bob");
        await host.UntilFinalAsync(next.Id);

        Assert.Single(host.Events.Of<JobCancelled>(), e => e.JobId == running.Id);
        Assert.DoesNotContain(host.Events.Of<JobStep>(), e => e.JobId == running.Id && e.Step > 1);
        Assert.Equal(JobStatus.Cancelled, (await host.Store.GetJobAsync(running.Id))!.Status);
        Assert.Single(host.Events.Of<JobSucceeded>(), e => e.JobId == next.Id);
    }

    [Fact]
    public async Task OnlyTheOwnerOrAnAdminMayCancel()
    {
        await using var host = await JobsHost.StartAsync(JobsHost.NewRoot());
        var job = await host.SubmitAsync("ann");

        Assert.Equal(CancelOutcome.NotAllowed, await host.Jobs.CancelAsync(job.Id, new Caller("bob")));
        Assert.Equal(CancelOutcome.NotFound, await host.Jobs.CancelAsync("no-such-job", new Caller("bob")));
        Assert.Equal(CancelOutcome.Cancelled, await host.Jobs.CancelAsync(job.Id, new Caller("boss", IsAdmin: true)));
        Assert.Equal(CancelOutcome.AlreadyFinished, await host.Jobs.CancelAsync(job.Id, new Caller("ann")));
        Assert.Equal("Cancelled by boss.", (await host.Store.GetJobAsync(job.Id))!.Error);
    }

    [Fact]
    public async Task OthersSeeMyJobOnlyAsSomeonesJobWithAPosition()
    {
        await using var host = await JobsHost.StartAsync(JobsHost.NewRoot());
        var mine = await host.SubmitAsync("ann", prompt: "secret prompt");
        await host.SubmitAsync("bob");

        var bobsView = host.Jobs.ListQueue(new Caller("bob"));
        var adminView = host.Jobs.ListQueue(new Caller("boss", IsAdmin: true));

        var annsLine = bobsView.Single(q => !q.IsMine);
        Assert.Null(annsLine.Job);
        Assert.Equal(1, annsLine.Position);
        Assert.Equal(2, bobsView.Single(q => q.IsMine).Position);
        Assert.Null(await host.Jobs.GetAsync(mine.Id, new Caller("bob")));
        Assert.Equal("secret prompt", adminView.Single(q => q.Job!.Id == mine.Id).Job!.Request.Prompt);
    }

    [Fact]
    public async Task EtaOfQueuedJobsComesFromMeasuredSecondsPerStep()
    {
        string root = JobsHost.NewRoot();
        await using (var seed = await JobsHost.StartAsync(root))
        {
            await seed.Timings.SaveStepTimingAsync(new StepTiming(512, 512, false, 5, SecondsPerStep: 2.0, FixedSecondsPerImage: 1.0));
        }

        await using var host = await JobsHost.StartAsync(root, settings: new() { ["ZImage:Jobs:InitialSecondsPerStepAt1024"] = "100" });
        var first = await host.SubmitAsync("ann", 512, 512, steps: 8);
        var second = await host.SubmitAsync("bob", 512, 512, steps: 4, count: 2);
        var unmeasuredSize = await host.SubmitAsync("cy", 1024, 512, steps: 8);

        // 8 steps x 2 s + 1 s = 17 s; then 2 images x (4 x 2 s + 1 s) = 18 s; 1024x512 scales the 512x512 rate by pixel count: 8 x 4 s + 2 s.
        Assert.Equal(TimeSpan.FromSeconds(17), first.EtaFinish);
        Assert.Equal(TimeSpan.FromSeconds(17), second.EtaStart);
        Assert.Equal(TimeSpan.FromSeconds(35), second.EtaFinish);
        Assert.Equal(TimeSpan.FromSeconds(35), unmeasuredSize.EtaStart);
        Assert.Equal(TimeSpan.FromSeconds(35 + 34), unmeasuredSize.EtaFinish);
    }

    [Fact]
    public async Task AFinishedRunIsMeasuredAndStoredForLaterEtas()
    {
        string root = JobsHost.NewRoot();
        await using (var host = await JobsHost.StartAsync(root, new FakePipeline { StepTime = TimeSpan.FromMilliseconds(250) }))
        {
            await host.StartWorkerAsync();
            var job = await host.SubmitAsync("ann", 512, 768, steps: 4);
            await host.UntilFinalAsync(job.Id);
        }

        await using var reopened = await JobsHost.StartAsync(root);
        var timing = Assert.Single(await reopened.Timings.LoadStepTimingsAsync());
        Assert.Equal((512, 768, false), (timing.Width, timing.Height, timing.Guided));
        Assert.Equal(0.25, timing.SecondsPerStep, 3);
        var queued = await reopened.SubmitAsync("bob", 512, 768, steps: 10);
        Assert.Equal(10 * 0.25 + 0.005, queued.EtaFinish!.Value.TotalSeconds, 3);
    }

    [Fact]
    public async Task ProgressEventsCarryStepsEtaAndPreviewThenImageIds()
    {
        await using var host = await JobsHost.StartAsync(JobsHost.NewRoot());
        var steps = new List<JobEvent>();
        await host.StartWorkerAsync();
        var job = await host.SubmitAsync("ann", steps: 3, count: 2);
        using (host.Notifier.SubscribeJob(job.Id, e => { lock (steps) steps.Add(e); }))
            await host.UntilFinalAsync(job.Id);

        var finished = host.Events.Of<JobSucceeded>().Single(e => e.JobId == job.Id);
        var stepEvents = host.Events.Of<JobStep>().Where(e => e.JobId == job.Id).ToList();
        Assert.Equal(6, stepEvents.Count);
        Assert.Equal((1, 3), (stepEvents[^1].ImageIndex, stepEvents[^1].Step));
        Assert.All(stepEvents, e => Assert.NotNull(e.Preview));
        Assert.Equal(2, finished.ImageIds.Count);
        var snapshot = await host.Jobs.GetAsync(job.Id, new Caller("ann"));
        Assert.Equal(JobStatus.Succeeded, snapshot!.Status);
        Assert.Equal(finished.ImageIds, snapshot.ImageIds);
    }

    [Fact]
    public async Task EightThreadsSubmittingTwoHundredJobsLoseNone()
    {
        await using var host = await JobsHost.StartAsync(JobsHost.NewRoot(), new FakePipeline { StepTime = TimeSpan.Zero },
            settings: new() { ["ZImage:Jobs:MaxQueuedPerUser"] = "1000" });
        await host.StartWorkerAsync();
        var ids = new System.Collections.Concurrent.ConcurrentBag<string>();

        await Task.WhenAll(Enumerable.Range(0, 8).Select(t => Task.Run(async () =>
        {
            for (int i = 0; i < 25; i++)
                ids.Add((await host.SubmitAsync($"user{t % 3}", steps: 1, prompt: $"thread {t} job {i}")).Id);
        })));
        await host.Events.UntilAsync(() => host.Events.Of<JobSucceeded>().Count() >= 200, "200 jobs to finish", seconds: 60);

        Assert.Equal(200, ids.Distinct().Count());
        var stored = new List<JobRecord>();
        for (int u = 0; u < 3; u++)
            stored.AddRange(await host.Store.ListJobsAsync($"user{u}", 1000));
        Assert.Equal(ids.Order(), stored.Select(j => j.Id).Order());
        Assert.All(stored, j => Assert.Equal(JobStatus.Succeeded, j.Status));
        Assert.Equal(200, host.Events.Of<JobSucceeded>().Select(e => e.JobId).Distinct().Count());
    }

    [Fact]
    public async Task QueuedJobsSurviveARestartAndAJobCutOffMidRunIsQueuedAgainOnce()
    {
        string root = JobsHost.NewRoot();
        string cutOnce, cutTwice, waiting;
        await using (var before = await JobsHost.StartAsync(root))
        {
            cutOnce = (await before.SubmitAsync("ann")).Id;
            cutTwice = (await before.SubmitAsync("bob")).Id;
            waiting = (await before.SubmitAsync("cy")).Id;
            // The process "dies" while these two run: their rows say Running.
            await before.Store.MarkStartedAsync(cutOnce, DateTimeOffset.UtcNow);
            await before.Store.MarkStartedAsync(cutTwice, DateTimeOffset.UtcNow);
        }
        await using (var second = await JobsHost.StartAsync(root))
        {
            Assert.Equal(3, second.Jobs.ListQueue(new Caller("admin", true)).Count);
            await second.Store.MarkStartedAsync(cutTwice, DateTimeOffset.UtcNow);
        }

        await using var after = await JobsHost.StartAsync(root);
        await after.StartWorkerAsync();
        await after.UntilFinalAsync(cutOnce);
        await after.UntilFinalAsync(waiting);

        var once = await after.Jobs.GetAsync(cutOnce, new Caller("ann"));
        var twice = await after.Jobs.GetAsync(cutTwice, new Caller("bob"));
        Assert.Equal(JobStatus.Succeeded, once!.Status);
        Assert.Contains("queued again", once.Notice);
        Assert.Equal(JobStatus.Interrupted, twice!.Status);
        Assert.Contains("not started again", twice.Error);
        Assert.Equal(JobStatus.Succeeded, (await after.Jobs.GetAsync(waiting, new Caller("cy")))!.Status);
    }

    [Fact]
    public async Task ShutdownStopsTheRunningJobAndQueuesItForTheNextStart()
    {
        string root = JobsHost.NewRoot();
        string id;
        await using (var before = await JobsHost.StartAsync(root))
        {
            before.Pipeline.Hold();
            await before.StartWorkerAsync();
            id = (await before.SubmitAsync("ann")).Id;
            await before.Events.UntilAsync(() => before.Events.Of<JobStep>().Any(), "the first step");
        }

        await using var after = await JobsHost.StartAsync(root);
        await after.StartWorkerAsync();
        await after.UntilFinalAsync(id);
        var job = await after.Store.GetJobAsync(id);
        Assert.Equal(JobStatus.Succeeded, job!.Status);
        Assert.Equal(0, job.Restarts);
    }

    [Fact]
    public async Task StatusReportsQueueAndCpuMode()
    {
        await using var host = await JobsHost.StartAsync(JobsHost.NewRoot());
        await host.SubmitAsync("ann");
        await host.SubmitAsync("bob");

        var status = host.Status.GetStatus();

        Assert.False(status.HasGpu);
        Assert.Equal("No GPU (CPU mode)", status.GpuName);
        Assert.Equal(2, status.QueuedJobs);
        Assert.Equal(0, status.RunningJobs);
        Assert.Equal(ModelState.Unknown, status.ModelState);
    }
}
