using ZImage.Engine.Jobs;
using ZImage.Engine.Memory;
using ZImage.Engine.Pipeline;
using ZImage.Engine.Sampling;
using ZImage.Engine.Tests.Memory;

namespace ZImage.Engine.Tests.Jobs;

/// <summary>
/// The pipeline guides only for cfg &gt; 1 (as the reference does), so memory estimates and ETA buckets must treat
/// cfg in (0, 1] as one forward a step, like cfg 0.
/// </summary>
public class GuidanceThresholdTests
{
    private static GenerationRequest At(float cfg) => new() { Prompt = "x", Width = 1024, Height = 1024, Cfg = cfg };

    [Theory]
    [InlineData(0.5f)]
    [InlineData(1f)]
    public void CfgUpToOneNeedsTheMemoryOfAnUnguidedRun(float cfg)
    {
        Assert.Equal(0f, Guidance.ScaleAt(cfg, 1.0, 0.5f));
        var guard = VramGuardTests.Guard(FakeMemoryProbe.Gpu(80, 80));

        long unguided = guard.EstimatePeakBytes(At(0), ResidencyPolicy.Resident);

        Assert.Equal(unguided, guard.EstimatePeakBytes(At(cfg), ResidencyPolicy.Resident));
        Assert.True(guard.EstimatePeakBytes(At(1.1f), ResidencyPolicy.Resident) > unguided);
    }

    [Theory]
    [InlineData(0.5f)]
    [InlineData(1f)]
    public void CfgUpToOneTakesItsEtaFromTheUnguidedMeasurement(float cfg)
    {
        var eta = new EtaEstimator(initialSecondsPerStepAt1024: 9);
        eta.Load([new StepTiming(1024, 1024, Guided: false, 1, 1.0, 2.0), new StepTiming(1024, 1024, Guided: true, 1, 3.0, 2.0)]);

        Assert.Equal(1.0, eta.CostOf(At(cfg)).SecondsPerStep);
        Assert.Equal(3.0, eta.CostOf(At(1.5f)).SecondsPerStep);
    }

    [Theory]
    [InlineData(0.5f)]
    [InlineData(1f)]
    public void ARunAtCfgUpToOneIsMeasuredAsUnguided(float cfg)
    {
        var eta = new EtaEstimator(initialSecondsPerStepAt1024: 9);
        var step = TimeSpan.FromSeconds(1);
        var timings = new GenerationTimings(TimeSpan.Zero, TimeSpan.Zero, [step, step], TimeSpan.Zero, TimeSpan.FromSeconds(3));

        var recorded = eta.Record(At(cfg) with { Steps = 2 }, timings, imagesRun: 1);

        Assert.NotNull(recorded);
        Assert.False(recorded.Guided);
    }
}
