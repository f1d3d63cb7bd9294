using System.Collections.Immutable;
using Microsoft.AspNetCore.Components.Web;
using ZImage.Engine.History;
using ZImage.Engine.Imaging;
using ZImage.Engine.Jobs;
using ZImage.Engine.Pipeline;
using ZImage.Web.Ui.Identity;
using ZImage.Web.Ui.Images;
using ZImage.Web.Ui.Settings;

namespace ZImage.Web.Ui.Generate;

/// <summary>A job as the Generate tab shows it; replaced whole on every event so renders never see half an update.</summary>
public sealed record JobView(
    string Id,
    JobStatus Status,
    GenerationRequest Request,
    DateTimeOffset SubmittedAt,
    int? Position = null,
    TimeSpan? Eta = null,
    int ImageIndex = 0,
    int ImageCount = 1,
    int Step = 0,
    int TotalSteps = 0,
    string? PreviewDataUrl = null,
    string? Error = null,
    string? Notice = null)
{
    /// <summary>The job's pictures saved so far, in order: a running job shows each one as soon as it is done.</summary>
    public IReadOnlyList<long> ImageIds { get; init; } = [];

    /// <summary>Running before its first step on a card that loads the model for it: the measured cold start.</summary>
    public TimeSpan? ModelLoad { get; init; }

    public double Fraction => TotalSteps <= 0 ? 0 : (ImageIndex * TotalSteps + Step) / (double)(Math.Max(1, ImageCount) * TotalSteps);

    public bool IsActive => !Status.IsFinal();

    /// <summary>
    /// Snapshots (from submit or a fetch) and events race: the worker can start a job before SubmitAsync returns.
    /// A snapshot only replaces what we have when it is further along, so a late snapshot never rewinds progress.
    /// </summary>
    public static JobView Furthest(JobView current, JobView snapshot) =>
        Rank(snapshot) > Rank(current) || (Rank(snapshot) == Rank(current) && snapshot.Fraction > current.Fraction) ? snapshot : current;

    private static int Rank(JobView v) => v.Status switch
    {
        JobStatus.Queued => 0,
        JobStatus.Running => 1,
        _ => 2,
    };

    public static JobView From(JobSnapshot job) => new(
        job.Id, job.Status, job.Request, job.SubmittedAt, job.Position,
        job.Status == JobStatus.Queued ? job.EtaStart : job.EtaFinish,
        job.Progress?.ImageIndex ?? 0, job.Progress?.ImageCount ?? job.Request.Count,
        job.Progress?.Step ?? 0, job.Progress?.TotalSteps ?? job.Request.Steps,
        job.Progress?.Preview is { } preview ? PreviewImage.ToDataUrl(preview.Image) : null,
        job.Error, job.Notice)
    {
        ImageIds = job.ImageIds,
        ModelLoad = job.ModelLoad,
    };
}

/// <summary>
/// The Generate tab of one browser session: the form, this person's jobs with live progress, and their latest
/// pictures. It lives as long as the circuit (scoped), so switching tabs keeps the form and progress keeps
/// arriving. Updates come from <see cref="IJobService.WatchMineAsync"/> on this session's own task (never on the GPU
/// worker's thread, so encoding previews costs the worker nothing): state is swapped under a lock and
/// <see cref="Changed"/> tells components to re-render through their own dispatcher.
/// </summary>
public sealed class GenerateSession : IDisposable
{
    public const int RecentResults = 12;
    private const int KeptFinishedJobs = 4;

    private readonly IJobService _jobs;
    private readonly IHistoryService _history;
    private readonly UiUser _user;
    private readonly Lock _gate = new();
    private ImmutableList<JobView> _jobViews = [];
    private IReadOnlyList<ImageRecord> _results = [];
    private CancellationTokenSource? _watching;
    private string? _attachedUser;

    public GenerateSession(IJobService jobs, IHistoryService history, UiUser user, NewPictureDefaults defaults)
    {
        _jobs = jobs;
        _history = history;
        _user = user;
        Form = new GenerateForm(defaults.Current);
    }

    /// <summary>Starts from the defaults for new pictures saved in Settings.</summary>
    public GenerateForm Form { get; }

    /// <summary>Newest first: unfinished jobs and the last few finished ones.</summary>
    public IReadOnlyList<JobView> Jobs => _jobViews;

    public IReadOnlyList<ImageRecord> Results => _results;

    public IReadOnlyList<FormProblem> Problems { get; private set; } = [];

    /// <summary>Why the last submit was not queued, as the engine explained it; null after a success.</summary>
    public SubmitResult? Refusal { get; private set; }

    /// <summary>A failure talking to the engine (not a refusal): a text key, shown as a sentence, never a stack trace.</summary>
    public string? FailureKey { get; private set; }

    /// <summary>The engine's own words for <see cref="FailureKey"/>, when it had any.</summary>
    public string? FailureDetail { get; private set; }

    public bool Submitting { get; private set; }

    public event Action? Changed;

    /// <summary>Subscribes to this person's job events and loads their unfinished jobs and latest pictures.</summary>
    public async Task AttachAsync(CancellationToken ct = default)
    {
        if (!_user.HasName || _attachedUser == _user.Name)
            return;
        _watching?.Cancel();
        _watching = new CancellationTokenSource();
        _attachedUser = _user.Name;
        lock (_gate)
            _jobViews = [];
        _ = WatchAsync(_user.Caller, _watching.Token);
        await RunSafelyAsync(async () =>
        {
            var mine = await _jobs.ListMineAsync(_user.Caller, 20, ct);
            lock (_gate)
            {
                var unfinished = mine.Where(j => !j.Status.IsFinal()).Select(JobView.From);
                var finished = mine.Where(j => j.Status.IsFinal()).Take(KeptFinishedJobs).Select(JobView.From);
                _jobViews = unfinished.Concat(finished)
                    .Concat(_jobViews.Where(v => mine.All(m => m.Id != v.Id)))
                    .OrderByDescending(v => v.SubmittedAt).ToImmutableList();
            }
            if (mine.FirstOrDefault(j => j.Status == JobStatus.Succeeded) is { } last)
                Form.LastSeed ??= last.Request.Seed;
            await RefreshResultsAsync(ct);
        });
    }

    /// <summary>
    /// A double-click (or a held Ctrl+Enter) is one request from the person: clicks this soon after an accepted job
    /// are the same burst and make no second job. Long enough for a double-click, short enough not to be noticed.
    /// </summary>
    public static readonly TimeSpan ClickBurst = TimeSpan.FromMilliseconds(800);

    private long? _acceptedAt;

    public async Task<bool> SubmitAsync(CancellationToken ct = default)
    {
        if (Submitting || (_acceptedAt is { } at && System.Diagnostics.Stopwatch.GetElapsedTime(at) < ClickBurst))
            return false;
        Problems = Form.Check();
        Refusal = null;
        (FailureKey, FailureDetail) = (null, null);
        if (Problems.Count > 0 || !_user.HasName)
        {
            Changed?.Invoke();
            return false;
        }
        Submitting = true;
        Changed?.Invoke();
        var accepted = false;
        try
        {
            await RunSafelyAsync(async () =>
            {
                // One key per click: a retried or doubled request for this click never makes two jobs.
                var result = await _jobs.SubmitAsync(Form.ToJobRequest(Guid.NewGuid().ToString("N")), _user.Caller, ct);
                if (result.Job is { } job)
                {
                    accepted = true;
                    _acceptedAt = System.Diagnostics.Stopwatch.GetTimestamp();
                    Upsert(job.Id, v => JobView.Furthest(v, JobView.From(job)), () => JobView.From(job));
                }
                else
                {
                    Refusal = result;
                }
            });
        }
        finally
        {
            Submitting = false;
            Changed?.Invoke();
        }
        return accepted;
    }

    /// <summary>Ctrl+Enter (Cmd+Enter on a Mac) anywhere in the form generates.</summary>
    public Task<bool> HandleKeyAsync(KeyboardEventArgs e) =>
        e.Key == "Enter" && (e.CtrlKey || e.MetaKey) ? SubmitAsync() : Task.FromResult(false);

    public Task CancelAsync(string jobId) => RunSafelyAsync(async () =>
    {
        var outcome = await _jobs.CancelAsync(jobId, _user.Caller);
        if (outcome is CancelOutcome.NotFound or CancelOutcome.NotAllowed)
            (FailureKey, FailureDetail) = ("gen.failure.cancelNotAllowed", null);
        Changed?.Invoke();
    });

    /// <summary>What the last dropped PNG did: a text key (loaded, no settings, not a PNG); null before any drop.</summary>
    public string? DropResultKey { get; private set; }

    /// <summary>
    /// A PNG dropped on the page: ZImage's own settings chunk when present, else its AUTOMATIC1111 text. The form takes
    /// every setting it carries (sizes snapped, ranges clamped); the image count stays as it was.
    /// </summary>
    public void LoadDroppedPng(byte[] png)
    {
        GenerationParameters? parameters;
        try
        {
            parameters = GenerationPng.ReadParameters(new MemoryStream(png));
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException or System.Text.Json.JsonException)
        {
            DropResultKey = "gen.png.notPng";
            Changed?.Invoke();
            return;
        }
        if (parameters is null)
        {
            DropResultKey = "gen.png.noSettings";
        }
        else
        {
            Form.LoadFrom(parameters.ApplyTo(Form.ToSettings()), includeSeed: parameters.Seed is not null);
            DropResultKey = "gen.png.loaded";
        }
        Changed?.Invoke();
    }

    /// <summary>Reloads the latest pictures (after a favourite or a delete elsewhere).</summary>
    public Task RefreshAsync() => RunSafelyAsync(() => RefreshResultsAsync(CancellationToken.None));

    public void DismissMessages()
    {
        Refusal = null;
        (FailureKey, FailureDetail) = (null, null);
        Problems = [];
        Changed?.Invoke();
    }

    /// <summary>Applies this person's job updates until the session ends or another person attaches.</summary>
    private async Task WatchAsync(Caller caller, CancellationToken ct)
    {
        try
        {
            await foreach (var update in _jobs.WatchMineAsync(caller, ct))
            {
                if (update.Snapshot is { } snapshot)
                {
                    // AttachAsync lists the same jobs; a snapshot only moves a view forward, never back.
                    Upsert(snapshot.Id, v => JobView.Furthest(v, JobView.From(snapshot)), null);
                    Changed?.Invoke();
                }
                else if (update.Event is { } e)
                {
                    OnEvent(e);
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            (FailureKey, FailureDetail) = ("gen.failure.engine", e.Message);
            Changed?.Invoke();
        }
    }

    private void OnEvent(JobEvent e)
    {
        switch (e)
        {
            case JobQueued q:
                Upsert(q.JobId, v => v with { Status = JobStatus.Queued, Position = q.Position, Eta = q.EtaStart, Notice = q.Notice }, null);
                break;
            case JobStarted s:
                Upsert(s.JobId, v => v with { Status = JobStatus.Running, Position = null, Eta = s.EtaFinish, Notice = null, ModelLoad = s.ModelLoad }, null);
                break;
            case JobStep step:
                var preview = step.Preview is { } p ? PreviewImage.ToDataUrl(p.Image) : null;
                Upsert(step.JobId, v => v with
                {
                    Status = JobStatus.Running,
                    Position = null,
                    ImageIndex = step.ImageIndex,
                    ImageCount = step.ImageCount,
                    Step = step.Step,
                    TotalSteps = step.TotalSteps,
                    Eta = step.Eta,
                    PreviewDataUrl = preview ?? v.PreviewDataUrl,
                }, null);
                break;
            case JobImageSaved saved:
                Upsert(saved.JobId, v => v with { ImageIds = [.. v.ImageIds.Where(id => id != saved.ImageId), saved.ImageId] }, null);
                // Picture 1 joins the results while picture 2 is made.
                _ = RunSafelyAsync(() => RefreshResultsAsync(CancellationToken.None));
                break;
            case JobSucceeded f:
                Upsert(f.JobId, v =>
                {
                    Form.LastSeed = v.Request.Seed;
                    return v with { Status = JobStatus.Succeeded, ImageIds = f.ImageIds, Step = v.TotalSteps, ImageIndex = Math.Max(0, v.ImageCount - 1), Eta = null, Notice = f.Notice };
                }, null);
                // Not awaited: updates keep flowing while the database answers; errors become FailureKey.
                _ = RunSafelyAsync(() => RefreshResultsAsync(CancellationToken.None));
                break;
            case JobFailed failed:
                Upsert(failed.JobId, v => v with { Status = JobStatus.Failed, Error = failed.Reason, Eta = null }, null);
                break;
            case JobCancelled c:
                Upsert(c.JobId, v => v with { Status = JobStatus.Cancelled, Eta = null, Position = null }, null);
                break;
        }
        Changed?.Invoke();
    }

    /// <summary>Jobs this session has not seen (made through the API, say) are fetched and added.</summary>
    private void Upsert(string jobId, Func<JobView, JobView> update, Func<JobView>? create)
    {
        var missing = false;
        lock (_gate)
        {
            var index = _jobViews.FindIndex(v => v.Id == jobId);
            if (index >= 0)
                _jobViews = _jobViews.SetItem(index, update(_jobViews[index]));
            else if (create is not null)
                _jobViews = _jobViews.Insert(0, create());
            else
                missing = true;
            Trim();
        }
        if (missing && _user.HasName)
        {
            _ = RunSafelyAsync(async () =>
            {
                if (await _jobs.GetAsync(jobId, _user.Caller) is { } job)
                {
                    Upsert(job.Id, v => JobView.Furthest(v, JobView.From(job)), () => JobView.From(job));
                    Changed?.Invoke();
                }
            });
        }
    }

    private void Trim()
    {
        var finished = _jobViews.Where(v => !v.IsActive).Skip(KeptFinishedJobs).ToList();
        if (finished.Count > 0)
            _jobViews = _jobViews.RemoveRange(finished);
    }

    private async Task RefreshResultsAsync(CancellationToken ct)
    {
        if (!_user.HasName)
            return;
        var page = await _history.QueryAsync(new HistoryQuery { Viewer = _user.Caller, UserName = _user.Name, PageSize = RecentResults }, ct);
        _results = page.Items;
        Changed?.Invoke();
    }

    private async Task RunSafelyAsync(Func<Task> action)
    {
        try
        {
            await action();
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception e)
        {
            // A designer gets a sentence; the log (through the engine) has the details.
            (FailureKey, FailureDetail) = ("gen.failure.engine", e.Message);
            Changed?.Invoke();
        }
    }

    public void Dispose()
    {
        _watching?.Cancel();
        _watching?.Dispose();
    }
}
