using ZImage.Engine.Pipeline;

namespace ZImage.Engine.Jobs;

public enum SeedPolicy
{
    /// <summary>A seed is drawn when the job is accepted and stored with it, so a restart re-runs the same pictures.</summary>
    Random,
    /// <summary>The settings' seed is used as given ("reuse last" is a fixed seed chosen by the UI).</summary>
    Fixed,
}

/// <summary>
/// What a person asks for, before acceptance: the generation settings plus how to get the seed (resolved at
/// acceptance; with <see cref="SeedPolicy.Random"/> the settings' seed is ignored) and the optional idempotency key.
/// </summary>
public sealed record JobRequest
{
    public required GenerationRequest Settings { get; init; }
    public SeedPolicy SeedPolicy { get; init; } = SeedPolicy.Random;
    /// <summary>
    /// A repeat of the same key by the same user returns the job the first call made (a double click or
    /// an HTTP retry never makes two jobs). Keys are remembered as long as the job is.
    /// </summary>
    public string? IdempotencyKey { get; init; }
}
