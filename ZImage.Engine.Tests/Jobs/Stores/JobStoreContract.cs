using ZImage.Engine.History;
using ZImage.Engine.Jobs;

namespace ZImage.Engine.Tests.Jobs.Stores;

/// <summary>
/// What every job store does, whichever database is behind it: one suite, run once per provider by the subclasses below.
/// </summary>
public abstract partial class JobStoreContract : IAsyncLifetime
{
    protected static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    protected string OutputRoot { get; } = Directory.CreateTempSubdirectory("zimage-store-contract-").FullName;

    protected IJobStore Store { get; private set; } = null!;

    // One object serves the three store interfaces, as JobsSetup registers it.
    protected IPictureStore Pictures => (IPictureStore)Store;

    protected ITimingStore Timings => (ITimingStore)Store;

    protected abstract Task<IJobStore> OpenAsync();

    protected virtual Task CleanUpAsync() => Task.CompletedTask;

    public async Task InitializeAsync()
    {
        Store = await OpenAsync();
        await Store.InitializeAsync();
    }

    public async Task DisposeAsync()
    {
        await Store.DisposeAsync();
        await CleanUpAsync();
        Directory.Delete(OutputRoot, recursive: true);
    }

    protected static JobRecord Job(string id, string user = "ann", string prompt = "a red fox", int width = 512, int height = 512, int count = 1,
        string? key = null, DateTimeOffset? at = null) => new()
    {
        Id = id,
        UserName = user,
        Status = JobStatus.Queued,
        Request = new GenerationRequest
        {
            Prompt = prompt, NegativePrompt = "blurry", Width = width, Height = height, Steps = 6, Cfg = 1.5f, CfgTruncation = 0.75f,
            CfgNormalization = 0.5f, Seed = 42, Count = count,
        },
        SeedPolicy = SeedPolicy.Fixed,
        IdempotencyKey = key,
        SubmittedAt = at ?? T0,
    };

    protected static NewImage Image(string jobId, int index, DateTimeOffset at, int width = 512, int height = 512) =>
        new(index, $"2026-03-01/{jobId}-{index}.png", $"2026-03-01/thumbs/{jobId}-{index}.png", width, height, 42 + index, at, "Z-Image-Turbo");

    [StoreFact]
    public async Task InitialisingTwiceKeepsTheRowsAndTheSchemaAtTheLatestVersion()
    {
        await Store.InsertJobAsync(Job("j1"));
        await Store.InitializeAsync();
        Assert.Equal("j1", (await Store.GetJobAsync("j1"))!.Id);
    }

    [StoreFact]
    public async Task AJobReadsBackWithEveryField()
    {
        var job = Job("j1", key: "click-1") with { Notice = "note", Restarts = 1 };
        await Store.InsertJobAsync(job);

        var read = (await Store.GetJobAsync("j1"))!;
        Assert.Equal(job with { ImageIds = read.ImageIds }, read);
        Assert.Empty(read.ImageIds);
        Assert.Null(await Store.GetJobAsync("nope"));
    }

    [StoreFact]
    public async Task AnIdempotencyKeyIsOncePerUserAndNamesLookUpWithoutCase()
    {
        await Store.InsertJobAsync(Job("j1", key: "k"));
        await Store.InsertJobAsync(Job("j2", user: "bob", key: "k"));

        await Assert.ThrowsAsync<DuplicateIdempotencyKeyException>(() => Store.InsertJobAsync(Job("j3", user: "ANN", key: "k")));
        Assert.Equal("j1", (await Store.FindByIdempotencyKeyAsync("Ann", "k", T0.AddDays(-1)))!.Id);
        Assert.Null(await Store.FindByIdempotencyKeyAsync("ann", "k", T0.AddDays(1)));
    }

    [StoreFact]
    public async Task ListingIsNewestFirstAndLimited()
    {
        for (int i = 0; i < 4; i++)
            await Store.InsertJobAsync(Job($"j{i}", at: T0.AddMinutes(i)));
        await Store.InsertJobAsync(Job("other", user: "bob"));

        var listed = await Store.ListJobsAsync("ANN", 3);
        Assert.Equal(["j3", "j2", "j1"], listed.Select(j => j.Id));
    }

    [StoreFact]
    public async Task CompletingStoresThePicturesInOrderAndTheOutcome()
    {
        await Store.InsertJobAsync(Job("j1", count: 2));
        await Store.MarkStartedAsync("j1", T0.AddSeconds(1));
        Assert.Equal(JobStatus.Running, (await Store.GetJobAsync("j1"))!.Status);

        var ids = await Store.CompleteJobAsync("j1", T0.AddSeconds(5), "retried", [Image("j1", 0, T0), Image("j1", 1, T0)], TimeSpan.FromMilliseconds(1234.2));

        var job = (await Store.GetJobAsync("j1"))!;
        Assert.Equal((JobStatus.Succeeded, "retried", T0.AddSeconds(5)), (job.Status, job.Notice, job.FinishedAt));
        Assert.Equal(ids, job.ImageIds);
        var second = (await Pictures.GetImageAsync(ids[1]))!;
        Assert.Equal(("j1", "ann", 1, 43L, "Z-Image-Turbo"), (second.JobId, second.UserName, second.Index, second.Seed, second.Model));
        Assert.Equal(Path.Combine(OutputRoot, "2026-03-01", "thumbs", "j1-1.png"), second.ThumbnailPath);
        Assert.Equal((1.5f, 0.75f, 0.5f, 1), (second.Parameters.Cfg, second.Parameters.CfgTruncation, second.Parameters.CfgNormalization, second.Parameters.Count));
    }

    [StoreFact]
    public async Task TheStyleAndGpuTimeAreKeptAndUsageSumsThemPerPersonAndDay()
    {
        var styled = Job("s1", count: 2);
        await Store.InsertJobAsync(styled with { Request = styled.Request with { Style = "ink" } });
        await Store.InsertJobAsync(Job("s2", user: "bob"));
        await Store.InsertJobAsync(Job("s3"));
        var ids = await Store.CompleteJobAsync("s1", T0.AddSeconds(5), null, [Image("s1", 0, T0), Image("s1", 1, T0)], TimeSpan.FromMilliseconds(1234.2));
        await Store.FinishJobAsync("s2", JobStatus.Failed, T0.AddSeconds(6), "broke", null, TimeSpan.FromMilliseconds(500));
        await Store.CompleteJobAsync("s3", T0.AddDays(1), null, [Image("s3", 0, T0.AddDays(1))], TimeSpan.FromSeconds(2));

        var s1 = (await Store.GetJobAsync("s1"))!;
        Assert.Equal(("ink", TimeSpan.FromMilliseconds(1235)), (s1.Request.Style, s1.GpuTime));   // whole milliseconds, rounded up
        Assert.Equal("ink", (await Pictures.GetImageAsync(ids[0]))!.Parameters.Style);

        var usage = await Store.QueryUsageAsync(T0.AddDays(-1), T0.AddDays(2), null);
        var day = DateOnly.FromDateTime(T0.UtcDateTime);
        Assert.Equal([("ann", day, 1, 2, 1235.0), ("bob", day, 1, 0, 500.0), ("ann", day.AddDays(1), 1, 1, 2000.0)],
            usage.Select(u => (u.UserName, u.Day, u.Jobs, u.Pictures, u.GpuTime.TotalMilliseconds)));
        Assert.Equal(["bob"], (await Store.QueryUsageAsync(T0.AddDays(-1), T0.AddDays(2), "BOB")).Select(u => u.UserName));
    }

    [StoreFact]
    public async Task FailingKeepsTheReasonAndRequeueingForgetsTheStart()
    {
        await Store.InsertJobAsync(Job("j1"));
        await Store.InsertJobAsync(Job("j2"));
        await Store.MarkStartedAsync("j1", T0);
        await Store.MarkStartedAsync("j2", T0);

        await Store.FinishJobAsync("j1", JobStatus.Failed, T0.AddSeconds(2), "out of memory", null, TimeSpan.Zero);
        await Store.RequeueAsync("j2");

        var failed = (await Store.GetJobAsync("j1"))!;
        Assert.Equal((JobStatus.Failed, "out of memory"), (failed.Status, failed.Error));
        var requeued = (await Store.GetJobAsync("j2"))!;
        Assert.Equal((JobStatus.Queued, (DateTimeOffset?)null, 0), (requeued.Status, requeued.StartedAt, requeued.Restarts));
    }

    [StoreFact]
    public async Task AJobWhoseCardFailedWaitsAgainWithARestartCountedAndTheNoticeAndAQueuedJobIsLeftAlone()
    {
        await Store.InsertJobAsync(Job("j1"));
        await Store.InsertJobAsync(Job("j2"));
        await Store.MarkStartedAsync("j1", T0);

        await Store.RequeueAfterCardFaultAsync("j1", "GPU 1 failed while making these pictures; the job was queued again to run on a working card.");
        await Store.RequeueAfterCardFaultAsync("j2", "not running, so nothing to take back");

        var requeued = (await Store.GetJobAsync("j1"))!;
        Assert.Equal((JobStatus.Queued, (DateTimeOffset?)null, 1), (requeued.Status, requeued.StartedAt, requeued.Restarts));
        Assert.StartsWith("GPU 1 failed", requeued.Notice);
        var untouched = (await Store.GetJobAsync("j2"))!;
        Assert.Equal((JobStatus.Queued, 0, (string?)null), (untouched.Status, untouched.Restarts, untouched.Notice));

        // Each fault counts: the same count a crash adds to, so one limit bounds every re-run.
        await Store.MarkStartedAsync("j1", T0.AddMinutes(1));
        await Store.RequeueAfterCardFaultAsync("j1", "GPU 0 failed while making these pictures; the job was queued again to run on a working card.");
        Assert.Equal(2, (await Store.GetJobAsync("j1"))!.Restarts);
    }

    [StoreFact]
    public async Task HistoryFiltersByPersonTextSizeDateAndFavouritesAndPages()
    {
        await Store.InsertJobAsync(Job("fox", prompt: "a red fox in snow", count: 2));
        await Store.InsertJobAsync(Job("cat", user: "bob", prompt: "a sleeping cat"));
        await Store.InsertJobAsync(Job("zh", user: "bob", prompt: "一只可爱的小猫在雪地里"));
        var fox = await Store.CompleteJobAsync("fox", T0, null, [Image("fox", 0, T0), Image("fox", 1, T0)], TimeSpan.Zero);
        var cat = await Store.CompleteJobAsync("cat", T0.AddDays(1), null, [Image("cat", 0, T0.AddDays(1), width: 768)], TimeSpan.Zero);
        var zh = await Store.CompleteJobAsync("zh", T0.AddDays(2), null, [Image("zh", 0, T0.AddDays(2))], TimeSpan.Zero);
        Assert.True(await Pictures.SetFavouriteAsync(cat[0], true));

        async Task<long[]> Ids(HistoryQuery q) => [.. (await Pictures.QueryImagesAsync(q)).Items.Select(i => i.Id)];

        Assert.Equal(fox.Reverse(), await Ids(new HistoryQuery { UserName = "ANN" }));
        Assert.Equal(fox.Reverse(), await Ids(new HistoryQuery { Text = "fox" }));
        Assert.Equal(zh, await Ids(new HistoryQuery { Text = "小猫" }));
        Assert.Empty(await Ids(new HistoryQuery { Text = "fox\" OR cat" }));
        Assert.Equal(cat, await Ids(new HistoryQuery { Width = 768 }));
        Assert.Equal(cat, await Ids(new HistoryQuery { From = T0.AddHours(12), To = T0.AddDays(1).AddHours(12) }));
        Assert.Equal(cat, await Ids(new HistoryQuery { FavouritesOnly = true }));
        var page1 = await Pictures.QueryImagesAsync(new HistoryQuery { PageSize = 3, Page = 1 });
        Assert.Equal(4, page1.TotalCount);
        Assert.Equal([fox[0]], page1.Items.Select(i => i.Id));
    }

    [StoreFact]
    public async Task AViewerListsTheirOwnAndSharedPicturesOnlyAndEachPictureCarriesItsOwnersChoice()
    {
        await Store.InsertJobAsync(Job("ann1", user: "ann", prompt: "ann's fox"));
        await Store.InsertJobAsync(Job("bob1", user: "bob", prompt: "bob's cat"));
        await Store.InsertJobAsync(Job("cat1", user: "cat", prompt: "cat's owl"));
        var ann = await Store.CompleteJobAsync("ann1", T0, null, [Image("ann1", 0, T0)], TimeSpan.Zero);
        var bob = await Store.CompleteJobAsync("bob1", T0.AddMinutes(1), null, [Image("bob1", 0, T0.AddMinutes(1))], TimeSpan.Zero);
        var cat = await Store.CompleteJobAsync("cat1", T0.AddMinutes(2), null, [Image("cat1", 0, T0.AddMinutes(2))], TimeSpan.Zero);
        // ann says no, bob says yes (in another spelling of his name), cat never chose.
        await Pictures.SetSharingAsync("ann", false);
        await Pictures.SetSharingAsync("BOB", true);
        // A choice made before any job adds the person.
        await Pictures.SetSharingAsync("dan", true);

        async Task<long[]> Ids(HistoryQuery q) => [.. (await Pictures.QueryImagesAsync(q)).Items.Select(i => i.Id).Order()];

        long[] bobAndCat = [.. bob, .. cat], annAndBob = [.. ann, .. bob], all = [.. ann, .. bob, .. cat];
        Assert.Equal(bobAndCat, await Ids(new HistoryQuery { Viewer = new Caller("dan", SharesByDefault: true) }));
        Assert.Equal(bob, await Ids(new HistoryQuery { Viewer = new Caller("dan") }));
        Assert.Equal(annAndBob, await Ids(new HistoryQuery { Viewer = new Caller("ANN") }));
        Assert.Equal(all, await Ids(new HistoryQuery { Viewer = new Caller("root", IsAdmin: true) }));
        Assert.Empty(await Ids(new HistoryQuery { Viewer = new Caller("dan", SharesByDefault: true), UserName = "ann" }));
        Assert.Equal(1, (await Pictures.QueryImagesAsync(new HistoryQuery { Viewer = new Caller("dan"), Text = "cat" })).TotalCount);

        Assert.Equal(false, (await Pictures.GetImageAsync(ann[0]))!.OwnerShares);
        Assert.Equal(true, (await Pictures.GetImageAsync(bob[0]))!.OwnerShares);
        Assert.Null((await Pictures.GetImageAsync(cat[0]))!.OwnerShares);
        Assert.Equal(new PictureOwner("bob", true), await Pictures.FindOwnerAsync("Bob"));
        Assert.Equal(new PictureOwner("dan", true), await Pictures.FindOwnerAsync("dan"));
        Assert.Null(await Pictures.FindOwnerAsync("eve"));
    }

    [StoreFact]
    public async Task RetentionSeesOnlyOldPicturesThatAreNoFavouriteAndDeletingRemovesTheRow()
    {
        await Store.InsertJobAsync(Job("j1", count: 3));
        var ids = await Store.CompleteJobAsync("j1", T0, null, [Image("j1", 0, T0), Image("j1", 1, T0), Image("j1", 2, T0.AddDays(10))], TimeSpan.Zero);
        await Pictures.SetFavouriteAsync(ids[1], true);

        Assert.Equal([ids[0]], (await Pictures.ListImagesCreatedBeforeAsync(T0.AddDays(5), 10)).Select(i => i.Id));
        Assert.True(await Pictures.DeleteImageRowAsync(ids[0]));
        Assert.False(await Pictures.DeleteImageRowAsync(ids[0]));
        Assert.Equal([ids[1], ids[2]], (await Pictures.ListImagePathsAsync()).Select(p => p.Id).Order());
    }

    [StoreFact]
    public async Task APictureAddedWhileTheJobRunsIsInHistoryAndTheJobAtOnceAndStaysWhenTheJobIsCancelled()
    {
        await Store.InsertJobAsync(Job("j1", count: 4));
        await Store.MarkStartedAsync("j1", T0);

        var first = await Store.AddImageAsync("j1", Image("j1", 0, T0.AddSeconds(5)));

        var running = (await Store.GetJobAsync("j1"))!;
        Assert.Equal(JobStatus.Running, running.Status);
        Assert.Equal([first], running.ImageIds);
        var history = await Pictures.QueryImagesAsync(new HistoryQuery { UserName = "ann" });
        Assert.Equal([(first, 0)], history.Items.Select(i => (i.Id, i.Index)));

        await Store.FinishJobAsync("j1", JobStatus.Cancelled, T0.AddSeconds(6), "Cancelled.", null, TimeSpan.FromSeconds(6));
        var cancelled = (await Store.GetJobAsync("j1"))!;
        Assert.Equal((JobStatus.Cancelled, "Cancelled."), (cancelled.Status, cancelled.Error));
        Assert.Equal([first], cancelled.ImageIds);
    }

    [StoreFact]
    public async Task CompletingAJobWhosePicturesWereAddedOneByOneReturnsAllTheirIdsInOrder()
    {
        await Store.InsertJobAsync(Job("j1", count: 3));
        await Store.MarkStartedAsync("j1", T0);
        var added = new List<long>();
        for (var i = 0; i < 2; i++)
            added.Add(await Store.AddImageAsync("j1", Image("j1", i, T0.AddSeconds(i + 1))));

        var ids = await Store.CompleteJobAsync("j1", T0.AddSeconds(9), null, [Image("j1", 2, T0.AddSeconds(9))], TimeSpan.FromSeconds(9));

        Assert.Equal(3, ids.Count);
        Assert.Equal(added, ids.Take(2));
        Assert.Equal(ids, (await Store.GetJobAsync("j1"))!.ImageIds);
    }

    [StoreFact]
    public async Task ARunAfterARestartReplacesThePictureAnEarlierRunAddedAtTheSameIndex()
    {
        await Store.InsertJobAsync(Job("j1", count: 2));
        await Store.MarkStartedAsync("j1", T0);
        await Store.AddImageAsync("j1", Image("j1", 0, T0.AddSeconds(1)));
        await Store.RequeueAsync("j1");
        await Store.MarkStartedAsync("j1", T0.AddMinutes(1));

        var again = await Store.AddImageAsync("j1", Image("j1", 0, T0.AddMinutes(1).AddSeconds(1)));

        Assert.Equal([again], (await Store.GetJobAsync("j1"))!.ImageIds);
        Assert.Equal(1, (await Pictures.QueryImagesAsync(new HistoryQuery { UserName = "ann" })).TotalCount);
    }

    [StoreFact]
    public async Task StepTimingsAreOneRowPerSizeAndGuidance()
    {
        await Timings.SaveStepTimingAsync(new StepTiming(1024, 1024, false, 1, 0.9, 2.0));
        await Timings.SaveStepTimingAsync(new StepTiming(1024, 1024, false, 2, 0.8, 1.5));
        await Timings.SaveStepTimingAsync(new StepTiming(1024, 1024, true, 1, 1.7, 2.0));

        var timings = await Timings.LoadStepTimingsAsync();
        Assert.Equal(2, timings.Count);
        Assert.Contains(new StepTiming(1024, 1024, false, 2, 0.8, 1.5), timings);
    }
}

public sealed class SqliteJobStoreContractTests : JobStoreContract
{
    protected override Task<IJobStore> OpenAsync() =>
        Task.FromResult<IJobStore>(new SqliteJobStore(Path.Combine(OutputRoot, "..", Path.GetFileName(OutputRoot) + ".db"), OutputRoot));

    /// <summary>
    /// A crash counts against the same re-run budget as a card fault; the reason says so rather than "stopped twice"
    /// (the server stopped once here, after a card failure had re-queued the job).
    /// </summary>
    [Fact]
    public async Task AJobRequeuedAfterACardFaultAndCaughtInACrashIsInterruptedSayingItHadBeenQueuedAgain()
    {
        await Store.InsertJobAsync(Job("j1"));
        await Store.MarkStartedAsync("j1", T0);
        await Store.RequeueAfterCardFaultAsync("j1", "GPU 0 failed while making these pictures; the job was queued again to run on a working card.");
        await Store.MarkStartedAsync("j1", T0.AddMinutes(1));

        Assert.Empty(await Store.RecoverAsync(T0.AddMinutes(2)));

        var job = (await Store.GetJobAsync("j1"))!;
        Assert.Equal(JobStatus.Interrupted, job.Status);
        Assert.Equal("The server stopped while this job was running; it had already been queued again after an earlier stop or card failure, " +
                     "so it was not started again.", job.Error);
    }

    protected override Task CleanUpAsync()
    {
        foreach (var f in Directory.EnumerateFiles(Path.GetDirectoryName(OutputRoot)!, Path.GetFileName(OutputRoot) + ".db*"))
            File.Delete(f);
        return Task.CompletedTask;
    }
}

[NeedsPostgres]
public sealed class PostgresJobStoreContractTests : JobStoreContract
{
    private PostgresTestServer.TestDatabase? _database;

    protected override async Task<IJobStore> OpenAsync()
    {
        _database = await PostgresTestServer.CreateDatabaseAsync();
        return new PostgresJobStore(_database.ConnectionString, OutputRoot);
    }

    protected override async Task CleanUpAsync()
    {
        if (_database is not null)
            await _database.DisposeAsync();
    }
}
