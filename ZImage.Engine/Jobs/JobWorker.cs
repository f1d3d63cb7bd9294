using System.Diagnostics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ZImage.Engine.History;
using ZImage.Engine.Imaging;
using ZImage.Engine.Pipeline;
using ZImage.Engine.Sampling;

namespace ZImage.Engine.Jobs;

/// <summary>
/// Runs jobs on the GPUs: one loop per card of ZImage:Engine:Devices (or <see cref="JobsOptions.Workers"/> loops, taking
/// the cards in turn), each taking the next fair job that fits on its card, running it through the pipeline, saving its pictures (files before rows) and announcing the
/// outcome. A failing job never stops the loop. On shutdown a running job is stopped and re-queued.
/// </summary>
public sealed class JobWorker(JobService jobs, IImageWriter writer, ImageFiles files,
    IOptionsMonitor<JobsOptions> options, TimeProvider clock, ILogger<JobWorker> logger) : BackgroundService
{
    /// <summary>The reasons a job is recorded with; public so the studio can say them in the person's language.</summary>
    public const string OutOfMemoryMessage =
        "The GPU ran out of memory while making these pictures. Try fewer images, a smaller size, or wait until the GPU is less busy.";

    public const string PipelineFailurePrefix = "Making the pictures failed: ";
    public const string DiskFullPrefix = "Disk full: ";
    public const string SaveFailedPrefix = "The pictures were made but could not be saved";

    private long _jobsRun;
    private long _overheadTicks;
    private long _pipelineTicks;
    private long _saveTicks;

    /// <summary>Per-job totals since start: outside the pipeline (queue, store, events), inside it, and writing pictures.</summary>
    public (long Jobs, TimeSpan Overhead, TimeSpan Pipeline, TimeSpan Saving) Measurements =>
        (Interlocked.Read(ref _jobsRun), TimeSpan.FromTicks(Interlocked.Read(ref _overheadTicks) * TimeSpan.TicksPerSecond / Stopwatch.Frequency),
            TimeSpan.FromTicks(Interlocked.Read(ref _pipelineTicks) * TimeSpan.TicksPerSecond / Stopwatch.Frequency),
            TimeSpan.FromTicks(Interlocked.Read(ref _saveTicks) * TimeSpan.TicksPerSecond / Stopwatch.Frequency));

    public override Task StopAsync(CancellationToken cancellationToken)
    {
        jobs.BeginStopping();
        return base.StopAsync(cancellationToken);
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(Enumerable.Range(0, jobs.Workers).Select(i => Task.Run(() => LoopAsync(i, stoppingToken), CancellationToken.None)));

    private async Task LoopAsync(int worker, CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            JobState job;
            try
            {
                job = await jobs.TakeNextAsync(stoppingToken, worker);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }

            try
            {
                await RunAsync(job, stoppingToken);
            }
            catch (Exception e)
            {
                // Only the store can fail here (it is the last resort); keep serving the queue.
                logger.LogError(e, "Worker {Worker} could not record the outcome of job {JobId}", worker, job.Id);
                jobs.Retire(job, JobStatus.Failed, 0);
            }
        }
    }

    internal async Task RunAsync(JobState job, CancellationToken stoppingToken)
    {
        long begin = Stopwatch.GetTimestamp();
        long inPipeline = 0, saving = 0;
        var request = job.Request;

        await jobs.StartedAsync(job);

        using var run = CancellationTokenSource.CreateLinkedTokenSource(job.Cancellation!.Token, stoppingToken);
        using var heartbeatStop = new CancellationTokenSource();
        var heartbeat = job.Worker is null ? Task.CompletedTask : HeartbeatAsync(job, heartbeatStop.Token);
        List<GeneratedImage>? images = null;
        GenerationTimings? timings = null;
        (string Name, double Shift) model = (ImageSettings.DefaultModel, FlowMatchEulerSchedule.DefaultShift);
        string? failure = null;
        string? notice = null;
        bool outOfMemory = false, outOfMemoryCounted = false;
        JobStatus outcome;
        try
        {
            long t0 = Stopwatch.GetTimestamp();
            try
            {
                var result = await PipelineOf(job).RunAsync(request, new Reporter(jobs, job, 0), run.Token);
                images = [.. result.Images];
                timings = result.Timings;
                model = (result.ModelName, result.SamplerShift);
                if (result.PromptTruncated)
                    notice = "The prompt was longer than the model reads; the end was left out.";
            }
            catch (Exception e) when (!run.IsCancellationRequested && jobs.IsOutOfMemory(e))
            {
                jobs.NoteOutOfMemory(job);
                outOfMemoryCounted = true;
                logger.LogWarning(e, "Job {JobId} ran out of GPU memory ({Width}x{Height} x{Count})", job.Id, request.Width, request.Height, request.Count);
                if (!options.CurrentValue.RetryOutOfMemoryOneImageAtATime)
                    throw;
                notice = "The GPU ran out of memory, so the pictures were made again one at a time with the models loaded one after another.";
                jobs.SetNotice(job, notice);
                (images, timings, model) = await RunOneAtATimeAsync(job, run.Token);
            }
            finally
            {
                inPipeline = Stopwatch.GetTimestamp() - t0;
                // The GPU time this job is billed for: the whole hold, retries included, whatever the outcome.
                jobs.HeldPipeline(job, Stopwatch.GetElapsedTime(t0));
            }

            long s0 = Stopwatch.GetTimestamp();
            var rows = await SaveAsync(job, images, model);
            saving = Stopwatch.GetTimestamp() - s0;
            await jobs.CompletedAsync(job, notice, rows, timings!);
            outcome = JobStatus.Succeeded;
        }
        catch (LeaseLostException)
        {
            // Another worker took the job after this one's lease ran out; it writes the outcome. The files this run
            // wrote have the same names as the new holder's, so they are left alone.
            jobs.LeaseLost(job);
            return;
        }
        catch (OperationCanceledException) when (job.Cancellation.IsCancellationRequested)
        {
            await jobs.CancelledAsync(job);
            outcome = JobStatus.Cancelled;
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            await jobs.RequeuedAsync(job);
            logger.LogInformation("Job {JobId} was stopped by shutdown and will run again after the restart", job.Id);
            return;
        }
        catch (Exception e)
        {
            outOfMemory = jobs.IsOutOfMemory(e);
            if (outOfMemory && !outOfMemoryCounted)
                jobs.NoteOutOfMemory(job);
            failure = outOfMemory ? OutOfMemoryMessage : e is ImageSaveException ? e.Message : PipelineFailurePrefix + e.Message;
            if (!outOfMemory)
                logger.LogError(e, "Job {JobId} failed on GPU {Device}", job.Id, job.Card?.DeviceId);
            await jobs.FailedAsync(job, failure, notice, outOfMemory);
            outcome = JobStatus.Failed;
        }
        finally
        {
            heartbeatStop.Cancel();
            await heartbeat;
        }

        long total = Stopwatch.GetTimestamp() - begin;
        Interlocked.Increment(ref _jobsRun);
        Interlocked.Add(ref _pipelineTicks, inPipeline);
        Interlocked.Add(ref _saveTicks, saving);
        Interlocked.Add(ref _overheadTicks, total - inPipeline - saving);
        logger.LogInformation("Job {JobId} of {User}: {Outcome} in {Seconds:0.00} s", job.Id, job.UserName, outcome, Stopwatch.GetElapsedTime(begin).TotalSeconds);
    }

    /// <summary>The pipeline of the card whose worker took the job.</summary>
    private IImagePipeline PipelineOf(JobState job) => (job.Card ?? jobs.Cards[0]).Pipeline;

    /// <summary>Renews the lease of a claimed job while it runs; a failed renewal is retried at the next beat.</summary>
    private async Task HeartbeatAsync(JobState job, CancellationToken stop)
    {
        using var timer = new PeriodicTimer(jobs.HeartbeatInterval, clock);
        try
        {
            while (await timer.WaitForNextTickAsync(stop))
            {
                try
                {
                    await jobs.HeartbeatAsync(job);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    logger.LogWarning(e, "Job {JobId}: renewing the lease failed; trying again at the next heartbeat", job.Id);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task<(List<GeneratedImage>, GenerationTimings, (string Name, double Shift))> RunOneAtATimeAsync(JobState job, CancellationToken ct)
    {
        var request = job.Request;
        var images = new List<GeneratedImage>(request.Count);
        var steps = new TimeSpan[request.Steps];
        TimeSpan tokenize = default, encoder = default, vae = default, total = default;
        (string Name, double Shift) model = (ImageSettings.DefaultModel, FlowMatchEulerSchedule.DefaultShift);
        for (int i = 0; i < request.Count; i++)
        {
            var single = request with { Count = 1, Seed = request.Seed + i };
            var result = await PipelineOf(job).RunAsync(single, new Reporter(jobs, job, i), ct);
            images.AddRange(result.Images);
            model = (result.ModelName, result.SamplerShift);
            tokenize += result.Timings.Tokenize;
            encoder += result.Timings.TextEncoder;
            vae += result.Timings.VaeDecode;
            total += result.Timings.Total;
            for (int s = 0; s < Math.Min(steps.Length, result.Timings.Steps.Count); s++)
                steps[s] += result.Timings.Steps[s];
        }
        return (images, new GenerationTimings(tokenize, encoder, steps, vae, total), model);
    }

    /// <summary>
    /// Writes the files and returns their rows; the rows go in afterwards in one transaction, so a crash in between
    /// leaves files that start-up deletes.
    /// </summary>
    private async Task<IReadOnlyList<NewImage>> SaveAsync(JobState job, List<GeneratedImage> images, (string Name, double Shift) model)
    {
        var now = clock.GetUtcNow();
        var localDate = clock.GetLocalNow().DateTime;
        var rows = new List<NewImage>(images.Count);
        var written = new List<string>();
        try
        {
            for (int i = 0; i < images.Count; i++)
            {
                var image = images[i];
                var (png, thumb) = files.PathsFor(job.Id, i, localDate);
                string pngPath = files.Absolute(png), thumbPath = files.Absolute(thumb);
                var parameters = job.Request with { Seed = image.Seed, Count = 1, Width = image.Image.Width, Height = image.Image.Height };
                written.Add(pngPath);
                written.Add(thumbPath);
                await writer.WriteAsync(image.Image, new ImageMetadata(job.Id, job.UserName, i, parameters, now) { ModelName = model.Name, SamplerShift = model.Shift }, pngPath, thumbPath, CancellationToken.None);
                rows.Add(new NewImage(i, png, thumb, image.Image.Width, image.Image.Height, image.Seed, now, model.Name));
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            ImageFiles.DeleteQuietly([.. written]);
            if (IsDiskFull(e))
                throw new ImageSaveException(DiskFullPrefix + $"the pictures were made but there is no space left in the output folder ({files.OutputRoot}) to save them. " +
                    "Free some space, or choose another output folder in Settings, and generate again.", e);
            throw new ImageSaveException(SaveFailedPrefix + $" ({e.Message}). Check the output folder's free space and permissions.", e);
        }
        return rows;
    }

    /// <summary>
    /// ENOSPC and EDQUOT on Unix (.NET puts the errno in HResult), ERROR_DISK_FULL and ERROR_HANDLE_DISK_FULL on Windows.
    /// </summary>
    internal static bool IsDiskFull(Exception e) =>
        e is IOException && (OperatingSystem.IsWindows()
            ? (e.HResult & 0xFFFF) is 112 or 39
            : e.HResult is 28 or 122);

    /// <summary>Turns pipeline progress into job events; image indexes shift when a retry runs images one at a time.</summary>
    private sealed class Reporter(JobService jobs, JobState job, int imageOffset) : IProgress<GenerationProgress>
    {
        public void Report(GenerationProgress p) => jobs.Stepped(job, imageOffset + p.ImageIndex, p);
    }
}

internal sealed class ImageSaveException(string message, Exception inner) : Exception(message, inner);
