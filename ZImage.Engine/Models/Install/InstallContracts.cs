namespace ZImage.Engine.Models.Install;

// The model installer in three parts that meet here: a downloader brings the official checkpoint (diffusers
// layout) into a local cache folder, a converter turns a checkpoint folder into a model folder
// (docs/model-format.md), and the install service runs both, checks the result with one small picture and makes
// it the active model. Each part reports through InstallProgress so the UI and the terminal show one bar.

/// <summary>The stage an install is in; one progress bar shows the stage name beside bytes and speed.</summary>
public enum InstallStage
{
    Download,
    Convert,
    Check,
}

/// <summary>Progress of one stage: bytes (or tensors' bytes) done out of total; Item names the file or tensor.</summary>
public sealed record InstallProgress(InstallStage Stage, long Done, long Total, string? Item = null);

/// <summary>Weight types a model folder can be written in (the text encoder and transformer follow Weights).</summary>
public enum WeightDtype
{
    Fp16,
    Bf16,
    Fp32,
}

public sealed record ConvertOptions(WeightDtype Weights = WeightDtype.Fp16, WeightDtype Vae = WeightDtype.Fp32);

/// <summary>Where the official checkpoint comes from when it is downloaded.</summary>
public enum HubKind
{
    HuggingFace,
    ModelScope,
}

/// <summary>A hub repository; Endpoint overrides the hub's default host (a mirror, or a test server).</summary>
public sealed record HubSource(HubKind Hub, string Repository = HubSource.OfficialRepository, string? Endpoint = null, string Revision = "main")
{
    public const string OfficialRepository = "Tongyi-MAI/Z-Image-Turbo";
}

/// <summary>One file of a hub repository as its listing API describes it.</summary>
public sealed record HubFile(string Path, long Size, string? Sha256);

/// <summary>What a download will fetch: every file with its size and hash, and the bytes already in the cache.</summary>
public sealed record DownloadPlan(HubSource Source, IReadOnlyList<HubFile> Files, long TotalBytes, long CachedBytes);

/// <summary>Brings a hub checkpoint into a local folder (resumable, hash-checked); returns that folder.</summary>
public interface ICheckpointDownloader
{
    Task<DownloadPlan> PlanAsync(HubSource source, string cacheRoot, CancellationToken ct);

    Task<string> DownloadAsync(DownloadPlan plan, string cacheRoot, IProgress<InstallProgress>? progress, CancellationToken ct);
}

/// <summary>Turns a checkpoint folder (diffusers layout, fp32/bf16/fp16 safetensors) into a model folder.</summary>
public interface ICheckpointConverter
{
    /// <summary>Bytes the model folder will take, so free disk can be checked before anything is written.</summary>
    long EstimateOutputBytes(string checkpointDir, ConvertOptions options);

    /// <summary>Writes into a temporary folder beside <paramref name="modelDir"/> and renames it at the end.</summary>
    Task ConvertAsync(string checkpointDir, string modelDir, ConvertOptions options, IProgress<InstallProgress>? progress, CancellationToken ct);
}
