namespace ZImage.Engine.Imaging;

/// <summary>
/// The PNG files ZImage saves: pixels plus an AUTOMATIC1111 <c>parameters</c> chunk (so A1111, ComfyUI and
/// civitai-style tools show the settings) and a <c>zimage</c> JSON chunk holding every setting exactly.
/// </summary>
public static class GenerationPng
{
    public const string ParametersKeyword = "parameters";
    public const string SettingsKeyword = "zimage";

    public static byte[] Encode(RgbImage image, ImageSettings settings) => PngCodec.Encode(image, Chunks(settings));

    /// <summary>Writes the PNG atomically (temp file + rename); an existing file at <paramref name="path"/> is replaced.</summary>
    public static void Save(string path, RgbImage image, ImageSettings settings)
    {
        var chunks = Chunks(settings);
        AtomicFile.Write(path, s => PngCodec.Write(s, image, chunks));
    }

    /// <summary>
    /// The settings a dropped PNG carries: ours from the JSON chunk when present, else whatever its A1111
    /// <c>parameters</c> text says, else null (a PNG without generation settings).
    /// </summary>
    public static GenerationParameters? ReadParameters(Stream png)
    {
        var text = PngCodec.ReadText(png);
        var json = text.FirstOrDefault(t => t.Keyword == SettingsKeyword)?.Text;
        if (json is not null)
            return ImageSettings.FromJson(json).ToParameters();
        var parameters = text.FirstOrDefault(t => t.Keyword == ParametersKeyword)?.Text;
        return parameters is null ? null : GenerationParameters.ParseA1111(parameters);
    }

    /// <summary>Our exact settings, or null for a PNG that ZImage did not write.</summary>
    public static ImageSettings? ReadSettings(Stream png)
    {
        var json = PngCodec.ReadText(png).FirstOrDefault(t => t.Keyword == SettingsKeyword)?.Text;
        return json is null ? null : ImageSettings.FromJson(json);
    }

    private static PngText[] Chunks(ImageSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return
        [
            new PngText(ParametersKeyword, settings.ToParameters().ToA1111Text()),
            new PngText(SettingsKeyword, settings.ToJson()),
        ];
    }
}
