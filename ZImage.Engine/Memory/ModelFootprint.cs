using Microsoft.Extensions.Options;

namespace ZImage.Engine.Memory;

/// <summary>Bytes each model part occupies once loaded (weights dominate, so file sizes are the measure).</summary>
public sealed record ModelFootprint(long TextEncoderBytes, long TransformerBytes, long VaeBytes)
{
    public long TotalBytes => TextEncoderBytes + TransformerBytes + VaeBytes;

    /// <summary>
    /// Sums the files under <see cref="VramOptions.ModelDirectory"/> whose path names the part
    /// (text_encoder / transformer or dit / vae: weights may be split into .onnx + .onnx.data);
    /// a part with no files falls back to its byte setting.
    /// </summary>
    public static ModelFootprint FromOptions(VramOptions options)
    {
        long te = 0, dit = 0, vae = 0;
        if (!string.IsNullOrWhiteSpace(options.ModelDirectory) && Directory.Exists(options.ModelDirectory))
        {
            foreach (var file in Directory.EnumerateFiles(options.ModelDirectory, "*", SearchOption.AllDirectories))
            {
                var rel = Path.GetRelativePath(options.ModelDirectory, file).ToLowerInvariant();
                long size = new FileInfo(file).Length;
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
            vae > 0 ? vae : options.VaeBytes);
    }
}

public interface IModelFootprintSource
{
    ModelFootprint Current { get; }
}

/// <summary>Re-reads the model folder when the options change (the Settings page can switch folders).</summary>
public sealed class OptionsModelFootprintSource(IOptionsMonitor<VramOptions> options) : IModelFootprintSource
{
    public ModelFootprint Current => ModelFootprint.FromOptions(options.CurrentValue);
}
