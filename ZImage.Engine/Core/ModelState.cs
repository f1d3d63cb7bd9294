namespace ZImage.Engine.Core;

public enum ModelState
{
    Unknown,
    NotInstalled,
    Loading,
    Ready,
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
}
