using System.Text.Json;
using System.Text.Json.Serialization;
using ZImage.Engine.Pipeline;

namespace ZImage.Engine.Imaging;

/// <summary>
/// Every setting that made one image, stored as JSON in the PNG's <c>zimage</c> text chunk so the image can be
/// remade exactly. <see cref="Seed"/> is this image's own seed (request seed + index in the batch).
/// </summary>
public sealed record ImageSettings
{
    public const int CurrentFormat = 1;

    public int Format { get; init; } = CurrentFormat;
    public required string Prompt { get; init; }
    public string NegativePrompt { get; init; } = "";
    public int Width { get; init; } = 1024;
    public int Height { get; init; } = 1024;
    public int Steps { get; init; } = 8;
    public float Cfg { get; init; }
    public float CfgTruncation { get; init; } = 1f;
    public float CfgNormalization { get; init; }
    public long Seed { get; init; }
    public string Sampler { get; init; } = "Euler";
    public double Shift { get; init; } = 3.0;
    /// <summary>The name a picture carries when nothing says which model made it.</summary>
    public const string DefaultModel = "Z-Image-Turbo";

    public string Model { get; init; } = DefaultModel;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        // Prompts are mostly not ASCII for many users; keep them readable in exiftool and friends.
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>Settings of image <paramref name="index"/> (0-based) of a request's batch.</summary>
    public static ImageSettings FromRequest(GenerationRequest request, int index, string model, double shift)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (index < 0 || index >= request.Count)
            throw new ArgumentOutOfRangeException(nameof(index), index, $"index must be between 0 and {request.Count - 1} for a batch of {request.Count}.");
        return new ImageSettings
        {
            Prompt = request.Prompt,
            NegativePrompt = request.NegativePrompt,
            Width = request.Width,
            Height = request.Height,
            Steps = request.Steps,
            Cfg = request.Cfg,
            CfgTruncation = request.CfgTruncation,
            CfgNormalization = request.CfgNormalization,
            Seed = request.Seed + index,
            Shift = shift,
            Model = model,
        };
    }

    /// <summary>A single-image request that remakes this image.</summary>
    public GenerationRequest ToRequest() => new()
    {
        Prompt = Prompt,
        NegativePrompt = NegativePrompt,
        Width = Width,
        Height = Height,
        Steps = Steps,
        Cfg = Cfg,
        CfgTruncation = CfgTruncation,
        CfgNormalization = CfgNormalization,
        Seed = Seed,
        Count = 1,
    };

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    public static ImageSettings FromJson(string json)
    {
        ImageSettings? settings;
        try
        {
            settings = JsonSerializer.Deserialize<ImageSettings>(json, Json);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"the zimage settings chunk is not valid settings JSON: {e.Message}", e);
        }
        if (settings is null)
            throw new InvalidDataException("the zimage settings chunk is empty.");
        if (settings.Format > CurrentFormat)
            throw new InvalidDataException($"the zimage settings chunk has format {settings.Format}; this version reads up to {CurrentFormat}.");
        return settings;
    }

    public GenerationParameters ToParameters() => new()
    {
        Prompt = Prompt,
        NegativePrompt = NegativePrompt,
        Steps = Steps,
        Sampler = Sampler,
        Cfg = Cfg,
        Seed = Seed,
        Width = Width,
        Height = Height,
        Model = Model,
        CfgTruncation = CfgTruncation,
        CfgNormalization = CfgNormalization,
        Shift = Shift,
    };
}
