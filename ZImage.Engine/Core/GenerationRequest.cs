using System.Text.Json.Serialization;

namespace ZImage.Engine.Core;

/// <summary>
/// The generation settings: the one record every entry point (Generate form, /api/v1, /sdapi, jobs, the PNG chunk,
/// the database) carries. Immutable: validation reports problems, it never rewrites the caller's values. In a job
/// the seed is already resolved (random seeds are drawn when a job is accepted), so the same request always gives
/// the same pixels on the same provider. Image i of a request uses seed <c>Seed + i</c>.
/// Serialized with web (camelCase) names, this is also the <c>parameters</c> object of the HTTP API.
/// </summary>
public sealed record GenerationRequest
{
    /// <summary>The settings a new picture starts with when nobody chose others (Settings can save different ones).</summary>
    public static GenerationRequest Defaults { get; } = new() { Prompt = "" };

    public required string Prompt { get; init; }
    public string NegativePrompt { get; init; } = "";
    public int Width { get; init; } = GenerationLimits.DefaultSide;
    public int Height { get; init; } = GenerationLimits.DefaultSide;
    public int Steps { get; init; } = GenerationLimits.DefaultSteps;
    /// <summary>
    /// Guidance scale g in <c>pos + g (pos - neg)</c>. As in the reference pipeline, guidance runs only for g &gt; 1
    /// (two forwards a step); 0 to 1 means off (one forward a step).
    /// </summary>
    public float Cfg { get; init; }
    /// <summary>Steps whose <c>1 - sigma</c> exceeds this use g = 0. 1 (the default) never truncates.</summary>
    public float CfgTruncation { get; init; } = 1f;
    /// <summary>Renormalisation bound k: the guided prediction's L2 norm is capped at k times the positive one's. 0 = off.</summary>
    public float CfgNormalization { get; init; }
    public long Seed { get; init; }
    public int Count { get; init; } = 1;
    /// <summary>
    /// The style preset (<see cref="StylePreset.Id"/>) whose fragments were added to the prompt and avoid box; empty
    /// when none. Only the name is kept here: the words are already in <see cref="Prompt"/> and <see cref="NegativePrompt"/>.
    /// </summary>
    public string Style { get; init; } = "";

    /// <summary>True when the run does two transformer forwards a step (cfg &gt; 1, see <see cref="IsGuidedAt"/>).</summary>
    [JsonIgnore]
    public bool IsGuided => IsGuidedAt(Cfg);

    /// <summary>
    /// Whether a guidance scale guides at all: the reference's do_classifier_free_guidance is <c>cfg &gt; 1</c>. The
    /// sampler (Sampling.Guidance) and everything that prices a run (memory, ETA) ask this, so they never disagree.
    /// </summary>
    public static bool IsGuidedAt(float cfg) => cfg > 1f;

    /// <summary>Fair-share cost in units of one default picture (1024x1024, 8 steps).</summary>
    [JsonIgnore]
    public double Cost => (double)Width * Height * Steps * Count
        / ((double)GenerationLimits.DefaultSide * GenerationLimits.DefaultSide * GenerationLimits.DefaultSteps);

    /// <summary>Every problem with this request, each naming the field and the allowed range; empty when valid.</summary>
    public IReadOnlyList<ValidationProblem> Validate() => GenerationLimits.Check(this, withPrompt: true);

    /// <summary>The same rules without the prompt: for saved defaults, which have none.</summary>
    public IReadOnlyList<ValidationProblem> ValidateAsDefaults() => GenerationLimits.Check(this, withPrompt: false);
}

/// <summary>
/// A rejected field and a sentence a person can act on. <see cref="Rule"/> and <see cref="Args"/> let a UI say the
/// same thing in the person's language (rules: range, side, tooLong, required).
/// </summary>
public sealed record ValidationProblem(string Field, string Message)
{
    public string Rule { get; init; } = "";
    public IReadOnlyList<object> Args { get; init; } = [];
}

/// <summary>The ranges and defaults every entry point (UI, API, console) enforces; one place so they never disagree.</summary>
public static class GenerationLimits
{
    /// <summary>Z-Image-Turbo's native size class and its distilled step count.</summary>
    public const int DefaultSide = 1024;
    public const int DefaultSteps = 8;
    public const int MinSide = 256;
    public const int MaxSide = 2048;
    /// <summary>The VAE downsamples 8x and the DiT patches 2x2 latents, so sides must be multiples of 16.</summary>
    public const int SideMultiple = 16;
    public const int MinSteps = 1;
    public const int MaxSteps = 50;
    public const float MinCfg = 0f;
    public const float MaxCfg = 10f;
    public const float MaxCfgNormalization = 10f;
    public const int MinCount = 1;
    public const int MaxCount = 4;
    /// <summary>The encoder sees a few hundred tokens; characters far beyond that only cost memory, so refuse them.</summary>
    public const int MaxPromptChars = 10_000;
    public const long MinSeed = 0;
    /// <summary>A1111 clients send 32-bit seeds; seeds of a batch are Seed..Seed+3, so keep room for them.</summary>
    public const long MaxSeed = uint.MaxValue - MaxCount;

    internal static IReadOnlyList<ValidationProblem> Check(GenerationRequest r, bool withPrompt)
    {
        var problems = new List<ValidationProblem>();
        CheckSide(problems, "width", r.Width);
        CheckSide(problems, "height", r.Height);
        Range(problems, "steps", r.Steps, MinSteps, MaxSteps, $"steps must be between {MinSteps} and {MaxSteps} (got {r.Steps}).");
        Range(problems, "cfg", r.Cfg, MinCfg, MaxCfg, $"cfg must be between {MinCfg} and {MaxCfg} (got {r.Cfg}).");
        Range(problems, "cfgTruncation", r.CfgTruncation, 0, 1, $"cfgTruncation must be between 0 and 1 (got {r.CfgTruncation}).");
        Range(problems, "cfgNormalization", r.CfgNormalization, 0, MaxCfgNormalization,
            $"cfgNormalization must be between 0 (off) and {MaxCfgNormalization} (got {r.CfgNormalization}).");
        Range(problems, "count", r.Count, MinCount, MaxCount, $"count must be between {MinCount} and {MaxCount} images (got {r.Count}).");
        if (withPrompt)
        {
            Range(problems, "seed", r.Seed, MinSeed, MaxSeed, $"seed must be between {MinSeed} and {MaxSeed} (got {r.Seed}).");
            // One rule for every door: a prompt of only spaces describes nothing, so it is refused like a missing one.
            if (string.IsNullOrWhiteSpace(r.Prompt))
                problems.Add(new("prompt", "prompt is required and must not be blank.") { Rule = "required" });
            else
                CheckLength(problems, "prompt", r.Prompt);
        }
        if (r.NegativePrompt is not null)
            CheckLength(problems, "negativePrompt", r.NegativePrompt);
        if (r.Style is { Length: > StylePreset.MaxIdLength })
            problems.Add(new("style", $"style must be at most {StylePreset.MaxIdLength} characters (got {r.Style.Length}).") { Rule = "tooLong", Args = [StylePreset.MaxIdLength] });
        return problems;
    }

    private static void Range(List<ValidationProblem> problems, string field, double value, double min, double max, string message)
    {
        // Written so NaN fails too.
        if (!(value >= min && value <= max))
            problems.Add(new(field, message) { Rule = "range", Args = [min, max] });
    }

    private static void CheckLength(List<ValidationProblem> problems, string field, string text)
    {
        if (text.Length > MaxPromptChars)
            problems.Add(new(field, $"{field} must be at most {MaxPromptChars:N0} characters (got {text.Length:N0}).") { Rule = "tooLong", Args = [MaxPromptChars] });
    }

    private static void CheckSide(List<ValidationProblem> problems, string field, int value)
    {
        if (value is < MinSide or > MaxSide || value % SideMultiple != 0)
            problems.Add(new(field, $"{field} must be a multiple of {SideMultiple} between {MinSide} and {MaxSide} (got {value}).")
            {
                Rule = "side",
                Args = [SideMultiple, MinSide, MaxSide],
            });
    }
}
