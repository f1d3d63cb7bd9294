using ZImage.Engine.Sampling;

namespace ZImage.Engine.Tests.Sampling;

public class GuidanceTests
{
    [Theory]
    [InlineData(0f, 1.0, 0f, 0f)]      // off
    [InlineData(1f, 1.0, 0f, 0f)]      // the reference needs cfg > 1 to guide at all
    [InlineData(1.01f, 1.0, 0f, 1.01f)]
    [InlineData(4f, 1.0, 0.95f, 4f)]   // truncation 1 never applies
    [InlineData(4f, 0.5, 0.5f, 4f)]    // not strictly greater: still guided
    [InlineData(4f, 0.5, 0.5000001f, 0f)]
    [InlineData(4f, 0.0, 0f, 4f)]      // the first step (t = 0) is always guided
    [InlineData(4f, 0.0, 0.1f, 0f)]
    [InlineData(4f, 1.5, 0.99f, 4f)]   // a bound above 1 is ignored
    public void ScaleAtFollowsTheReferenceRules(float cfg, double truncation, float timestep, float expected)
    {
        Assert.Equal(expected, Guidance.ScaleAt(cfg, truncation, timestep));
    }

    [Fact]
    public void TruncationAtPointEightGuidesOnlyTheEarlySteps()
    {
        var schedule = FlowMatchEulerSchedule.Create(8);
        var guided = Enumerable.Range(0, 8).Select(i => Guidance.ScaleAt(5f, 0.8, schedule.Timestep(i)) > 0).ToArray();
        // timesteps 0, .045, .1, .167, .25, .357, .5, .7 are all <= 0.8
        Assert.All(guided, Assert.True);
        var guided6 = Enumerable.Range(0, 8).Select(i => Guidance.ScaleAt(5f, 0.3, schedule.Timestep(i)) > 0).ToArray();
        Assert.Equal(new[] { true, true, true, true, true, false, false, false }, guided6);
    }

    [Theory]
    [InlineData(new[] { 1f, 2f }, new[] { 0f, 0f }, 2f, new[] { 3f, 6f })]
    [InlineData(new[] { 1f, -1f }, new[] { 1f, -1f }, 7f, new[] { 1f, -1f })]
    [InlineData(new[] { 0.5f, 0f }, new[] { 1.5f, 2f }, 0f, new[] { 0.5f, 0f })]
    public void CombineIsPositivePlusScaleTimesTheDifference(float[] pos, float[] neg, float scale, float[] expected)
    {
        var pred = new float[pos.Length];
        Guidance.Combine(pos, neg, scale, normalization: 0f, pred);
        Assert.Equal(expected, pred);
    }

    [Fact]
    public void NormalizationCapsTheNormAtKTimesThePositiveNorm()
    {
        float[] pos = [3f, 4f];   // |pos| = 5
        float[] neg = [0f, 0f];
        var pred = new float[2];

        Guidance.Combine(pos, neg, scale: 2f, normalization: 1.2f, pred); // unnormalised (9, 12), |.| = 15

        Assert.Equal(6f, MathF.Sqrt(pred[0] * pred[0] + pred[1] * pred[1]), 5);
        Assert.Equal(3f / 4f, pred[0] / pred[1], 6); // direction kept
    }

    [Fact]
    public void NormalizationLeavesAPredictionWithinTheBoundAlone()
    {
        float[] pos = [3f, 4f];
        float[] neg = [6f, 8f];
        var pred = new float[2];

        Guidance.Combine(pos, neg, scale: 0.5f, normalization: 1f, pred); // (1.5, 2): norm 2.5 < 5

        Assert.Equal(new[] { 1.5f, 2f }, pred);
    }

    [Fact]
    public void NormalizationDoesNotRescaleAtExactlyTheBound()
    {
        float[] pos = [3f, 4f];
        float[] neg = [0f, 0f];
        var pred = new float[2];

        Guidance.Combine(pos, neg, scale: 1f, normalization: 2f, pred); // (6, 8): norm 10 == 2 * 5, the reference uses >

        Assert.Equal(new[] { 6f, 8f }, pred);
    }

    [Fact]
    public void MismatchedLengthsAreRefused()
    {
        Assert.Throws<ArgumentException>(() => Guidance.Combine(new float[2], new float[3], 1f, 0f, new float[2]));
    }
}
