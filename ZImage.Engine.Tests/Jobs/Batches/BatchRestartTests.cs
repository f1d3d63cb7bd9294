using System.IO.Compression;
using ZImage.Engine.History;
using ZImage.Engine.Imaging;
using ZImage.Engine.Jobs;
using ZImage.Engine.Jobs.Batches;

namespace ZImage.Engine.Tests.Jobs.Batches;

/// <summary>
/// A batch outlives its process: the host stops mid-batch and a new one starts on the same data (the SQLite file, or
/// the PostgreSQL database). One suite, run per store by the classes below.
/// </summary>
public abstract class BatchRestartContract : IAsyncLifetime
{
    protected string Root { get; } = JobsHost.NewRoot();

    protected virtual Dictionary<string, string?> Settings => [];

    public virtual Task InitializeAsync() => Task.CompletedTask;

    public virtual Task DisposeAsync()
    {
        Directory.Delete(Root, recursive: true);
        return Task.CompletedTask;
    }

    private Task<JobsHost> Studio(FakePipeline pipeline) => JobsHost.StartAsync(Root, pipeline, writer: new PngImageWriter(), settings: Settings);

    /// <summary>The worker of a started room (its start-up, which resumes the batches, ran in <see cref="JobsHost.StartAsync"/>).</summary>
    private static async Task<JobsHost> StartAsync(Task<JobsHost> starting)
    {
        var host = await starting;
        await host.StartWorkerAsync();
        return host;
    }

    [StoreFact]
    public async Task ABatchStoppedMidwayFinishesAfterARestartWithEveryPromptOnceAndAManifestThatMatchesItsFiles()
    {
        var firstPipeline = new FakePipeline();
        var first = await StartAsync(Studio(firstPipeline));
        await firstPipeline.HoldStepsAsync();
        var batch = (await first.Batches.SubmitAsync("restart", BatchRunTests.Items(6, steps: 2), new Caller("ann"))).Batch!;
        firstPipeline.ReleaseSteps(4);   // two jobs of two steps
        await BatchRunTests.UntilAsync(first, batch.Id, b => b.Succeeded == 2 && b.Submitted == 4 && firstPipeline.Running == 1,
            "two jobs done, the third running and the fourth waiting");
        await first.DisposeAsync();   // the studio stops mid-batch

        var secondPipeline = new FakePipeline();
        await using var second = await StartAsync(Studio(secondPipeline));
        var done = await BatchRunTests.UntilAsync(second, batch.Id, b => b.Status != BatchStatus.Running, "the batch to finish after the restart");

        Assert.Equal((BatchStatus.Finished, 6, 6, 0, 0, 6), (done.Status, done.Submitted, done.Succeeded, done.Failed, done.Cancelled, done.Pictures));
        string[] prompts = [.. Enumerable.Range(0, 6).Select(i => $"prompt {i}")];
        // Every prompt became exactly one job, each succeeded once; the second studio made the four left.
        var jobs = await second.Store.ListJobsAsync("ann", 100);
        Assert.Equal(prompts, jobs.Select(j => j.Request.Prompt).Order());
        Assert.All(jobs, j => Assert.Equal(JobStatus.Succeeded, j.Status));
        Assert.Equal(prompts[2..], secondPipeline.Started.Select(r => r.Prompt));
        Assert.Equal(done.JobIds.Order(), jobs.Select(j => (string?)j.Id).Order());

        using var zip = ZipFile.OpenRead(await second.Archive.GetOrBuildAsync(done));
        var pictures = zip.Entries.Where(e => e.Name.EndsWith(".png") && e.Name != BatchArchive.ContactSheetName).Select(e => e.Name).Order().ToList();
        using var reader = new StreamReader(zip.GetEntry(BatchArchive.ManifestName)!.Open());
        var (records, error) = Csv.Parse(reader.ReadToEnd().TrimStart('\uFEFF'));
        Assert.Null(error);
        var rows = records!.Skip(1).Select(r => r.Fields).ToList();
        Assert.Equal(6, pictures.Count);
        Assert.Equal(pictures, rows.Select(r => r[0]).Order());
        Assert.Equal(prompts, rows.Select(r => r[2]).Order());
        foreach (var row in rows)
        {
            using var png = zip.GetEntry(row[0])!.Open();
            Assert.Equal(row[2], GenerationPng.ReadSettings(BatchRunTests.CopyOf(png))!.Request.Prompt);
        }
    }

    [StoreFact]
    public async Task ABatchCancelledBeforeARestartStaysCancelledAndAfterOneStillCountsAsOneQueueSlot()
    {
        var settings = new Dictionary<string, string?>(Settings) { ["ZImage:Jobs:MaxQueuedPerUser"] = "2" };
        var firstPipeline = new FakePipeline();
        var first = await StartAsync(JobsHost.StartAsync(Root, firstPipeline, settings: settings));
        await firstPipeline.HoldStepsAsync();
        var kept = (await first.Batches.SubmitAsync("kept", BatchRunTests.Items(5, "kept"), new Caller("ann"))).Batch!;
        await BatchRunTests.UntilAsync(first, kept.Id, b => b.Submitted == 2 && firstPipeline.Running == 1, "one job running, one waiting");
        await first.DisposeAsync();

        var secondPipeline = new FakePipeline();
        await using var second = await JobsHost.StartAsync(Root, secondPipeline, settings: settings);
        await secondPipeline.HoldStepsAsync();
        await second.StartWorkerAsync();
        await BatchRunTests.UntilAsync(second, kept.Id, b => secondPipeline.Running == 1, "the resumed batch's job running");

        // After the restart the batch still holds one waiting job, so the person has room for one job of their own.
        var own = await second.Jobs.SubmitAsync(new JobRequest { Settings = new() { Prompt = "my own", Width = 256, Height = 256, Steps = 1 } }, new Caller("ann"));
        Assert.True(own.Accepted, own.Message);
        var more = await second.Jobs.SubmitAsync(new JobRequest { Settings = new() { Prompt = "one too many", Width = 256, Height = 256, Steps = 1 } }, new Caller("ann"));
        Assert.Equal(RefusalKind.UserQueueFull, more.Refusal);

        // Cancelled as a whole after the restart: nothing more is submitted, the rest counts as cancelled.
        Assert.Equal(CancelOutcome.Cancelled, await second.Batches.CancelAsync(kept.Id, new Caller("ann")));
        secondPipeline.Unhold();
        var done = await BatchRunTests.UntilAsync(second, kept.Id, b => b.Status != BatchStatus.Running, "the batch to stop");
        Assert.Equal((BatchStatus.Cancelled, 5), (done.Status, done.Succeeded + done.Cancelled + done.Failed));
        Assert.Equal(2, done.Submitted);
        Assert.DoesNotContain(secondPipeline.Started, r => r.Prompt is "kept 2" or "kept 3" or "kept 4");
    }
}

public sealed class SqliteBatchRestartTests : BatchRestartContract;

[NeedsPostgres]
public sealed class PostgresBatchRestartTests : BatchRestartContract
{
    private PostgresTestServer.TestDatabase? _database;

    public override async Task InitializeAsync() => _database = await PostgresTestServer.CreateDatabaseAsync();

    public override async Task DisposeAsync()
    {
        if (_database is not null)
            await _database.DisposeAsync();
        await base.DisposeAsync();
    }

    /// <summary>Two studios at once: a batch fed by the first is read and cancelled as a whole from the second.</summary>
    [StoreFact]
    public async Task ABatchFedByOneStudioIsFollowedAndCancelledFromAnother()
    {
        var pipeline = new FakePipeline();
        await using var feeder = await JobsHost.StartAsync(Root, pipeline, settings: Settings);
        await feeder.StartWorkerAsync();
        await pipeline.HoldStepsAsync();
        await using var other = await JobsHost.StartAsync(Path.Combine(Root, "other"), new FakePipeline(), settings: Settings);
        var batch = (await feeder.Batches.SubmitAsync("shared", BatchRunTests.Items(6, "shared", steps: 2), new Caller("ann"))).Batch!;
        pipeline.ReleaseSteps(2);
        await BatchRunTests.UntilAsync(other, batch.Id, b => b.Succeeded == 1 && b.Submitted == 3, "the other studio to see one job done, one running, one waiting");

        Assert.Equal(CancelOutcome.NotAllowed, await other.Batches.CancelAsync(batch.Id, new Caller("bob")));
        Assert.Equal(CancelOutcome.Cancelled, await other.Batches.CancelAsync(batch.Id, new Caller("ann")));

        // The running job stops at its worker's next heartbeat, the waiting one at once, and nothing more is submitted.
        var seenThere = await BatchRunTests.UntilAsync(other, batch.Id, b => b.Status != BatchStatus.Running, "the batch to end, seen from the other studio");
        var seenHere = await BatchRunTests.UntilAsync(feeder, batch.Id, b => b.Status != BatchStatus.Running, "the batch to end, seen by its feeder");
        Assert.Equal((BatchStatus.Cancelled, 1, 5, 3), (seenThere.Status, seenThere.Succeeded, seenThere.Cancelled + seenThere.Failed, seenThere.Submitted));
        Assert.Equal((seenHere.Status, seenHere.Succeeded, seenHere.Cancelled), (seenThere.Status, seenThere.Succeeded, seenThere.Cancelled));
        Assert.DoesNotContain(pipeline.Started, r => r.Prompt is "shared 3" or "shared 4" or "shared 5");
        pipeline.Unhold();
    }

    protected override Dictionary<string, string?> Settings => new()
    {
        ["ZImage:Store:Provider"] = "PostgreSql",
        ["ZImage:Store:ConnectionString"] = _database!.ConnectionString,
        ["ZImage:Store:SharedPictureFolder"] = Path.Combine(Root, "shared"),
        ["ZImage:Store:LeaseSeconds"] = "2",
        ["ZImage:Store:HeartbeatSeconds"] = "0.2",
        ["ZImage:Store:ClaimPollMilliseconds"] = "50",
    };
}
