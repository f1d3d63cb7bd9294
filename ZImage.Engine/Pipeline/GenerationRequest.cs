using ZImage.Engine.Sampling;

namespace ZImage.Engine.Pipeline;

/// <summary>
/// One generation as the pipeline sees it. Immutable: validation reports problems, it never
/// rewrites the caller's values. The seed is already resolved (random seeds are drawn when a job
/// is accepted), so the same request always gives the same pixels on the same provider.
/// Image i of a request uses seed <c>Seed + i</c>.
/// </summary>
public sealed record GenerationRequest
{
    public required string Prompt { get; init; }
    public string NegativePrompt { get; init; } = "";
    public int Width { get; init; } = 1024;
    public int Height { get; init; } = 1024;
    public int Steps { get; init; } = 8;
    /// <summary>
    /// Guidance scale g in <c>pos + g (pos - neg)</c>. As in the reference pipeline, guidance runs only for g &gt; 1
    /// (two forwards a step); 0 to 1 means off (one forward a step).
    /// </summary>
    public float Cfg { get; init; }
    /// <summary>True when the run does two transformer forwards a step (cfg &gt; 1, see <see cref="Guidance.IsOn"/>).</summary>
    public bool IsGuided => Guidance.IsOn(Cfg);
    /// <summary>Steps whose <c>1 - sigma</c> exceeds this use g = 0. 1 (the default) never truncates.</summary>
    public float CfgTruncation { get; init; } = 1f;
    /// <summary>Renormalisation bound k: the guided prediction's L2 norm is capped at k times the positive one's. 0 = off.</summary>
    public float CfgNormalization { get; init; }
    public long Seed { get; init; }
    public int Count { get; init; } = 1;

    /// <summary>Every problem with this request, each naming the field and the allowed range; empty when valid.</summary>
    public IReadOnlyList<ValidationProblem> Validate() => GenerationLimits.Check(this);
}

/// <summary>A rejected field and a sentence a person can act on.</summary>
public sealed record ValidationProblem(string Field, string Message);

/// <summary>The ranges every entry point (UI, API, console) enforces; one place so they never disagree.</summary>
public static class GenerationLimits
{
    public const int MinSide = 256;
    public const int MaxSide = 2048;
    /// <summary>The VAE downsamples 8x and the DiT patches 2x2 latents, so sides must be multiples of 16.</summary>
    public const int SideMultiple = 16;
    public const int MinSteps = 1;
    public const int MaxSteps = 50;
    public const float MinCfg = 0f;
    public const float MaxCfg = 10f;
    public const int MinCount = 1;
    public const int MaxCount = 4;
    /// <summary>The encoder sees at most 512 tokens; characters far beyond that only cost memory, so refuse them.</summary>
    public const int MaxPromptChars = 10_000;
    public const long MinSeed = 0;
    /// <summary>A1111 clients send 32-bit seeds; seeds of a batch are Seed..Seed+3, so keep room for them.</summary>
    public const long MaxSeed = uint.MaxValue - MaxCount;

    public static IReadOnlyList<ValidationProblem> Check(GenerationRequest r)
    {
        var problems = new List<ValidationProblem>();
        CheckSide(problems, "width", r.Width);
        CheckSide(problems, "height", r.Height);
        if (r.Steps is < MinSteps or > MaxSteps)
            problems.Add(new("steps", $"steps must be between {MinSteps} and {MaxSteps} (got {r.Steps})."));
        if (!(r.Cfg >= MinCfg && r.Cfg <= MaxCfg))
            problems.Add(new("cfg", $"cfg must be between {MinCfg} and {MaxCfg} (got {r.Cfg})."));
        if (!(r.CfgTruncation >= 0f && r.CfgTruncation <= 1f))
            problems.Add(new("cfgTruncation", $"cfgTruncation must be between 0 and 1 (got {r.CfgTruncation})."));
        if (!(r.CfgNormalization >= 0f && r.CfgNormalization <= 10f))
            problems.Add(new("cfgNormalization", $"cfgNormalization must be between 0 (off) and 10 (got {r.CfgNormalization})."));
        if (r.Count is < MinCount or > MaxCount)
            problems.Add(new("count", $"count must be between {MinCount} and {MaxCount} images (got {r.Count})."));
        if (r.Seed is < MinSeed or > MaxSeed)
            problems.Add(new("seed", $"seed must be between {MinSeed} and {MaxSeed} (got {r.Seed})."));
        if (r.Prompt is null)
            problems.Add(new("prompt", "prompt is required."));
        else if (r.Prompt.Length > MaxPromptChars)
            problems.Add(new("prompt", $"prompt must be at most {MaxPromptChars:N0} characters (got {r.Prompt.Length:N0})."));
        if (r.NegativePrompt is { Length: > MaxPromptChars })
            problems.Add(new("negativePrompt", $"negativePrompt must be at most {MaxPromptChars:N0} characters (got {r.NegativePrompt.Length:N0})."));
        return problems;
    }

    private static void CheckSide(List<ValidationProblem> problems, string field, int value)
    {
        if (value is < MinSide or > MaxSide || value % SideMultiple != 0)
            problems.Add(new(field, $"{field} must be a multiple of {SideMultiple} between {MinSide} and {MaxSide} (got {value})."));
    }
}
