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
    /// Sums the files under the model folder (ZImage:Engine:ModelDirectory) whose path names the part
    /// (text_encoder / transformer or dit / vae: weights may be split into .onnx + .onnx.data);
    /// a part with no files falls back to its byte setting.
    /// </summary>
    public static ModelFootprint FromOptions(VramOptions options, string? modelDirectory)
    {
        long te = 0, dit = 0, vae = 0;
        if (!string.IsNullOrWhiteSpace(modelDirectory) && Directory.Exists(modelDirectory))
        {
            foreach (var file in Directory.EnumerateFiles(modelDirectory, "*", SearchOption.AllDirectories))
            {
                var rel = Path.GetRelativePath(modelDirectory, file).ToLowerInvariant();
                long size = ModelFolder.FileLength(file) ?? 0;
                if (rel.Contains("text_encoder") || rel.Contains("text-encoder"))
                    te += size;
                else if (rel.Contains("transformer") || rel.Contains("dit"))
                    dit += size;
                else if (rel.Contains("vae"))
                    vae += size;
            }
        }

        return new ModelFootprint(
            te > 0 ? te : options.TextEncoderBytes,
            dit > 0 ? dit : options.TransformerBytes,
            vae > 0 ? vae : options.VaeBytes,
            VaeDtypeIsFp16(modelDirectory));
    }

    /// <summary>The manifest's VAE dtype (ModelManifest.VaeDtype); false when there is none or it cannot be read.</summary>
    private static bool VaeDtypeIsFp16(string? modelDirectory)
    {
        if (string.IsNullOrWhiteSpace(modelDirectory))
            return false;
        var manifest = Path.Combine(modelDirectory, ModelManifest.ManifestFileName);
        try
        {
            return ModelManifest.Parse(File.ReadAllText(manifest), manifest).VaeDtype == "fp16";
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ModelFolderException)
        {
            return false; // the model folder check reports a broken manifest; the estimate stays on the safe side
        }
    }
}

public interface IModelFootprintSource
{
    ModelFootprint Current { get; }
}
