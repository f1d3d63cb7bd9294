using ZImage.Engine.Sampling;

namespace ZImage.Engine.Tests.Sampling;

public class FlowMatchEulerScheduleTests
{
    // Reference tables for shift 3: sigma = 3s / (1 + 2s) with s = 1 - i/N, i.e. 3(N - i) / (3N - 2i), then 0.
    // 8 steps: zimage-model.md; 9 steps: 24/25, 21/23, 18/21, 15/19, 12/17, 9/15, 6/13, 3/11 worked by hand.
    public static TheoryData<int, double[]> ReferenceTables => new()
    {
        { 1, new[] { 1.0, 0.0 } },
        { 8, new[] { 1.0, 0.954545, 0.9, 0.833333, 0.75, 0.642857, 0.5, 0.3, 0.0 } },
        { 9, new[] { 1.0, 0.96, 0.913043, 0.857143, 0.789474, 0.705882, 0.6, 0.461538, 0.272727, 0.0 } },
        { 50, Enumerable.Range(0, 51).Select(i => i == 50 ? 0.0 : 3.0 * (50 - i) / (150 - 2 * i)).ToArray() },
    };

    [Theory]
    [MemberData(nameof(ReferenceTables))]
    public void SigmasEqualTheReferenceTable(int steps, double[] expected)
    {
        var schedule = FlowMatchEulerSchedule.Create(steps, shift: 3.0);

        Assert.Equal(steps + 1, schedule.Sigmas.Length);
        // The printed tables carry 6 decimals (rounding error <= 5e-7); float32 near 1 is good to 6e-8.
        for (var i = 0; i <= steps; i++)
            Assert.Equal(expected[i], schedule.Sigmas[i], tolerance: 6e-7);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(8)]
    [InlineData(9)]
    [InlineData(50)]
    public void SigmasAreTheFloat32RoundingOfTheExactFraction(int steps)
    {
        var schedule = FlowMatchEulerSchedule.Create(steps);
        for (var i = 0; i < steps; i++)
        {
            var exact = 3.0 * (steps - i) / (3.0 * steps - 2 * i);
            var sigma = schedule.Sigmas[i];
            // Within one float32 ulp of the exact value (numpy's double arithmetic may land either side of a tie).
            Assert.True(Math.Abs(sigma - exact) <= MathF.BitIncrement(sigma) - sigma,
                $"step {i} of {steps}: {sigma:R} vs exact {exact:R}");
        }
    }

    [Theory]
    [InlineData(1.0, 8, new[] { 1.0, 0.875, 0.75, 0.625, 0.5, 0.375, 0.25, 0.125, 0.0 })]
    [InlineData(2.0, 4, new[] { 1.0, 6.0 / 7, 2.0 / 3, 0.4, 0.0 })]
    public void ShiftComesFromTheCaller(double shift, int steps, double[] expected)
    {
        var sigmas = FlowMatchEulerSchedule.Create(steps, shift).Sigmas.ToArray();
        Assert.Equal(expected.Length, sigmas.Length);
        for (var i = 0; i < expected.Length; i++)
            Assert.Equal(expected[i], sigmas[i], tolerance: 1e-7);
    }

    [Fact]
    public void TimestepIsOneMinusSigmaAsTheReferenceComputesIt()
    {
        var schedule = FlowMatchEulerSchedule.Create(8);

        Assert.Equal(0f, schedule.Timestep(0));
        for (var i = 0; i < schedule.Steps; i++)
        {
            var t = schedule.Sigmas[i] * 1000f;
            Assert.Equal((1000f - t) / 1000f, schedule.Timestep(i));
            Assert.Equal(1 - schedule.Sigmas[i], schedule.Timestep(i), 6);
        }
        Assert.Equal(0.7f, schedule.Timestep(7), 6);
    }

    [Theory]
    [InlineData(0, new[] { 1f, -2f }, new[] { 0.5f, 4f })]
    [InlineData(7, new[] { 1f, -2f }, new[] { 0.5f, 4f })]
    public void EulerStepMovesByTheSigmaDifference(int step, float[] latent, float[] velocity)
    {
        var schedule = FlowMatchEulerSchedule.Create(8);
        var dt = schedule.Sigmas[step + 1] - schedule.Sigmas[step];
        var expected = latent.Select((x, i) => x + dt * velocity[i]).ToArray();

        schedule.Step(step, latent, velocity);

        Assert.Equal(expected, latent);
        Assert.True(dt < 0);
    }

    [Fact]
    public void StepWithModelOutputNegatesTheOutput()
    {
        var schedule = FlowMatchEulerSchedule.Create(8);
        float[] a = [0.25f, -1.5f, 3f], b = [0.25f, -1.5f, 3f];
        float[] output = [1f, 2f, -0.75f];

        schedule.StepWithModelOutput(3, a, output);
        schedule.Step(3, b, output.Select(o => -o).ToArray());

        Assert.Equal(b, a);
    }

    [Fact]
    public void AllStepsOfAConstantVelocityTravelFromNoiseToData()
    {
        // x(sigma) = data + sigma * (noise - data) has velocity noise - data; Euler is exact on a straight line.
        var schedule = FlowMatchEulerSchedule.Create(9);
        float[] latent = [2f, -1f];
        float[] velocity = [2f - 0.5f, -1f - 0.25f];
        for (var i = 0; i < schedule.Steps; i++)
            schedule.Step(i, latent, velocity);
        Assert.Equal(0.5f, latent[0], 5);
        Assert.Equal(0.25f, latent[1], 5);
    }

    [Fact]
    public void TheDenoisedEstimateOfAStraightPathIsItsEnd()
    {
        var schedule = FlowMatchEulerSchedule.Create(8);
        float[] data = [0.5f, -0.25f], noise = [1.5f, 2f];
        const int step = 3;
        var sigma = schedule.Sigma(step);
        var latent = data.Select((d, i) => (1 - sigma) * d + sigma * noise[i]).ToArray();
        var modelOutput = data.Select((d, i) => d - noise[i]).ToArray(); // Z-Image predicts -(noise - data)
        var estimate = new float[2];

        schedule.PredictDenoisedFromModelOutput(step, latent, modelOutput, estimate);

        Assert.Equal(data[0], estimate[0], 5);
        Assert.Equal(data[1], estimate[1], 5);
    }

    [Fact]
    public void TheDenoisedEstimateIsTheLatentMinusSigmaTimesTheVelocity()
    {
        // 8 steps, shift 3: sigma at step 2 is 3 * 0.75 / (1 + 2 * 0.75) = 0.9 (docs/zimage-model.md lists the schedule).
        // Z-Image's velocity is the negated model output, so x0 = x - sigma * v = x + sigma * output, by hand:
        //   1.0 + 0.9 * 0.5  = 1.45
        //  -2.0 + 0.9 * 1.0  = -1.1
        //   0.3 + 0.9 * -2.0 = -1.5
        var schedule = FlowMatchEulerSchedule.Create(8);
        float[] latent = [1f, -2f, 0.3f], modelOutput = [0.5f, 1f, -2f];
        var estimate = new float[3];

        schedule.PredictDenoisedFromModelOutput(2, latent, modelOutput, estimate);

        Assert.Equal(0.9f, schedule.Sigma(2), 6);
        Assert.Equal([1.45f, -1.1f, -1.5f], estimate.Select(v => MathF.Round(v, 5)));
        Assert.Equal([1f, -2f, 0.3f], latent); // the latent itself is left alone: the preview never moves the sampler
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1001)]
    public void StepCountOutsideTheRangeIsRefusedByName(int steps)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => FlowMatchEulerSchedule.Create(steps));
        Assert.Equal("steps", e.ParamName);
    }

    [Fact]
    public void StepIndexOutsideTheScheduleIsRefused()
    {
        var schedule = FlowMatchEulerSchedule.Create(8);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => schedule.Timestep(8));
        Assert.Contains("between 0 and 7", e.Message);
    }
}
