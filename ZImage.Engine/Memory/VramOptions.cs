using System.ComponentModel.DataAnnotations;

namespace ZImage.Engine.Memory;

/// <summary>
/// Section <c>ZImage:Memory</c>. The activation constants are fitted to NVML peaks of the full-size fp16 model on
/// CUDA at 512², 1024² and 1536², resident and sequential (docs/vram.md, docs/performance.md).
/// </summary>
public sealed class VramOptions
{
    public const string Section = "ZImage:Memory";

    public ResidencyPolicy Residency { get; set; } = ResidencyPolicy.Auto;

    /// <summary>NVML index of the GPU the pipeline runs on.</summary>
    [Range(0, 63)]
    public int DeviceIndex { get; set; }

    public const int MaxSafetyMarginMiB = 64 * 1024;

    /// <summary>Kept free for the driver, CUDA context and fragmentation.</summary>
    [Range(0, MaxSafetyMarginMiB)]
    public int SafetyMarginMiB { get; set; } = 1024;

    /// <summary>Used when the model folder is absent or has no file for a part (bf16 sizes from the model card).</summary>
    [Range(0, long.MaxValue)]
    public long TextEncoderBytes { get; set; } = 8_000_000_000;

    [Range(0, long.MaxValue)]
    public long TransformerBytes { get; set; } = 12_300_000_000;

    [Range(0, long.MaxValue)]
    public long VaeBytes { get; set; } = 168_000_000;

    /// <summary>Transformer activations per image token (one token = 16x16 pixels) per image, per forward.</summary>
    [Range(0, long.MaxValue)]
    public long TransformerBytesPerToken { get; set; } = 600 * 1024;

    /// <summary>Fixed transformer workspace per image (caption tokens, modulation, ORT arena slack).</summary>
    [Range(0, long.MaxValue)]
    public long TransformerBytesPerImage { get; set; } = 256L * 1024 * 1024;

    /// <summary>VAE decoder activations per output pixel (conv feature maps at full resolution dominate).</summary>
    [Range(0, long.MaxValue)]
    public long VaeBytesPerPixel { get; set; } = 4352;

    /// <summary>The VAE mid-block attends over all (H/8*W/8) latent cells: bytes per cell pair of its score matrix.</summary>
    [Range(0, long.MaxValue)]
    public long VaeAttentionBytesPerPair { get; set; } = 5;

    /// <summary>
    /// An fp16 VAE decoder's activations per output pixel. Its attention runs fused (no score matrix), so there is
    /// no term in the square of latent cells: 3.1–3.4 KB per pixel measured at 512², 1024² and 1536² on an H100.
    /// </summary>
    [Range(0, long.MaxValue)]
    public long VaeHalfBytesPerPixel { get; set; } = 3584;

    /// <summary>
    /// Lean residency: what stays allocated beside the weights while the stages take turns (CUDA context, cuDNN and
    /// cuBLAS handles, what the arenas keep): 2,221 MiB measured on an H100.
    /// </summary>
    [Range(0, long.MaxValue)]
    public long LeanFixedBytes { get; set; } = 2304L * 1024 * 1024;

    /// <summary>
    /// Text encoder workspace (512 tokens at most, so a constant), plus what does not grow with the image: the
    /// CUDA context and cuDNN/cuBLAS workspaces (the fit's constant term).
    /// </summary>
    [Range(0, long.MaxValue)]
    public long TextEncoderWorkspaceBytes { get; set; } = 4608L * 1024 * 1024;

    /// <summary>
    /// The batch of images runs as one transformer batch; false when the pipeline loops images one by one, as
    /// ZImagePipeline does (measured: the same peak for 1 and 4 images).
    /// </summary>
    public bool ImagesShareOneBatch { get; set; }
}
