using System.Globalization;
using ZImage.Engine.Imaging;

namespace ZImage.Web.Api.Sdapi;

/// <summary>A1111's view of a PNG's metadata, on top of the engine's codec (Imaging/PngCodec, GenerationParameters).</summary>
internal static class PngParameters
{
    public const string ParametersKey = GenerationPng.ParametersKeyword;

    /// <summary>Every text chunk as keyword → text (first one wins, as A1111's PIL reader keeps); null when the bytes are not a PNG.</summary>
    public static Dictionary<string, string>? ReadTextChunks(byte[] png)
    {
        IReadOnlyList<PngText> chunks;
        try
        {
            chunks = PngCodec.ReadText(new MemoryStream(png, writable: false));
        }
        catch (InvalidDataException)
        {
            return null;
        }
        var items = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var chunk in chunks)
            items.TryAdd(chunk.Keyword, chunk.Text);
        return items;
    }

    /// <summary>
    /// The shape of A1111's parse_generation_parameters: "Prompt", "Negative prompt", then each "Key: value" of the
    /// settings line, with Size split into "Size-1" and "Size-2". Values stay strings, as A1111 leaves most of them.
    /// </summary>
    public static IReadOnlyDictionary<string, object?> Parse(string infotext)
    {
        var result = new Dictionary<string, object?>(StringComparer.Ordinal);
        if (infotext.Length == 0)
            return result;
        var p = GenerationParameters.ParseA1111(infotext);
        var inv = CultureInfo.InvariantCulture;
        result["Prompt"] = p.Prompt;
        result["Negative prompt"] = p.NegativePrompt;
        if (p.Steps is { } steps) result["Steps"] = steps.ToString(inv);
        if (p.Sampler is { } sampler) result["Sampler"] = sampler;
        if (p.Cfg is { } cfg) result["CFG scale"] = cfg.ToString(inv);
        if (p.Seed is { } seed) result["Seed"] = seed.ToString(inv);
        if (p.Width is { } w && p.Height is { } h)
        {
            result["Size-1"] = w.ToString(inv);
            result["Size-2"] = h.ToString(inv);
        }
        if (p.Model is { } model) result["Model"] = model;
        if (p.CfgTruncation is { } t) result["CFG truncation"] = t.ToString(inv);
        if (p.CfgNormalization is { } k) result["CFG normalization"] = k.ToString(inv);
        if (p.Shift is { } shift) result["Shift"] = shift.ToString(inv);
        foreach (var (key, value) in p.Extra)
            result.TryAdd(key, value);
        return result;
    }
}
