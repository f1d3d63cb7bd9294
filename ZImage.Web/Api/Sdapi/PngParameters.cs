namespace ZImage.Web.Api.Sdapi;

/// <summary>The API's view of the PNG codec's metadata functions (branch pure, ZImage.Engine/Imaging).</summary>
internal static class PngParameters
{
    public const string ParametersKey = "parameters";

    /// <summary>Every tEXt/iTXt chunk as key → text; null when the bytes are not a PNG.</summary>
    public static Dictionary<string, string>? ReadTextChunks(byte[] png) => throw new NotImplementedException();

    /// <summary>A1111's parse_generation_parameters shape: Prompt, Negative prompt, Steps, Sampler, CFG scale, Seed, Size-1, Size-2, ...</summary>
    public static IReadOnlyDictionary<string, object?> Parse(string infotext) => throw new NotImplementedException();
}
