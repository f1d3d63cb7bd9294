using ZImage.Engine.Pipeline;

namespace ZImage.Engine.Jobs;

/// <summary>Where a job's random seed comes from when it is accepted; tests give one that repeats.</summary>
public interface ISeedSource
{
    /// <summary>A seed in the allowed range (<see cref="GenerationLimits.MinSeed"/>..<see cref="GenerationLimits.MaxSeed"/>).</summary>
    long NextSeed();
}

/// <summary>Seeds from a <see cref="Random"/>; by default the shared, thread-safe one.</summary>
public sealed class RandomSeedSource(Random random) : ISeedSource
{
    public RandomSeedSource() : this(Random.Shared)
    {
    }

    public long NextSeed()
    {
        // A seeded Random is not thread-safe; admission may run on several threads at once.
        lock (random)
            return random.NextInt64(GenerationLimits.MinSeed, GenerationLimits.MaxSeed + 1);
    }
}
