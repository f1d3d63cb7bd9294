using ZImage.Engine.History;
using ZImage.Engine.Imaging;
using ZImage.Engine.Jobs;
using ZImage.Engine.Memory;

namespace ZImage.Engine.Tests.Jobs;

/// <summary>
/// Each picture of a job is a result as soon as it is made: file written, row in History, announced to the job's
/// watchers, while the job runs on. A job stopped part-way keeps the pictures it finished, with its reason.
/// </summary>
public sealed class LiveResultsTests
{
    private static readonly Caller Ann = new("ann");

    [Fact]
    public async Task EachPictureOfAFourPictureJobIsSavedAndAnnouncedWhileTheJobStillRuns()
    {
        await using var host = await JobsHost.StartAsync(JobsHost.NewRoot());
        await host.Pipeline.HoldStepsAsync();
        await host.StartWorkerAsync();
        var job = await host.SubmitAsync("ann", steps: 2, count: 4);
        var watched = new List<JobUpdate>();
        var watch = Task.Run(async () =>
        {
            await foreach (var update in host.Jobs.WatchJobAsync(job.Id, Ann))
                watched.Add(update);
        });

        host.Pipeline.ReleaseSteps(2); // picture 1's two steps
        await host.Events.UntilAsync(() => host.Events.Of<JobImageSaved>().Any(e => e.JobId == job.Id), "picture 1 to be saved");

        var first = host.Events.Of<JobImageSaved>().Single(e => e.JobId == job.Id);
        Assert.Equal((0, 4), (first.ImageIndex, first.ImageCount));
        var running = (await host.Jobs.GetAsync(job.Id, Ann))!;
        Assert.Equal(JobStatus.Running, running.Status);
        Assert.Equal([first.ImageId], running.ImageIds);
        var picture = Assert.Single((await host.History.QueryAsync(new HistoryQuery { UserName = "ann" })).Items);
        Assert.Equal((first.ImageId, 0, job.Id), (picture.Id, picture.Index, picture.JobId));
        Assert.True(File.Exists(picture.FilePath), picture.FilePath);
        Assert.True(File.Exists(picture.ThumbnailPath), picture.ThumbnailPath);
        Assert.DoesNotContain(host.Events.All, e => e.JobId == job.Id && e is JobSucceeded);

        host.Pipeline.ReleaseSteps(6);
        await host.UntilFinalAsync(job.Id);
        await watch.WaitAsync(TimeSpan.FromSeconds(10));

        var saved = host.Events.Of<JobImageSaved>().Where(e => e.JobId == job.Id).ToList();
        Assert.Equal([0, 1, 2, 3], saved.Select(e => e.ImageIndex));
        var done = host.Events.Of<JobSucceeded>().Single(e => e.JobId == job.Id);
        Assert.Equal(saved.Select(e => e.ImageId), done.ImageIds);
        // The watcher heard of every picture, each before the job's end.
        var heard = watched.Select(u => u.Event).ToList();
        Assert.Equal([0, 1, 2, 3], heard.OfType<JobImageSaved>().Select(e => e.ImageIndex));
        Assert.IsType<JobSucceeded>(heard[^1]);
    }

    [Fact]
    public async Task CancellingPartWayKeepsThePicturesAlreadyMadeRecordedWithTheCancel()
    {
        await using var host = await JobsHost.StartAsync(JobsHost.NewRoot());
        await host.Pipeline.HoldStepsAsync();
        await host.StartWorkerAsync();
        var job = await host.SubmitAsync("ann", steps: 2, count: 4);

        host.Pipeline.ReleaseSteps(3); // picture 1, and the first step of picture 2
        await host.Events.UntilAsync(() => host.Events.Of<JobStep>().Any(e => e.JobId == job.Id && e.ImageIndex == 1), "picture 2's first step");
        await host.Events.UntilAsync(() => host.Events.Of<JobImageSaved>().Any(e => e.JobId == job.Id), "picture 1 to be saved");
        Assert.Equal(CancelOutcome.Stopping, await host.Jobs.CancelAsync(job.Id, Ann));
        await host.UntilFinalAsync(job.Id);

        var record = (await host.Store.GetJobAsync(job.Id))!;
        Assert.Equal((JobStatus.Cancelled, "Cancelled."), (record.Status, record.Error));
        var kept = host.Events.Of<JobImageSaved>().Single(e => e.JobId == job.Id);
        Assert.Equal([kept.ImageId], record.ImageIds);
        var picture = Assert.Single((await host.History.QueryAsync(new HistoryQuery { UserName = "ann" })).Items);
        Assert.True(File.Exists(picture.FilePath));
        Assert.Equal(2, Directory.EnumerateFiles(host.Files.OutputRoot, "*", SearchOption.AllDirectories).Count()); // its PNG and thumbnail
    }

    [Fact]
    public async Task APictureThatCannotBeSavedFailsTheJobWithTheReasonAndThePicturesBeforeItStay()
    {
        await using var host = await JobsHost.StartAsync(JobsHost.NewRoot(), writer: new SecondPictureCannotBeWritten());
        await host.StartWorkerAsync();
        var job = await host.SubmitAsync("ann", steps: 2, count: 4);
        await host.UntilFinalAsync(job.Id);

        var record = (await host.Store.GetJobAsync(job.Id))!;
        Assert.Equal(JobStatus.Failed, record.Status);
        Assert.StartsWith(JobWorker.SaveFailedPrefix, record.Error);
        Assert.Contains("the output disk went away", record.Error);
        var kept = host.Events.Of<JobImageSaved>().Single(e => e.JobId == job.Id);
        Assert.Equal(0, kept.ImageIndex);
        Assert.Equal([kept.ImageId], record.ImageIds);
        // Picture 1's PNG and thumbnail, nothing of picture 2 (no half-written or temporary file), nothing after it.
        Assert.Equal(2, Directory.EnumerateFiles(host.Files.OutputRoot, "*", SearchOption.AllDirectories).Count());
        Assert.Single(host.Events.Of<JobFailed>(), e => e.JobId == job.Id);
    }

    [Fact]
    public async Task APipelineFailurePartWayKeepsThePicturesAlreadyMadeRecordedWithTheReason()
    {
        var pipeline = new FakePipeline { FailBeforePicture = (_, i) => i == 2 ? new InvalidOperationException("the model returned NaN") : null };
        await using var host = await JobsHost.StartAsync(JobsHost.NewRoot(), pipeline);
        await host.StartWorkerAsync();
        var job = await host.SubmitAsync("ann", steps: 2, count: 4);
        await host.UntilFinalAsync(job.Id);

        var record = (await host.Store.GetJobAsync(job.Id))!;
        Assert.Equal(JobStatus.Failed, record.Status);
        Assert.Equal(JobWorker.PipelineFailurePrefix + "the model returned NaN", record.Error);
        var kept = host.Events.Of<JobImageSaved>().Where(e => e.JobId == job.Id).ToList();
        Assert.Equal([0, 1], kept.Select(e => e.ImageIndex));
        Assert.Equal(kept.Select(e => e.ImageId), record.ImageIds);
        Assert.Equal(2, (await host.History.QueryAsync(new HistoryQuery { UserName = "ann" })).TotalCount);
    }

    [Fact]
    public async Task AfterRunningOutOfMemoryPartWayTheRetryMakesOnlyThePicturesNotMadeYet()
    {
        var pipeline = new FakePipeline { FailBeforePicture = (r, i) => r.Count > 1 && i == 1 ? new GpuOutOfMemoryException("out of memory") : null };
        await using var host = await JobsHost.StartAsync(JobsHost.NewRoot(), pipeline);
        await host.StartWorkerAsync();
        var job = await host.Jobs.SubmitAsync(
            new JobRequest { Settings = new() { Prompt = "x", Width = 512, Height = 512, Steps = 2, Count = 3, Seed = 100 }, SeedPolicy = SeedPolicy.Fixed }, Ann);
        await host.UntilFinalAsync(job.Job!.Id);

        var done = host.Events.Of<JobSucceeded>().Single();
        Assert.Contains("one at a time", done.Notice);
        // Picture 1 came from the first run and is kept as it was; the retry made pictures 2 and 3 alone.
        Assert.Equal([(3, 100L), (1, 101), (1, 102)], pipeline.Started.Select(r => (r.Count, r.Seed)));
        var saved = host.Events.Of<JobImageSaved>().ToList();
        Assert.Equal([0, 1, 2], saved.Select(e => e.ImageIndex));
        Assert.Equal(saved.Select(e => e.ImageId), done.ImageIds);
        var images = await Task.WhenAll(done.ImageIds.Select(id => host.History.GetImageAsync(id)));
        Assert.Equal([100L, 101, 102], images.Select(i => i!.Seed));
    }

    /// <summary>Writes the first picture of a job and fails on the second, as a disk that goes away mid-job would.</summary>
    private sealed class SecondPictureCannotBeWritten : IImageWriter
    {
        private readonly FakeImageWriter _writer = new();

        public Task WriteAsync(RgbImage image, ImageMetadata metadata, string pngPath, string thumbnailPath, CancellationToken ct) =>
            metadata.Index == 1
                ? throw new IOException("the output disk went away")
                : _writer.WriteAsync(image, metadata, pngPath, thumbnailPath, ct);
    }
}
