using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using ZImage.Engine.Pipeline;
using ZImage.Engine.Sampling;

namespace ZImage.Engine.Imaging;

/// <summary>
/// Every setting that made one image, stored as JSON in the PNG's <c>zimage</c> text chunk so the image can be
/// remade exactly: the generation settings of this one image (its own seed, count 1) plus what the model decided
/// (sampler, shift, model name). The chunk is one flat object, as it has been since format 1.
/// </summary>
public sealed record ImageSettings
{
    public const int CurrentFormat = 1;
    /// <summary>The name a picture carries when nothing says which model made it.</summary>
    public const string DefaultModel = "Z-Image-Turbo";
    public const string DefaultSampler = "Euler";

    public int Format { get; init; } = CurrentFormat;
    /// <summary>This image's settings: <see cref="GenerationRequest.Seed"/> is its own seed, <see cref="GenerationRequest.Count"/> is 1.</summary>
    public required GenerationRequest Request { get; init; }
    public string Sampler { get; init; } = DefaultSampler;
    public double Shift { get; init; } = FlowMatchEulerSchedule.DefaultShift;
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
        return new ImageSettings { Request = request with { Seed = request.Seed + index, Count = 1 }, Shift = shift, Model = model };
    }

    /// <summary>A single-image request that remakes this image.</summary>
    public GenerationRequest ToRequest() => Request with { Count = 1 };

    public string ToJson()
    {
        // format first, then the request's own fields (count is always 1 here and never written), then the model's.
        var chunk = new JsonObject { ["format"] = Format };
        foreach (var (name, value) in JsonSerializer.SerializeToNode(Request, Json)!.AsObject())
        {
            if (name != "count")
                chunk[name] = value?.DeepClone();
        }
        chunk["sampler"] = Sampler;
        chunk["shift"] = Shift;
        chunk["model"] = Model;
        return chunk.ToJsonString(Json);
    }

    public static ImageSettings FromJson(string json)
    {
        try
        {
            if (JsonNode.Parse(json) is not JsonObject chunk)
                throw new InvalidDataException("the zimage settings chunk is empty.");
            int format = chunk["format"]?.GetValue<int>() ?? CurrentFormat;
            if (format > CurrentFormat)
                throw new InvalidDataException($"the zimage settings chunk has format {format}; this version reads up to {CurrentFormat}.");
            var request = chunk.Deserialize<GenerationRequest>(Json)
                ?? throw new InvalidDataException("the zimage settings chunk is empty.");
            return new ImageSettings
            {
                Format = format,
                Request = request with { Count = 1 },
                Sampler = chunk["sampler"]?.GetValue<string>() ?? DefaultSampler,
                Shift = chunk["shift"]?.GetValue<double>() ?? FlowMatchEulerSchedule.DefaultShift,
                Model = chunk["model"]?.GetValue<string>() ?? DefaultModel,
            };
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            throw new InvalidDataException($"the zimage settings chunk is not valid settings JSON: {e.Message}", e);
        }
    }

    public GenerationParameters ToParameters() => new()
    {
        Prompt = Request.Prompt,
        NegativePrompt = Request.NegativePrompt,
        Steps = Request.Steps,
        Sampler = Sampler,
        Cfg = Request.Cfg,
        Seed = Request.Seed,
        Width = Request.Width,
        Height = Request.Height,
        Model = Model,
        CfgTruncation = Request.CfgTruncation,
        CfgNormalization = Request.CfgNormalization,
        Shift = Shift,
        Style = Request.Style.Length > 0 ? Request.Style : null,
    };
}
