using Microsoft.Extensions.Options;
using ZImage.Engine.Models;

namespace ZImage.Engine.Memory;

/// <summary>
/// Bytes each model part occupies once loaded (weights dominate, so file sizes are the measure), and whether the VAE
/// decoder computes in fp16 (its activations are then about half, docs/vram.md).
/// </summary>
public sealed record ModelFootprint(long TextEncoderBytes, long TransformerBytes, long VaeBytes, bool VaeHalfPrecision = false)
{
    public long TotalBytes => TextEncoderBytes + TransformerBytes + VaeBytes;

    /// <summary>
    /// The parts' sizes as the catalog read them from the model folder (files whose path names the part:
    /// text_encoder / transformer or dit / vae); a part with no files falls back to its byte setting.
    /// </summary>
    public static ModelFootprint From(VramOptions options, ModelEntry model) => new(
        model.TextEncoderBytes > 0 ? model.TextEncoderBytes : options.TextEncoderBytes,
        model.TransformerBytes > 0 ? model.TransformerBytes : options.TransformerBytes,
        model.VaeBytes > 0 ? model.VaeBytes : options.VaeBytes,
        model.VaeHalfPrecision);

    /// <summary>Reads a folder now (tests, command words); the running app asks the catalog, which read it once.</summary>
    public static ModelFootprint FromOptions(VramOptions options, string? modelDirectory) =>
        From(options, ModelEntry.Read(modelDirectory, string.IsNullOrWhiteSpace(modelDirectory) ? null : Path.GetFullPath(modelDirectory)));
}

public interface IModelFootprintSource
{
    ModelFootprint Current { get; }
}

/// <summary>
/// The footprint of the catalog's current model: no folder walk or manifest parse per call (FitsNow asks under the
/// job service's lock, many times while a job waits for memory).
/// </summary>
public sealed class OptionsModelFootprintSource(IOptionsMonitor<VramOptions> options, IModelCatalog catalog) : IModelFootprintSource
{
    public ModelFootprint Current => ModelFootprint.From(options.CurrentValue, catalog.Current);
}
