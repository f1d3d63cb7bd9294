using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using ZImage.Engine.Pipeline;
using ZImage.Engine.Sampling;

namespace ZImage.Engine.Imaging;

/// <summary>
/// Settings as an AUTOMATIC1111-style <c>parameters</c> text carries them. A1111 files lack fields we use and
/// carry fields we do not, so every setting is optional; unknown keys are kept in <see cref="Extra"/>.
/// </summary>
public sealed partial record GenerationParameters
{
    public string Prompt { get; init; } = "";
    public string NegativePrompt { get; init; } = "";
    public int? Steps { get; init; }
    public string? Sampler { get; init; }
    public float? Cfg { get; init; }
    public long? Seed { get; init; }
    public int? Width { get; init; }
    public int? Height { get; init; }
    public string? Model { get; init; }
    public float? CfgTruncation { get; init; }
    public float? CfgNormalization { get; init; }
    public double? Shift { get; init; }
    /// <summary>The style preset's id (<see cref="GenerationRequest.Style"/>); written as "Style" when one was used.</summary>
    public string? Style { get; init; }
    public IReadOnlyDictionary<string, string> Extra { get; init; } = new Dictionary<string, string>();

    /// <summary>
    /// The A1111 text: prompt, a "Negative prompt:" line when there is one, then one line of "Key: value" pairs.
    /// Our own settings (CFG truncation and normalization, shift) are written only when they differ from the
    /// defaults, so a plain Turbo image reads exactly like an A1111 one.
    /// </summary>
    public string ToA1111Text()
    {
        var sb = new StringBuilder(Prompt);
        if (NegativePrompt.Length > 0)
            sb.Append("\nNegative prompt: ").Append(NegativePrompt);
        var pairs = new List<string>();
        void Add(string key, string? value)
        {
            if (value is not null)
                pairs.Add($"{key}: {Quote(value)}");
        }
        Add("Steps", Steps?.ToString(CultureInfo.InvariantCulture));
        Add("Sampler", Sampler);
        Add("CFG scale", Cfg?.ToString(CultureInfo.InvariantCulture));
        Add("Seed", Seed?.ToString(CultureInfo.InvariantCulture));
        if (Width is not null && Height is not null)
            Add("Size", $"{Width}x{Height}");
        Add("Model", Model);
        if (CfgTruncation is { } truncation && truncation != GenerationRequest.Defaults.CfgTruncation)
            Add("CFG truncation", truncation.ToString(CultureInfo.InvariantCulture));
        if (CfgNormalization is { } normalization && normalization != GenerationRequest.Defaults.CfgNormalization)
            Add("CFG normalization", normalization.ToString(CultureInfo.InvariantCulture));
        if (Shift is { } shift && shift != FlowMatchEulerSchedule.DefaultShift)
            Add("Shift", shift.ToString(CultureInfo.InvariantCulture));
        if (!string.IsNullOrEmpty(Style))
            Add("Style", Style);
        foreach (var (key, value) in Extra)
            Add(key, value);
        if (pairs.Count > 0)
            sb.Append('\n').Append(string.Join(", ", pairs));
        return sb.ToString();
    }

    /// <summary>
    /// Reads A1111's <c>parameters</c> text the way its own parse_generation_parameters does: the last line holds
    /// the settings if at least three "Key: value" pairs are found in it; lines from "Negative prompt:" on are the
    /// negative prompt; every line is trimmed. Values A1111 quoted (JSON strings) are unquoted.
    /// </summary>
    public static GenerationParameters ParseA1111(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var lines = text.Trim().Replace("\r\n", "\n").Split('\n').ToList();
        var last = lines[^1];
        var pairs = KeyValue().Matches(last);
        if (pairs.Count >= 3)
            lines.RemoveAt(lines.Count - 1);
        else
            pairs = KeyValue().Matches("");

        var prompt = new List<string>();
        var negative = new List<string>();
        var inNegative = false;
        foreach (var raw in lines)
        {
            var line = raw.Trim();
            if (line.StartsWith("Negative prompt:", StringComparison.Ordinal))
            {
                inNegative = true;
                line = line["Negative prompt:".Length..].Trim();
            }
            (inNegative ? negative : prompt).Add(line);
        }

        var result = new GenerationParameters { Prompt = string.Join('\n', prompt), NegativePrompt = string.Join('\n', negative) };
        var extra = new Dictionary<string, string>();
        foreach (Match m in pairs)
        {
            var key = m.Groups[1].Value.Trim();
            var value = Unquote(m.Groups[2].Value.Trim());
            result = key switch
            {
                "Steps" when int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var steps) => result with { Steps = steps },
                "Sampler" => result with { Sampler = value },
                "CFG scale" when float.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var cfg) => result with { Cfg = cfg },
                "Seed" when long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var seed) => result with { Seed = seed },
                "Size" when ImageSize().Match(value) is { Success: true } size
                    && int.TryParse(size.Groups[1].Value, CultureInfo.InvariantCulture, out var w)
                    && int.TryParse(size.Groups[2].Value, CultureInfo.InvariantCulture, out var h) => result with { Width = w, Height = h },
                "Model" => result with { Model = value },
                "CFG truncation" when float.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var t) => result with { CfgTruncation = t },
                "CFG normalization" when float.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var k) => result with { CfgNormalization = k },
                "Style" => result with { Style = value },
                "Shift" when double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var shift) => result with { Shift = shift },
                _ => Keep(result, extra, key, value),
            };
        }
        return result with { Extra = extra };
    }

    /// <summary>
    /// <paramref name="baseline"/> with every setting this text carries put in; the rest (count, fields A1111 does
    /// not have) stays. Nothing is validated here: the caller runs <see cref="GenerationRequest.Validate"/> and
    /// shows the problems (an A1111 image of 512x768 at 30 steps may well be outside our limits).
    /// </summary>
    public GenerationRequest ApplyTo(GenerationRequest baseline) => baseline with
    {
        Prompt = Prompt,
        NegativePrompt = NegativePrompt,
        Steps = Steps ?? baseline.Steps,
        Cfg = Cfg ?? baseline.Cfg,
        Seed = Seed ?? baseline.Seed,
        Width = Width ?? baseline.Width,
        Height = Height ?? baseline.Height,
        CfgTruncation = CfgTruncation ?? baseline.CfgTruncation,
        CfgNormalization = CfgNormalization ?? baseline.CfgNormalization,
        Style = Style ?? baseline.Style,
    };

    private static GenerationParameters Keep(GenerationParameters result, Dictionary<string, string> extra, string key, string value)
    {
        extra[key] = value;
        return result;
    }

    // A1111's quote(): plain unless the value holds a comma, newline or colon, then a JSON string.
    private static string Quote(string value) =>
        value.IndexOfAny([',', '\n', ':']) < 0 ? value : JsonSerializer.Serialize(value);

    private static string Unquote(string value)
    {
        if (value.Length < 2 || value[0] != '"' || value[^1] != '"')
            return value;
        try
        {
            return JsonSerializer.Deserialize<string>(value) ?? value;
        }
        catch (JsonException)
        {
            return value;
        }
    }

    // A1111's re_param_code: \s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)
    [GeneratedRegex("""\s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)""")]
    private static partial Regex KeyValue();

    [GeneratedRegex(@"^(\d+)x(\d+)$")]
    private static partial Regex ImageSize();
}
