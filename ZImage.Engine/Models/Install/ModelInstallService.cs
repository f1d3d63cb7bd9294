using System.Text.Json;

namespace ZImage.Engine.Models.Install;

/// <summary>Where the official checkpoint comes from: a folder already on this machine, or a hub.</summary>
public abstract record InstallSource
{
    private InstallSource()
    {
    }

    /// <summary>A checkpoint folder in the diffusers layout (model_index.json, transformer/, text_encoder/, vae/, tokenizer/).</summary>
    public sealed record Folder(string Path) : InstallSource;

    public sealed record Hub(HubSource Source) : InstallSource;

    public string Describe() => this switch
    {
        Folder f => f.Path,
        Hub { Source: var s } => $"{(s.Hub == HubKind.HuggingFace ? "Hugging Face" : "ModelScope")} {s.Repository}{(s.Endpoint is { } e ? $" via {e}" : "")}",
        _ => "",
    };
}

/// <param name="ModelDirectory">The model folder to write (absolute). It must not exist yet, or be empty.</param>
public sealed record InstallRequest(InstallSource Source, string ModelDirectory, ConvertOptions Convert);

/// <summary>
/// What an install will take, before anything is written. Estimates are stated with their basis:
/// <see cref="DownloadSpeedMeasured"/> says whether the download time comes from a speed measured on this machine.
/// </summary>
public sealed record InstallPlan(
    InstallRequest Request,
    long DownloadBytes,
    long CachedBytes,
    long OutputBytes,
    long FreeBytes,
    double DownloadBytesPerSecond,
    bool DownloadSpeedMeasured,
    double ConvertBytesPerSecond,
    DownloadPlan? Download = null)
{
    /// <summary>Bytes still to fetch (the cache keeps what an earlier install fetched).</summary>
    public long ToDownloadBytes => Math.Max(0, DownloadBytes - CachedBytes);

    /// <summary>Disk the install needs: what is not yet in the cache plus the converted model folder.</summary>
    public long DiskNeededBytes => ToDownloadBytes + OutputBytes;

    public bool EnoughDisk => FreeBytes >= DiskNeededBytes;

    public TimeSpan DownloadTime => TimeSpan.FromSeconds(ToDownloadBytes / DownloadBytesPerSecond);

    /// <summary>Converting reads the checkpoint and writes the folder; it is bound by the disk.</summary>
    public TimeSpan ConvertTime => TimeSpan.FromSeconds(OutputBytes / ConvertBytesPerSecond);

    public TimeSpan TotalTime => DownloadTime + ConvertTime + InstallOptions.CheckAllowance;
}

public enum InstallState
{
    Idle,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

/// <summary>
/// The one progress stream of an install, for the Settings page and the install-model command alike: stage, bytes
/// done of total, speed over the last seconds, and the time left in this stage.
/// </summary>
public sealed record InstallStatus(
    InstallState State,
    InstallStage? Stage = null,
    long Done = 0,
    long Total = 0,
    double BytesPerSecond = 0,
    TimeSpan? Eta = null,
    string? Item = null,
    string? Message = null,
    InstallPlan? Plan = null,
    string? ModelDirectory = null,
    string? ReasonKey = null)
{
    /// <summary>
    /// Why a failed install stopped, as a stable key the page translates (install.reason.{key}): "hub.Unreachable",
    /// "convert.Fp16Overflow", "disk", "check"…; <see cref="Message"/> has the engine's sentence with the details.
    /// </summary>
    public static string ReasonOf(Exception e) => e switch
    {
        InstallRefusedException r => r.Reason,
        InstallCheckFailedException => "check",
        Hub.HubDownloadException h => $"hub.{h.Failure}",
        ConvertException c => $"convert.{c.Failure}",
        HttpRequestException => "hub.Unreachable",
        _ => "other",
    };

    public static readonly InstallStatus Idle = new(InstallState.Idle);

    public double Fraction => Total > 0 ? Math.Clamp((double)Done / Total, 0, 1) : 0;
    public bool IsRunning => State == InstallState.Running;
}

/// <summary>An install the service refused before starting (another one runs, not enough disk, the folder exists).</summary>
/// <param name="Reason">A short stable word for the page to translate: source, busy, target or disk.</param>
public sealed class InstallRefusedException(string reason, string message) : Exception(message)
{
    public string Reason { get; } = reason;
}

/// <summary>Makes one small picture with a new model folder and says in plain words what is wrong with it, if anything.</summary>
public interface IInstallCheck
{
    /// <returns>Problems found (empty: the folder works).</returns>
    Task<IReadOnlyList<string>> CheckAsync(string modelDirectory, CancellationToken ct);
}

/// <summary>Makes a checked model folder the studio's active model, without a restart (the app saves its settings).</summary>
public interface IModelActivator
{
    Task ActivateAsync(string modelDirectory, CancellationToken ct);
}

public interface IDiskSpace
{
    /// <summary>Free bytes on the drive that holds <paramref name="path"/> (which may not exist yet).</summary>
    long FreeBytes(string path);
}

public sealed class DriveDiskSpace : IDiskSpace
{
    public long FreeBytes(string path)
    {
        var dir = new DirectoryInfo(Path.GetFullPath(path));
        while (dir is not null && !dir.Exists)
            dir = dir.Parent;
        return dir is null ? 0 : new DriveInfo(dir.FullName).AvailableFreeSpace;
    }
}

public sealed class InstallOptions
{
    /// <summary>
    /// Assumed until this machine has measured a download: 20 MB/s, a good home line. It is a guess, and the page and
    /// the command say so; the speed measured during a download replaces it, for that install and the next plan.
    /// </summary>
    public const double AssumedDownloadBytesPerSecond = 20e6;

    /// <summary>
    /// Assumed conversion speed: 150 MB/s of model written, i.e. reading bf16 shards and writing fp16 weights on an
    /// ordinary SSD. Not measured here (no full-size checkpoint on this machine); the page calls it an estimate.
    /// </summary>
    public const double AssumedConvertBytesPerSecond = 150e6;

    /// <summary>The test picture: 256², 2 steps; a minute is generous on a GPU, loading included.</summary>
    public static readonly TimeSpan CheckAllowance = TimeSpan.FromMinutes(1);

    /// <summary>
    /// Downloads land here and are reused by the next install: ZImage:Install:Hub:CacheDirectory (HubOptions), resolved
    /// against the content root, so the app and <c>dotnet run --project ZImage.Web -- install-model</c> share it.
    /// </summary>
    public required string CacheDirectory { get; init; }

    /// <summary>One JSON line per finished install (succeeded, failed with its reason, cancelled).</summary>
    public string? HistoryFile { get; init; }
}

/// <summary>
/// Source → plan → free-disk check → download → convert → one test picture → the active model. One install at a
/// time; cancellable; every state change goes out through <see cref="Changed"/> (and the caller's progress), so the
/// page and the terminal show the same bar. The model folder is written by the converter into a temporary folder and
/// renamed at the end, so a failed or cancelled install never leaves a half-written model folder.
/// </summary>
public sealed class ModelInstallService
{
    private readonly ICheckpointDownloader _downloader;
    private readonly ICheckpointConverter _converter;
    private readonly IInstallCheck _check;
    private readonly IModelActivator? _activator;
    private readonly IDiskSpace _disk;
    private readonly InstallOptions _options;
    private readonly TimeProvider _clock;
    private readonly SemaphoreSlim _one = new(1, 1);
    private readonly Lock _gate = new();
    private CancellationTokenSource? _running;
    private InstallStatus _status = InstallStatus.Idle;
    private double? _measuredDownloadBytesPerSecond;

    public ModelInstallService(ICheckpointDownloader downloader, ICheckpointConverter converter, IInstallCheck check,
        IModelActivator? activator, IDiskSpace disk, InstallOptions options, TimeProvider clock)
    {
        _downloader = downloader;
        _converter = converter;
        _check = check;
        _activator = activator;
        _disk = disk;
        _options = options;
        _clock = clock;
    }

    public InstallStatus Status
    {
        get
        {
            lock (_gate)
                return _status;
        }
    }

    public event Action<InstallStatus>? Changed;

    public async Task<InstallPlan> PlanAsync(InstallRequest request, CancellationToken ct)
    {
        long download = 0, cached = 0, output;
        DownloadPlan? files = null;
        switch (request.Source)
        {
            case InstallSource.Folder folder:
                if (!Directory.Exists(folder.Path))
                    throw new InstallRefusedException("source", $"the checkpoint folder {folder.Path} does not exist");
                output = _converter.EstimateOutputBytes(folder.Path, request.Convert);
                break;
            case InstallSource.Hub hub:
                files = await _downloader.PlanAsync(hub.Source, _options.CacheDirectory, ct);
                download = files.TotalBytes;
                cached = files.CachedBytes;
                output = EstimateOutputFromListing(files.Files, request.Convert);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(request));
        }
        // Output and cache may sit on different drives; the drive with less room decides.
        var free = Math.Min(_disk.FreeBytes(request.ModelDirectory), request.Source is InstallSource.Hub ? _disk.FreeBytes(_options.CacheDirectory) : long.MaxValue);
        var measured = _measuredDownloadBytesPerSecond;
        return new InstallPlan(request, download, cached, output, free,
            measured ?? InstallOptions.AssumedDownloadBytesPerSecond, measured is not null, InstallOptions.AssumedConvertBytesPerSecond, files);
    }

    /// <summary>
    /// Before the download the converter cannot look at the checkpoint, so the listing decides: the weight shards
    /// (2-byte bf16 in the official release) become fp16 or bf16 of the same size; an fp32 VAE doubles its part.
    /// </summary>
    internal static long EstimateOutputFromListing(IReadOnlyList<HubFile> files, ConvertOptions options)
    {
        long total = 0;
        foreach (var f in files.Where(f => f.Path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase)))
        {
            var factor = f.Path.StartsWith("vae/", StringComparison.Ordinal)
                ? options.Vae == WeightDtype.Fp32 ? 2.0 : 1.0
                : options.Weights == WeightDtype.Fp32 ? 2.0 : 1.0;
            total += (long)(f.Size * factor);
        }
        var tokenizer = files.Where(f => f.Path.StartsWith("tokenizer/", StringComparison.Ordinal)).Sum(f => f.Size);
        return total + tokenizer;
    }

    /// <summary>Runs the whole install; throws <see cref="InstallRefusedException"/> when it cannot start.</summary>
    public async Task<InstallStatus> InstallAsync(InstallRequest request, IProgress<InstallStatus>? progress, CancellationToken ct)
    {
        if (!_one.Wait(0))
            throw new InstallRefusedException("busy", "another model install is running: wait for it or cancel it first");
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(ct);
        lock (_gate)
            _running = cancel;
        var started = _clock.GetTimestamp();
        InstallPlan? plan = null;
        InstallStatus final;
        try
        {
            if (Directory.Exists(request.ModelDirectory) && Directory.EnumerateFileSystemEntries(request.ModelDirectory).Any())
                throw new InstallRefusedException("target", $"the folder {request.ModelDirectory} already holds files: choose a new folder, or remove that one first");
            plan = await PlanAsync(request, cancel.Token);
            if (!plan.EnoughDisk)
                throw new InstallRefusedException("disk",
                    $"not enough free disk: the install needs {Gb(plan.DiskNeededBytes)} ({Gb(plan.ToDownloadBytes)} to download, {Gb(plan.OutputBytes)} for the model folder) and {Gb(plan.FreeBytes)} is free");

            var checkpoint = request.Source switch
            {
                InstallSource.Folder f => f.Path,
                InstallSource.Hub => await DownloadAsync(plan, progress, cancel.Token),
                _ => throw new ArgumentOutOfRangeException(nameof(request)),
            };

            var converting = new StageTracker(this, plan, InstallStage.Convert, progress, _clock);
            converting.Report(new InstallProgress(InstallStage.Convert, 0, plan.OutputBytes));
            await _converter.ConvertAsync(checkpoint, request.ModelDirectory, request.Convert, converting, cancel.Token);

            Publish(new InstallStatus(InstallState.Running, InstallStage.Check, 0, 1, Message: "making a 256×256 test picture", Plan: plan), progress);
            var problems = await _check.CheckAsync(request.ModelDirectory, cancel.Token);
            if (problems.Count > 0)
                throw new InstallCheckFailedException($"the new model folder {request.ModelDirectory} was written but its test picture failed: {string.Join("; ", problems)}");

            if (_activator is not null)
                await _activator.ActivateAsync(request.ModelDirectory, cancel.Token);
            var seconds = _clock.GetElapsedTime(started).TotalSeconds;
            final = new InstallStatus(InstallState.Succeeded, InstallStage.Check, 1, 1,
                Message: _activator is null
                    ? $"the model is installed in {request.ModelDirectory} and its test picture is fine ({seconds:F0} s)"
                    : $"the model is installed in {request.ModelDirectory}, its test picture is fine, and it is now the active model ({seconds:F0} s)",
                Plan: plan, ModelDirectory: request.ModelDirectory);
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            final = new InstallStatus(InstallState.Cancelled, Status.Stage, Message: "cancelled: no model folder was made and the active model is unchanged; downloaded files stay in the cache for next time", Plan: plan);
        }
        catch (Exception e) when (e is InstallRefusedException or InstallCheckFailedException or Hub.HubDownloadException or ConvertException or IOException
                                      or UnauthorizedAccessException or InvalidDataException or HttpRequestException or ModelFolderException
                                      or InvalidOperationException)
        {
            final = new InstallStatus(InstallState.Failed, Status.Stage, Message: Sentence(e), Plan: plan, ReasonKey: InstallStatus.ReasonOf(e));
        }
        finally
        {
            lock (_gate)
                _running = null;
        }
        Publish(final, progress);
        Record(request, final);
        _one.Release();
        return final;
    }

    /// <summary>Cancels the running install, if any; the install itself reports Cancelled.</summary>
    public bool Cancel()
    {
        lock (_gate)
        {
            if (_running is null)
                return false;
            _running.Cancel();
            return true;
        }
    }

    private async Task<string> DownloadAsync(InstallPlan plan, IProgress<InstallStatus>? progress, CancellationToken ct)
    {
        var tracker = new StageTracker(this, plan, InstallStage.Download, progress, _clock);
        var files = plan.Download!;
        tracker.Report(new InstallProgress(InstallStage.Download, files.CachedBytes, files.TotalBytes));
        var folder = await _downloader.DownloadAsync(files, _options.CacheDirectory, tracker, ct);
        if (tracker.MeasuredBytesPerSecond is { } speed)
            _measuredDownloadBytesPerSecond = speed;
        return folder;
    }

    private void Publish(InstallStatus status, IProgress<InstallStatus>? progress)
    {
        lock (_gate)
            _status = status;
        progress?.Report(status);
        Changed?.Invoke(status);
    }

    private void Record(InstallRequest request, InstallStatus final)
    {
        if (_options.HistoryFile is not { } file)
            return;
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(file))!);
            var line = JsonSerializer.Serialize(new
            {
                at = _clock.GetUtcNow(),
                state = final.State.ToString(),
                source = request.Source.Describe(),
                model_directory = request.ModelDirectory,
                reason = final.Message,
            });
            File.AppendAllText(file, line + "\n");
        }
        catch (IOException)
        {
            // The outcome is still on the page and in the log; a full disk must not turn it into another failure.
        }
    }

    private static string Sentence(Exception e) => e switch
    {
        HttpRequestException h => $"the download failed: {h.Message}",
        _ => e.Message,
    };

    private static string Gb(long bytes) => $"{bytes / 1e9:0.0} GB";

    /// <summary>Turns one part's byte counts into the stream's status: speed over a few seconds and time left in the stage.</summary>
    private sealed class StageTracker(ModelInstallService owner, InstallPlan plan, InstallStage stage, IProgress<InstallStatus>? progress, TimeProvider clock)
        : IProgress<InstallProgress>
    {
        private static readonly TimeSpan Window = TimeSpan.FromSeconds(5);
        private readonly Queue<(long At, long Done)> _samples = new();
        private long _firstDone = -1;
        private long _firstAt;
        private long _lastDone;
        private long _lastAt;

        public double? MeasuredBytesPerSecond
        {
            get
            {
                var seconds = clock.GetElapsedTime(_firstAt, _lastAt).TotalSeconds;
                return _firstDone >= 0 && seconds >= 1 && _lastDone > _firstDone ? (_lastDone - _firstDone) / seconds : null;
            }
        }

        public void Report(InstallProgress value)
        {
            var now = clock.GetTimestamp();
            if (_firstDone < 0)
                (_firstDone, _firstAt) = (value.Done, now);
            (_lastDone, _lastAt) = (value.Done, now);
            _samples.Enqueue((now, value.Done));
            while (_samples.Count > 2 && clock.GetElapsedTime(_samples.Peek().At, now) > Window)
                _samples.Dequeue();
            var (oldAt, oldDone) = _samples.Peek();
            var seconds = clock.GetElapsedTime(oldAt, now).TotalSeconds;
            var speed = seconds > 0 ? Math.Max(0, value.Done - oldDone) / seconds : 0;
            var assumed = stage == InstallStage.Download ? plan.DownloadBytesPerSecond : plan.ConvertBytesPerSecond;
            var remaining = Math.Max(0, value.Total - value.Done);
            var eta = TimeSpan.FromSeconds(remaining / (speed > 0 ? speed : assumed));
            owner.Publish(new InstallStatus(InstallState.Running, stage, value.Done, value.Total, speed, eta, value.Item, Plan: plan), progress);
        }
    }
}

/// <summary>The folder was written but its test picture failed: it is not made the active model.</summary>
public sealed class InstallCheckFailedException(string message) : Exception(message);
