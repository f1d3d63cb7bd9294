using System.Globalization;
using System.IO.Compression;
using System.Text;
using System.Text.Json;
using ZImage.Engine.History;
using ZImage.Engine.Imaging;

namespace ZImage.Engine.Jobs.Batches;

/// <summary>
/// A finished batch as one ZIP: every picture, <c>manifest.csv</c> (file, line, prompt, negative, style, seed and the
/// other settings as JSON) and <c>contact-sheet.png</c> (a grid of thumbnails drawn with our PNG codec). Written to a
/// temporary file and renamed, so a download never sees half a ZIP; built once per batch and kept in the data folder.
/// </summary>
public sealed class BatchArchive(IHistoryService history, string directory)
{
    public const string ManifestName = "manifest.csv";
    public const string ContactSheetName = "contact-sheet.png";
    /// <summary>Sheet cells: big enough to tell pictures apart, small enough that 4,000 pictures stay a sane PNG.</summary>
    public const int MaxColumns = 16;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly SemaphoreSlim _gate = new(1, 1);

    /// <summary>The ZIP's path, building it on first request.</summary>
    public async Task<string> GetOrBuildAsync(BatchSnapshot batch, CancellationToken ct = default)
    {
        Directory.CreateDirectory(directory);
        string path = Path.Combine(directory, $"{batch.Id}.zip");
        await _gate.WaitAsync(ct);
        try
        {
            if (File.Exists(path))
                return path;
            string temporary = path + ".tmp";
            await using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
                await WriteAsync(batch, file, ct);
            File.Move(temporary, path, overwrite: true);
            return path;
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task WriteAsync(BatchSnapshot batch, Stream output, CancellationToken ct)
    {
        using var zip = new ZipArchive(output, ZipArchiveMode.Create, leaveOpen: true);
        var manifest = new StringBuilder(Csv.Line("file", "line", "prompt", "negative", "style", "seed", "settings")).Append('\n');
        var thumbnails = new List<RgbImage>();
        for (int i = 0; i < batch.Items.Count; i++)
        {
            var item = batch.Items[i];
            foreach (var imageId in batch.ImageIds[i])
            {
                ct.ThrowIfCancellationRequested();
                if (await history.GetImageAsync(imageId, ct) is not { } image || !File.Exists(image.FilePath))
                    continue;
                string name = $"{i + 1:00000}-{(item.Settings.Style.Length > 0 ? item.Settings.Style : "none")}-{image.Seed}.png";
                // PNGs are compressed already: storing them saves time and nothing else.
                await using (var entry = zip.CreateEntry(name, CompressionLevel.NoCompression).Open())
                await using (var source = File.OpenRead(image.FilePath))
                    await source.CopyToAsync(entry, ct);
                var settings = image.Parameters with { Prompt = "", NegativePrompt = "" };
                manifest.Append(Csv.Line(name, item.Line.ToString(CultureInfo.InvariantCulture), image.Parameters.Prompt, image.Parameters.NegativePrompt,
                    image.Parameters.Style, image.Seed.ToString(CultureInfo.InvariantCulture),
                    JsonSerializer.Serialize(new { settings.Width, settings.Height, settings.Steps, settings.Cfg, settings.CfgTruncation, settings.CfgNormalization, image.Model }, Json)))
                    .Append('\n');
                if (File.Exists(image.ThumbnailPath))
                    thumbnails.Add(PngCodec.Decode(await File.ReadAllBytesAsync(image.ThumbnailPath, ct)).Image);
            }
        }
        await using (var entry = new StreamWriter(zip.CreateEntry(ManifestName, CompressionLevel.Optimal).Open(), new UTF8Encoding(encoderShouldEmitUTF8Identifier: true)))
            await entry.WriteAsync(manifest.ToString());
        if (thumbnails.Count > 0)
        {
            await using var entry = zip.CreateEntry(ContactSheetName, CompressionLevel.NoCompression).Open();
            PngCodec.Write(entry, ContactSheet(thumbnails));
        }
    }

    /// <summary>Thumbnails left to right, top to bottom, each centred in a square cell on a dark grey ground.</summary>
    public static RgbImage ContactSheet(IReadOnlyList<RgbImage> thumbnails)
    {
        int count = thumbnails.Count;
        int columns = Math.Min(MaxColumns, Math.Max(1, (int)Math.Ceiling(Math.Sqrt(count))));
        int rows = (count + columns - 1) / columns;
        int cell = count > 64 ? 128 : Thumbnail.DefaultMaxSide;
        const int gap = 4;
        int width = columns * (cell + gap) + gap, height = rows * (cell + gap) + gap;
        var pixels = new byte[width * height * 3];
        Array.Fill(pixels, (byte)40);
        for (int n = 0; n < count; n++)
        {
            var thumb = Thumbnail.Create(thumbnails[n], cell);
            int x0 = gap + n % columns * (cell + gap) + (cell - thumb.Width) / 2;
            int y0 = gap + n / columns * (cell + gap) + (cell - thumb.Height) / 2;
            for (int y = 0; y < thumb.Height; y++)
                Buffer.BlockCopy(thumb.Pixels, y * thumb.Width * 3, pixels, ((y0 + y) * width + x0) * 3, thumb.Width * 3);
        }
        return new RgbImage(width, height, pixels);
    }
}
