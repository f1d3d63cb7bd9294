using ZImage.Engine.Pipeline;

namespace ZImage.Engine.Jobs;

public enum SeedPolicy
{
    /// <summary>A seed is drawn when the job is accepted and stored with it, so a restart re-runs the same pictures.</summary>
    Random,
    /// <summary><see cref="JobRequest.Seed"/> is used as given ("reuse last" is a fixed seed chosen by the UI).</summary>
    Fixed,
}

/// <summary>
/// What a person asks for, before acceptance. Same ranges as <see cref="GenerationLimits"/>; the
/// difference from <see cref="GenerationRequest"/> is the seed policy (resolved at acceptance) and
/// the optional idempotency key.
/// </summary>
public sealed record JobRequest
{
    public required string Prompt { get; init; }
    public string NegativePrompt { get; init; } = "";
    public int Width { get; init; } = 1024;
    public int Height { get; init; } = 1024;
    public int Steps { get; init; } = 8;
    public float Cfg { get; init; }
    public float CfgTruncation { get; init; } = 1f;
    public float CfgNormalization { get; init; }
    public SeedPolicy SeedPolicy { get; init; } = SeedPolicy.Random;
    /// <summary>Required when <see cref="SeedPolicy"/> is <see cref="SeedPolicy.Fixed"/>; ignored otherwise.</summary>
    public long? Seed { get; init; }
    public int Count { get; init; } = 1;
    /// <summary>
    /// A repeat of the same key by the same user returns the job the first call made (a double click or
    /// an HTTP retry never makes two jobs). Keys are remembered as long as the job is.
    /// </summary>
    public string? IdempotencyKey { get; init; }

    /// <summary>The pipeline's request with the seed already resolved.</summary>
    public GenerationRequest ToGenerationRequest(long seed) => new()
    {
        Prompt = Prompt,
        NegativePrompt = NegativePrompt ?? "",
        Width = Width,
        Height = Height,
        Steps = Steps,
        Cfg = Cfg,
        CfgTruncation = CfgTruncation,
        CfgNormalization = CfgNormalization,
        Seed = seed,
        Count = Count,
    };
}
