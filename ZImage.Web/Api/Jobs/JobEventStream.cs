using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using ZImage.Engine.Jobs;
using ZImage.Web.Api.Auth;

namespace ZImage.Web.Api.Jobs;

/// <summary>
/// <c>GET /api/v1/jobs/{id}/events</c> as text/event-stream, from <see cref="IJobService.WatchJobAsync"/>: the job's
/// snapshot is replayed as the first events (a refreshed page re-attaches), then live events are relayed until the
/// job is final. PNG encoding of previews happens here, off the GPU worker's thread.
/// </summary>
public static class JobEventStream
{
    /// <summary>Proxies and browsers drop idle connections; a comment line every so often keeps them open.</summary>
    private static readonly TimeSpan Heartbeat = TimeSpan.FromSeconds(15);
    private const int RetryMilliseconds = 3000;
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static async Task StreamAsync(string id, HttpContext http, IJobService service,
        IOptions<ApiOptions> options, [FromKeyedServices(ApiSetup.PreviewClock)] TimeProvider clock, PreviewEncoder previews)
    {
        var ct = http.RequestAborted;
        // The job's snapshot first, then its newer events (IJobService.WatchJobAsync); empty for a job the caller cannot see.
        await using var updates = service.WatchJobAsync(id, http.Caller(), ct).GetAsyncEnumerator(ct);
        if (!await updates.MoveNextAsync() || updates.Current.Snapshot is not { } job)
        {
            await JobEndpoints.NotFound(id).ExecuteAsync(http);
            return;
        }

        http.Response.ContentType = "text/event-stream; charset=utf-8";
        http.Response.Headers.CacheControl = "no-cache, no-store";
        http.Response.Headers["X-Accel-Buffering"] = "no";
        http.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        var writer = new SseWriter(http.Response, clock, options.Value.PreviewIntervalMs, previews, options.Value.PreviewMaxSide);

        if (await writer.ReplayAsync(job, ct))
            return;
        var next = updates.MoveNextAsync().AsTask();
        try
        {
            while (true)
            {
                using (var beat = CancellationTokenSource.CreateLinkedTokenSource(ct))
                {
                    if (await Task.WhenAny(next, Task.Delay(Heartbeat, beat.Token)) != next)
                    {
                        await writer.RawAsync(": keep-alive\n\n", ct);
                        continue;
                    }
                    await beat.CancelAsync();
                }
                if (!await next)
                    return;
                if (updates.Current.Event is { } e && await writer.RelayAsync(e, ct))
                    return;
                next = updates.MoveNextAsync().AsTask();
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // The client went away; the watch ends with the request's token.
        }
        finally
        {
            // The watch may not be disposed while a read is pending; the request's token ends that read.
            await Task.WhenAny(next);
        }
    }

    private sealed class SseWriter(HttpResponse response, TimeProvider clock, int previewIntervalMs, PreviewEncoder previews, int previewMaxSide)
    {
        private long _sequence;
        private long _lastPreviewTicks = long.MinValue;
        private (int Image, int Step) _lastStep = (-1, -1);

        /// <summary>Writes what the snapshot says; true when the job is already final and the stream should end.</summary>
        public async Task<bool> ReplayAsync(JobSnapshot job, CancellationToken ct)
        {
            // Pictures a running (or stopped) job has saved so far, each as the live stream would have said it.
            if (job.Status != JobStatus.Succeeded)
            {
                for (var i = 0; i < job.ImageIds.Count; i++)
                    await ImageAsync(job.Id, i, job.Request.Count, job.ImageIds[i], ct);
            }
            switch (job.Status)
            {
                case JobStatus.Queued:
                    await SendAsync("queued", new { jobId = job.Id, position = job.Position, etaStartSeconds = job.EtaStart?.TotalSeconds, notice = job.Notice }, ct);
                    return false;
                case JobStatus.Running:
                    await SendAsync("started", new { jobId = job.Id, etaFinishSeconds = job.EtaFinish?.TotalSeconds }, ct);
                    if (job.Progress is { Step: > 0 } p)
                        await ProgressAsync(job.Id, p.ImageIndex, p.ImageCount, p.Step, p.TotalSteps, job.EtaFinish, p.Preview, ct);
                    return false;
                case JobStatus.Succeeded:
                    await SendAsync("completed", Completed(job.Id, job.ImageIds, job.WaitTime, job.RunTime, job.Notice), ct);
                    return true;
                case JobStatus.Cancelled:
                    await SendAsync("cancelled", new { jobId = job.Id, reason = job.Error }, ct);
                    return true;
                default:
                    await SendAsync("failed", new { jobId = job.Id, reason = job.Error ?? $"The job ended as {JobDto.StatusName(job.Status)}.", outOfMemory = false }, ct);
                    return true;
            }
        }

        /// <summary>True after a final event.</summary>
        public async Task<bool> RelayAsync(JobEvent e, CancellationToken ct)
        {
            switch (e)
            {
                // The watch drops events its snapshot already counts (by version), so each of these is new.
                case JobQueued q:
                    await SendAsync("queued", new { jobId = q.JobId, position = q.Position, etaStartSeconds = q.EtaStart?.TotalSeconds, notice = q.Notice }, ct);
                    return false;
                case JobStarted s:
                    // A job that starts again after a re-queue counts its steps from the beginning again.
                    _lastStep = (-1, -1);
                    await SendAsync("started", new { jobId = s.JobId, etaFinishSeconds = s.EtaFinish?.TotalSeconds }, ct);
                    return false;
                case JobStep s:
                    await ProgressAsync(s.JobId, s.ImageIndex, s.ImageCount, s.Step, s.TotalSteps, s.Eta, s.Preview, ct);
                    return false;
                case JobImageSaved saved:
                    await ImageAsync(saved.JobId, saved.ImageIndex, saved.ImageCount, saved.ImageId, ct);
                    return false;
                case JobSucceeded f:
                    await SendAsync("completed", Completed(f.JobId, f.ImageIds, f.WaitTime, f.RunTime, f.Notice), ct);
                    return true;
                case JobFailed f:
                    await SendAsync("failed", new { jobId = f.JobId, reason = f.Reason, outOfMemory = f.OutOfMemory }, ct);
                    return true;
                case JobCancelled c:
                    await SendAsync("cancelled", new { jobId = c.JobId, cancelledBy = c.CancelledBy }, ct);
                    return true;
                default:
                    return false;
            }
        }

        private readonly HashSet<long> _imagesSent = [];

        /// <summary>A picture saved while the job runs: its links, once per picture.</summary>
        private Task ImageAsync(string jobId, int imageIndex, int imageCount, long imageId, CancellationToken ct) =>
            _imagesSent.Add(imageId)
                ? SendAsync("image", new { jobId, imageIndex, imageCount, image = ImageLinkDto.For(imageId) }, ct)
                : Task.CompletedTask;

        private async Task ProgressAsync(string jobId, int imageIndex, int imageCount, int step, int total, TimeSpan? eta,
            Engine.Imaging.PreviewPicture? preview, CancellationToken ct)
        {
            // The replayed snapshot and the live subscription overlap by design; never report a step twice or go back.
            if ((imageIndex, step).CompareTo(_lastStep) <= 0)
                return;
            _lastStep = (imageIndex, step);
            var fraction = (imageIndex * total + step) / (double)Math.Max(1, imageCount * total);
            await SendAsync("progress", new { jobId, imageIndex, imageCount, step, total, etaSeconds = eta?.TotalSeconds, fraction }, ct);
            if (preview is null)
                return;
            var now = clock.GetTimestamp();
            if (_lastPreviewTicks != long.MinValue && clock.GetElapsedTime(_lastPreviewTicks, now).TotalMilliseconds < previewIntervalMs)
                return;
            _lastPreviewTicks = now;
            await SendAsync("preview", new { jobId, imageIndex, step, image = previews.ToDataUrl(preview.Image, previewMaxSide) }, ct);
        }

        private static object Completed(string jobId, IReadOnlyList<long> imageIds, TimeSpan? wait, TimeSpan? run, string? notice) => new
        {
            jobId,
            images = imageIds.Select(ImageLinkDto.For).ToList(),
            waitSeconds = wait?.TotalSeconds,
            runSeconds = run?.TotalSeconds,
            notice,
        };

        private Task SendAsync(string name, object payload, CancellationToken ct)
        {
            var sb = new StringBuilder();
            // The reconnection delay rides on the first real event: a block of its own is dispatched by some clients
            // (httpx-sse) as an empty "message" event, which those that parse every event as JSON fail on.
            if (_sequence == 0)
                sb.Append("retry: ").Append(RetryMilliseconds).Append('\n');
            sb.Append("id: ").Append(++_sequence).Append('\n');
            sb.Append("event: ").Append(name).Append('\n');
            // Compact JSON has no raw newlines, but the framing must hold for any payload: one data line per line.
            foreach (var line in JsonSerializer.Serialize(payload, Json).Split('\n'))
                sb.Append("data: ").Append(line).Append('\n');
            sb.Append('\n');
            return RawAsync(sb.ToString(), ct);
        }

        public async Task RawAsync(string text, CancellationToken ct)
        {
            await response.WriteAsync(text, ct);
            await response.Body.FlushAsync(ct);
        }
    }
}
