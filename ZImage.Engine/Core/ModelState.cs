namespace ZImage.Engine.Core;

public enum ModelState
{
    Unknown,
    NotInstalled,
    Loading,
    Ready,
    /// <summary>Healthy but released after idle minutes (GPU memory free); the next job loads it again.</summary>
    Unloaded,
    Error,
}

/// <summary>
/// The pipeline's model state as seen from outside. The jobs room registers a default that says
/// <see cref="ModelState.Unknown"/>; the pipeline registers the real one.
/// </summary>
public interface IModelStatus
{
    ModelState State { get; }
    /// <summary>A sentence for the status bar, e.g. "model loading…" or "Z-Image-Turbo, CUDA".</summary>
    string? Detail { get; }

    /// <summary>
    /// While the model is not in memory (never loaded, unloaded after idle, or loading now): the measured cold start
    /// the next job waits for, so its ETA and the status bar can say "loading the model (≈ N s)". Null when the model is
    /// loaded or no load was measured yet.
    /// </summary>
    TimeSpan? LoadEstimate => null;
}
