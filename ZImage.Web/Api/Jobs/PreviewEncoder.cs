using ZImage.Engine.Imaging;

namespace ZImage.Web.Api.Jobs;

/// <summary>Step previews as PNG for SSE and /sdapi/v1/progress; scaled down first so each event stays a few KiB.</summary>
public sealed class PreviewEncoder
{
    public string ToDataUrl(RgbImage preview, int maxSide) =>
        "data:image/png;base64," + Convert.ToBase64String(EncodePng(Thumbnail.Create(preview, maxSide)));

    public byte[] EncodePng(RgbImage image) => PngCodec.Encode(image);
}
