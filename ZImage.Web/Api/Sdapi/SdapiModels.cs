using System.Text.Json;
using System.Text.Json.Serialization;
using ZImage.Engine.Pipeline;

namespace ZImage.Web.Api.Sdapi;

/// <summary>
/// The AUTOMATIC1111 txt2img body (modules/api/models.py, StableDiffusionProcessingTxt2Img), same snake_case
/// names. Fields we honour are typed; every other A1111 field (sampler_name, hr_*, styles, alwayson_scripts...)
/// lands in <see cref="Other"/>, is accepted, and is listed as ignored in the response's info.
/// </summary>
public sealed class Txt2ImgRequest
{
    [JsonPropertyName("prompt")] public string? Prompt { get; init; }
    [JsonPropertyName("negative_prompt")] public string? NegativePrompt { get; init; }
    [JsonPropertyName("width")] public int? Width { get; init; }
    [JsonPropertyName("height")] public int? Height { get; init; }
    [JsonPropertyName("steps")] public int? Steps { get; init; }
    [JsonPropertyName("cfg_scale")] public float? CfgScale { get; init; }
    /// <summary>-1 (A1111's default) or absent draws a random seed.</summary>
    [JsonPropertyName("seed")] public long? Seed { get; init; }
    [JsonPropertyName("batch_size")] public int? BatchSize { get; init; }
    [JsonPropertyName("n_iter")] public int? NIter { get; init; }
    [JsonPropertyName("sampler_name")] public string? SamplerName { get; init; }
    /// <summary>False: answer without images, as A1111 does (the images are still kept in history).</summary>
    [JsonPropertyName("send_images")] public bool? SendImages { get; init; }

    [JsonExtensionData] public Dictionary<string, JsonElement>? Other { get; init; }

    /// <summary>
    /// The generation settings this body asks for: A1111's names mapped onto ours, absent fields from
    /// <paramref name="defaults"/>. The seed is the one given (-1 or absent: the caller draws one); the count is
    /// batch_size x n_iter, which the caller checks first.
    /// </summary>
    public GenerationRequest ToSettings(GenerationRequest defaults) => defaults with
    {
        Prompt = Prompt ?? "",
        NegativePrompt = NegativePrompt ?? defaults.NegativePrompt,
        Width = Width ?? defaults.Width,
        Height = Height ?? defaults.Height,
        Steps = Steps ?? defaults.Steps,
        Cfg = CfgScale ?? defaults.Cfg,
        Seed = Seed is null or -1 ? 0 : Seed.Value,
    };
}

/// <summary>A1111's TextToImageResponse: base64 PNGs, the request echoed, and info as a JSON string.</summary>
public sealed record Txt2ImgResponse(
    [property: JsonPropertyName("images")] IReadOnlyList<string> Images,
    [property: JsonPropertyName("parameters")] IReadOnlyDictionary<string, object?> Parameters,
    [property: JsonPropertyName("info")] string Info);

public sealed record ProgressResponse(
    [property: JsonPropertyName("progress")] double Progress,
    [property: JsonPropertyName("eta_relative")] double EtaRelative,
    [property: JsonPropertyName("state")] ProgressState State,
    [property: JsonPropertyName("current_image")] string? CurrentImage,
    [property: JsonPropertyName("textinfo")] string? TextInfo);

/// <summary>The keys of A1111's shared.state.dict().</summary>
public sealed record ProgressState(
    [property: JsonPropertyName("skipped")] bool Skipped,
    [property: JsonPropertyName("interrupted")] bool Interrupted,
    [property: JsonPropertyName("stopping_generation")] bool StoppingGeneration,
    [property: JsonPropertyName("job")] string Job,
    [property: JsonPropertyName("job_count")] int JobCount,
    [property: JsonPropertyName("job_timestamp")] string JobTimestamp,
    [property: JsonPropertyName("job_no")] int JobNo,
    [property: JsonPropertyName("sampling_step")] int SamplingStep,
    [property: JsonPropertyName("sampling_steps")] int SamplingSteps);

public sealed class PngInfoRequest
{
    [JsonPropertyName("image")] public string? Image { get; init; }
}

public sealed record PngInfoResponse(
    [property: JsonPropertyName("info")] string Info,
    [property: JsonPropertyName("items")] IReadOnlyDictionary<string, string> Items,
    [property: JsonPropertyName("parameters")] IReadOnlyDictionary<string, object?> Parameters);

public sealed record SdModelItem(
    [property: JsonPropertyName("title")] string Title,
    [property: JsonPropertyName("model_name")] string ModelName,
    [property: JsonPropertyName("hash")] string? Hash,
    [property: JsonPropertyName("sha256")] string? Sha256,
    [property: JsonPropertyName("filename")] string Filename,
    [property: JsonPropertyName("config")] string? Config);

/// <param name="Accepted">Options whose value is already what ZImage does.</param>
/// <param name="Ignored">Options with no counterpart in ZImage; nothing was changed for them.</param>
public sealed record SetOptionsResponse(IReadOnlyList<string> Accepted, IReadOnlyList<string> Ignored, string Detail);
