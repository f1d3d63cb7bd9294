using System.IO.Compression;
using ZImage.Engine.History;
using ZImage.Engine.Imaging;
using ZImage.Engine.Jobs;
using ZImage.Engine.Jobs.Batches;
using ZImage.Engine.Tests.Jobs;

namespace ZImage.Engine.Tests.Jobs.Batches;

/// <summary>Batches fed through the fair queue with the stand-in pipeline.</summary>
public sealed class BatchRunTests
{
    internal static IReadOnlyList<BatchItem> Items(int count, string prefix = "prompt", int steps = 1) =>
        [.. Enumerable.Range(0, count).Select(i => new BatchItem(i + 1,
            new GenerationRequest { Prompt = $"{prefix} {i}", Width = 256, Height = 256, Steps = steps, Seed = i }, SeedPolicy.Fixed))];

    internal static async Task<BatchSnapshot> UntilAsync(JobsHost host, string id, Func<BatchSnapshot, bool> done, string what, int seconds = 120)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (true)
        {
            var b = (await host.Batches.GetAsync(id, new Caller("root", IsAdmin: true)))!;
            if (done(b))
                return b;
            if (DateTime.UtcNow > deadline)
                Assert.Fail($"timed out waiting for {what}: {b.Succeeded + b.Failed + b.Cancelled}/{b.Total} ended, status {b.Status}");
            await Task.Delay(20);
        }
    }

    [Fact]
    public async Task AThousandPromptBatchCompletesAndCountsAsOneQueueSlot()
    {
        await using var host = await JobsHost.StartAsync(JobsHost.NewRoot(), new FakePipeline { StepTime = TimeSpan.FromMilliseconds(1) },
            settings: new() { ["ZImage:Jobs:MaxQueuedPerUser"] = "2" });
        await host.StartWorkerAsync();
        var result = await host.Batches.SubmitAsync("catalogue", Items(1000), new Caller("ann"));
        Assert.True(result.Accepted);

        // While it runs, the person still has room for a job of their own: the batch holds at most one waiting job.
        var single = await host.Jobs.SubmitAsync(new JobRequest { Settings = new() { Prompt = "my own", Width = 256, Height = 256, Steps = 1 } }, new Caller("ann"));
        Assert.True(single.Accepted, single.Message);

        var done = await UntilAsync(host, result.Batch!.Id, b => b.Status != BatchStatus.Running, "the batch to finish", seconds: 300);
        Assert.Equal((BatchStatus.Finished, 1000, 0, 0, 1000), (done.Status, done.Succeeded, done.Failed, done.Cancelled, done.Pictures));
        Assert.All(done.JobIds, id => Assert.NotNull(id));
    }

    [Fact]
    public async Task AnotherPersonsSingleJobStartsRightAfterTheRunningBatchJob()
    {
        var pipeline = new FakePipeline();
        await using var host = await JobsHost.StartAsync(JobsHost.NewRoot(), pipeline);
        await host.StartWorkerAsync();
        await pipeline.HoldStepsAsync();
        var batch = (await host.Batches.SubmitAsync("big", Items(50, "batch"), new Caller("ann"))).Batch!;
        await UntilAsync(host, batch.Id, b => b.Submitted == 2 && pipeline.Running == 1, "one batch job running and one waiting");

        var bob = await host.SubmitAsync("bob", 256, 256, steps: 1, prompt: "bob's single picture");
        pipeline.ReleaseSteps(1);   // the running batch job ends
        await host.Events.UntilAsync(() => host.Events.Of<JobStarted>().Any(e => e.JobId == bob.Id), "bob's job to start");

        // Order of starts: the first batch job, then bob's: the batch's waiting job was tagged behind him.
        var started = pipeline.Started.Select(r => r.Prompt).ToList();
        Assert.Equal(["batch 0", "bob's single picture"], started.Take(2));
        pipeline.Unhold();
        await host.Batches.CancelAsync(batch.Id, new Caller("ann"));
    }

    [Fact]
    public async Task CancellingMidBatchStopsItsJobsAndSubmitsNoMore()
    {
        var pipeline = new FakePipeline();
        await using var host = await JobsHost.StartAsync(JobsHost.NewRoot(), pipeline);
        await host.StartWorkerAsync();
        await pipeline.HoldStepsAsync();
        var batch = (await host.Batches.SubmitAsync("stop me", Items(10, steps: 2), new Caller("ann"))).Batch!;
        pipeline.ReleaseSteps(4);   // two jobs of two steps
        await UntilAsync(host, batch.Id, b => b.Succeeded == 2 && pipeline.Running == 1, "two jobs done and the third running");

        Assert.Equal(CancelOutcome.NotAllowed, await host.Batches.CancelAsync(batch.Id, new Caller("bob")));
        Assert.Equal(CancelOutcome.Cancelled, await host.Batches.CancelAsync(batch.Id, new Caller("ann")));
        pipeline.Unhold();
        var done = await UntilAsync(host, batch.Id, b => b.Status != BatchStatus.Running, "the batch to stop");

        Assert.Equal((BatchStatus.Cancelled, 2, 8), (done.Status, done.Succeeded, done.Cancelled));
        Assert.Equal(3, pipeline.Started.Count);    // jobs 1-3 ran; job 4 was waiting and was cancelled before it started
        Assert.Equal(CancelOutcome.AlreadyFinished, await host.Batches.CancelAsync(batch.Id, new Caller("ann")));
    }

    [Fact]
    public async Task TheZipHoldsEveryPictureAManifestThatNamesThemAndAContactSheet()
    {
        await using var host = await JobsHost.StartAsync(JobsHost.NewRoot(), new FakePipeline(), writer: new PngImageWriter());
        await host.StartWorkerAsync();
        var (lines, _) = BatchList.ParseText("a red fox\na blue mug\n");
        var (items, problems) = BatchPlan.Expand(lines, ["photo", "ink"], 2, GenerationRequest.Defaults with { Width = 256, Height = 256, Steps = 1 }, BatchListTests.Apply);
        Assert.Empty(problems);
        var batch = (await host.Batches.SubmitAsync("zip", items, new Caller("ann"))).Batch!;
        var done = await UntilAsync(host, batch.Id, b => b.Status != BatchStatus.Running, "the batch to finish");
        Assert.Equal(8, done.Pictures);

        var path = await host.Archive.GetOrBuildAsync(done);
        Assert.Empty(Directory.EnumerateFiles(Path.GetDirectoryName(path)!, "*.tmp"));
        using var zip = ZipFile.OpenRead(path);
        var pictures = zip.Entries.Where(e => e.Name.EndsWith(".png") && e.Name != BatchArchive.ContactSheetName).Select(e => e.Name).ToList();
        Assert.Equal(8, pictures.Count);

        using var reader = new StreamReader(zip.GetEntry(BatchArchive.ManifestName)!.Open());
        var (records, error) = Csv.Parse(reader.ReadToEnd().TrimStart('\uFEFF'));
        Assert.Null(error);
        Assert.Equal(["file", "line", "prompt", "negative", "style", "seed", "settings"], records![0].Fields);
        var rows = records.Skip(1).ToList();
        Assert.Equal(pictures.Order(), rows.Select(r => r.Fields[0]).Order());
        foreach (var (_, fields) in rows)
        {
            using var png = zip.GetEntry(fields[0])!.Open();
            var settings = GenerationPng.ReadSettings(CopyOf(png))!;
            Assert.Equal((settings.Request.Prompt, settings.Request.Style, settings.Request.Seed.ToString()), (fields[2], fields[4], fields[5]));
        }
        Assert.Equal(["ink", "photo"], rows.Select(r => r.Fields[4]).Distinct().Order());

        using var sheetStream = zip.GetEntry(BatchArchive.ContactSheetName)!.Open();
        var sheet = PngCodec.Read(CopyOf(sheetStream)).Image;
        Assert.Equal((3 * 260 + 4, 3 * 260 + 4), (sheet.Width, sheet.Height));   // 8 thumbnails: 3 x 3 cells of 256 + 4 px gaps
    }

    internal static MemoryStream CopyOf(Stream s)
    {
        var m = new MemoryStream();
        s.CopyTo(m);
        m.Position = 0;
        return m;
    }
}
