using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.ExceptionServices;
using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ZImage.Engine.History;
using ZImage.Engine.Pipeline;

namespace ZImage.Engine.Jobs;

/// <summary>
/// Runs jobs on the GPUs: one loop per card of ZImage:Engine:Devices (or <see cref="JobsOptions.Workers"/> loops, taking
/// the cards in turn), each taking the next fair job that fits on its card, running it through the pipeline, saving each
/// picture as soon as it is made (file before row) and announcing it and the outcome. A failing job never stops the loop.
/// On shutdown a running job is stopped and re-queued.
/// </summary>
public sealed partial class JobWorker(JobService jobs, IImageWriter writer, ImageFiles files,
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

    /// <summary>
    /// Per-job totals since start: outside the pipeline (queue, store, events; not the wait for the last picture's save),
    /// inside it, and writing pictures (mostly while the pipeline makes the next one).
    /// </summary>
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
            if (!await WaitOutCardPauseAsync(worker, stoppingToken))
                return;
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
        long inPipeline = 0, savingAfterPipeline = 0;
        var request = job.Request;

        await jobs.StartedAsync(job);

        using var run = CancellationTokenSource.CreateLinkedTokenSource(job.Cancellation!.Token, stoppingToken);
        using var heartbeatStop = new CancellationTokenSource();
        var heartbeat = job.Worker is null ? Task.CompletedTask : HeartbeatAsync(job, heartbeatStop.Token);
        var saver = new PictureSaver(this, job, run);
        GenerationTimings? timings = null;
        int measured = request.Count;
        string? failure = null;
        string? notice = null;
        bool outOfMemory = false, outOfMemoryCounted = false;
        JobStatus outcome;
        try
        {
            long t0 = Stopwatch.GetTimestamp();
            try
            {
                var result = await PipelineOf(job).RunAsync(request, new Reporter(jobs, job, 0), saver.From(0), run.Token);
                timings = result.Timings;
                if (result.PromptTruncated)
                    notice = "The prompt was longer than the model reads; the end was left out.";
            }
            catch (OperationCanceledException) when (saver.Failure is { } saveFailure)
            {
                // Saving a picture failed and stopped the run: the job ends for that reason, not as a cancel.
                ExceptionDispatchInfo.Throw(saveFailure);
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
                (timings, measured) = await RunOneAtATimeAsync(job, saver, run.Token);
            }
            finally
            {
                inPipeline = Stopwatch.GetTimestamp() - t0;
                // The GPU time this job is billed for: the whole hold, retries included, whatever the outcome.
                jobs.HeldPipeline(job, Stopwatch.GetElapsedTime(t0));
            }

            // The last picture's row is in before the job is marked done.
            long s0 = Stopwatch.GetTimestamp();
            await saver.FinishAsync();
            savingAfterPipeline = Stopwatch.GetTimestamp() - s0;
            if (saver.Failure is { } late)
                ExceptionDispatchInfo.Throw(late);
            await jobs.CompletedAsync(job, notice, timings!, measured);
            outcome = JobStatus.Succeeded;
            CardOf(job).Health.Succeeded();
        }
        catch (LeaseLostException)
        {
            // Another worker took the job after this one's lease ran out; it writes the outcome. The files this run
            // wrote have the same names as the new holder's, so they are left alone.
            await saver.FinishAsync();
            jobs.LeaseLost(job);
            return;
        }
        catch (OperationCanceledException) when (job.Cancellation.IsCancellationRequested)
        {
            // Pictures finished before the cancel stay, recorded with the job's reason for stopping.
            await saver.FinishAsync();
            await jobs.CancelledAsync(job);
            outcome = JobStatus.Cancelled;
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // The re-run after the restart makes the same pictures again and replaces these rows.
            await saver.FinishAsync();
            await jobs.RequeuedAsync(job);
            logger.LogInformation("Job {JobId} was stopped by shutdown and will run again after the restart", job.Id);
            return;
        }
        catch (Exception e)
        {
            await saver.FinishAsync();
            outOfMemory = jobs.IsOutOfMemory(e);
            if (!outOfMemory && OrtFailures.IsCardFault(e))
            {
                // The card failed, not the job: it pauses, and the job runs again elsewhere or fails naming the card.
                await CardFaultedAsync(job, e, notice);
                return;
            }
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
        Interlocked.Add(ref _saveTicks, saver.SavingTicks);
        Interlocked.Add(ref _overheadTicks, total - inPipeline - savingAfterPipeline);
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

    /// <summary>
    /// After an out-of-memory failure: the pictures not saved yet, one run each. Returns the timings of these runs and
    /// how many pictures they made.
    /// </summary>
    private async Task<(GenerationTimings, int)> RunOneAtATimeAsync(JobState job, PictureSaver saver, CancellationToken ct)
    {
        var request = job.Request;
        var steps = new TimeSpan[request.Steps];
        TimeSpan tokenize = default, encoder = default, vae = default, total = default;
        int made = 0;
        for (int i = 0; i < request.Count; i++)
        {
            // Pictures the first attempt finished before it ran out are kept as they are.
            if (saver.Has(i))
                continue;
            var single = request with { Count = 1, Seed = request.Seed + i };
            var result = await PipelineOf(job).RunAsync(single, new Reporter(jobs, job, i), saver.From(i), ct);
            made++;
            tokenize += result.Timings.Tokenize;
            encoder += result.Timings.TextEncoder;
            vae += result.Timings.VaeDecode;
            total += result.Timings.Total;
            for (int s = 0; s < Math.Min(steps.Length, result.Timings.Steps.Count); s++)
                steps[s] += result.Timings.Steps[s];
        }
        return (new GenerationTimings(tokenize, encoder, steps, vae, total), made);
    }

    /// <summary>
    /// Saves each picture of a running job as soon as the pipeline hands it over, in order, on its own task (the
    /// pipeline's thread only queues): the PNG and thumbnail through a temporary file and a rename, then the row and the
    /// announcement (<see cref="JobService.ImageSavedAsync"/>). A picture whose files could not be written leaves no file
    /// behind; the failure stops the run, and the pictures saved before it stay.
    /// </summary>
    private sealed class PictureSaver
    {
        private readonly JobWorker _worker;
        private readonly JobState _job;
        private readonly CancellationTokenSource _run;
        private readonly Channel<FinishedImage> _queue = Channel.CreateUnbounded<FinishedImage>(new UnboundedChannelOptions { SingleReader = true });
        private readonly ConcurrentDictionary<int, bool> _handed = new();
        private readonly Task _saving;
        private long _savingTicks;

        public PictureSaver(JobWorker worker, JobState job, CancellationTokenSource run)
        {
            _worker = worker;
            _job = job;
            _run = run;
            _saving = Task.Run(SaveAllAsync);
        }

        /// <summary>Why saving stopped (<see cref="ImageSaveException"/>, or <see cref="LeaseLostException"/>); null while all is well.</summary>
        public Exception? Failure { get; private set; }

        public long SavingTicks => Interlocked.Read(ref _savingTicks);

        /// <summary>True once the pipeline handed picture <paramref name="index"/> over (saved, or queued to be).</summary>
        public bool Has(int index) => _handed.ContainsKey(index);

        /// <summary>The pipeline's hand-over for a run whose picture 0 is the job's picture <paramref name="offset"/>.</summary>
        public IProgress<FinishedImage> From(int offset) => new Intake(this, offset);

        /// <summary>Saves what was handed over, then returns; failures are in <see cref="Failure"/>.</summary>
        public async Task FinishAsync()
        {
            _queue.Writer.TryComplete();
            await _saving;
        }

        private async Task SaveAllAsync()
        {
            await foreach (var picture in _queue.Reader.ReadAllAsync())
            {
                if (Failure is not null)
                    continue;
                long t0 = Stopwatch.GetTimestamp();
                try
                {
                    await _worker.SaveAsync(_job, picture);
                }
                catch (Exception e) when (e is ImageSaveException or LeaseLostException)
                {
                    Failure = e;
                    _run.Cancel();
                }
                catch (Exception e)
                {
                    // The store failed: the run stops and the job is recorded as failed with the reason.
                    Failure = new ImageSaveException(SaveFailedPrefix + $" ({e.Message}).", e);
                    _run.Cancel();
                }
                finally
                {
                    Interlocked.Add(ref _savingTicks, Stopwatch.GetTimestamp() - t0);
                }
            }
        }

        private sealed class Intake(PictureSaver saver, int offset) : IProgress<FinishedImage>
        {
            public void Report(FinishedImage picture)
            {
                saver._handed[offset + picture.ImageIndex] = true;
                saver._queue.Writer.TryWrite(picture with { ImageIndex = offset + picture.ImageIndex });
            }
        }
    }

    /// <summary>Writes one picture's files (temporary file and rename), then its row; files before rows, so a crash in between leaves files that start-up deletes.</summary>
    private async Task SaveAsync(JobState job, FinishedImage picture)
    {
        var now = clock.GetUtcNow();
        var localDate = clock.GetLocalNow().DateTime;
        var (index, image) = (picture.ImageIndex, picture.Image);
        var (png, thumb) = files.PathsFor(job.Id, index, localDate);
        string pngPath = files.Absolute(png), thumbPath = files.Absolute(thumb);
        var parameters = job.Request with { Seed = image.Seed, Count = 1, Width = image.Image.Width, Height = image.Image.Height };
        try
        {
            await writer.WriteAsync(image.Image, new ImageMetadata(job.Id, job.UserName, index, parameters, now) { ModelName = picture.ModelName, SamplerShift = picture.SamplerShift },
                pngPath, thumbPath, CancellationToken.None);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            ImageFiles.DeleteQuietly([pngPath, thumbPath]);
            if (IsDiskFull(e))
                throw new ImageSaveException(DiskFullPrefix + $"the pictures were made but there is no space left in the output folder ({files.OutputRoot}) to save them. " +
                    "Free some space, or choose another output folder in Settings, and generate again.", e);
            throw new ImageSaveException(SaveFailedPrefix + $" ({e.Message}). Check the output folder's free space and permissions.", e);
        }
        try
        {
            await jobs.ImageSavedAsync(job, new NewImage(index, png, thumb, image.Image.Width, image.Image.Height, image.Seed, now, picture.ModelName));
        }
        catch (Exception e) when (e is not LeaseLostException)
        {
            // No row points at these files, and none will.
            ImageFiles.DeleteQuietly([pngPath, thumbPath]);
            throw;
        }
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
