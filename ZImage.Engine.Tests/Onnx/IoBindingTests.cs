using ZImage.Engine.Onnx;

namespace ZImage.Engine.Tests.Onnx;

[Collection(OnnxCollection.Name)]
public sealed class IoBindingTests(OrtFixture fixture)
{
    private static readonly InferenceSessionOptions OneThread = new() { IntraOpThreads = 1 };

    [Fact]
    public void BoundInputsAndPreallocatedOutputRoundTrip()
    {
        using var session = fixture.Runtime.OpenSession(TestModels.Add(fixture), OneThread);
        using var binding = session.CreateBinding();
        using var a = Tensor.Create(new float[] { 1, 2, 3, 4, 5, 6 }, 2, 3);
        using var b = Tensor.Create(new float[] { 10, 20, 30, 40, 50, 60 }, 2, 3);
        var sum = new float[6];
        using var output = Tensor.Create(sum, 2, 3);

        binding.BindInput("a", a);
        binding.BindInput("b", b);
        binding.BindOutput("sum", output);
        binding.Run();
        binding.SynchronizeOutputs();

        Assert.Equal([11f, 22f, 33f, 44f, 55f, 66f], sum);
        using var bound = binding.GetOutputs();
        Assert.Equal(["sum"], bound.Names);
        Assert.Equal(sum, bound[0].ToArray<float>());
    }

    [Fact]
    public void OutputLeftInSessionMemoryFeedsTheNextStep()
    {
        // The pattern the sampler uses for latents: each step's output, kept where the session put it, is the next input.
        using var session = fixture.Runtime.OpenSession(TestModels.Add(fixture), OneThread);
        using var binding = session.CreateBinding();
        using var step = Tensor.Create(new float[] { 1, 1, 1, 1, 1, 1 }, 2, 3);
        using var latents = session.AllocateTensor(TensorElementType.Float32, [2, 3]);
        latents.GetMutableData<float>().Fill(0);

        binding.BindInput("b", step);
        binding.BindInput("a", latents);
        binding.BindOutput("sum", DeviceMemory.Cpu);
        binding.SynchronizeInputs();
        binding.Run();
        var current = binding.GetOutputs()[0];
        for (var i = 0; i < 2; i++)
        {
            binding.BindInput("a", current);
            binding.BindOutput("sum", DeviceMemory.Cpu);
            binding.Run();
            var next = binding.GetOutputs()[0];
            current.Dispose(); // the binding holds its own reference until "a" is rebound
            current = next;
        }

        Assert.Equal(DeviceMemory.Cpu, latents.Location);
        using (current)
            Assert.Equal([3f, 3f, 3f, 3f, 3f, 3f], current.ToArray<float>());
    }

    [Fact]
    public void ClearedInputsMustBeBoundAgain()
    {
        using var session = fixture.Runtime.OpenSession(TestModels.Add(fixture), OneThread);
        using var binding = session.CreateBinding();
        using var a = Tensor.Create(new float[6], 2, 3);
        binding.BindInput("a", a);
        binding.BindInput("b", a);
        binding.BindOutput("sum", DeviceMemory.Cpu);
        binding.Run();

        binding.ClearInputs();
        binding.ClearOutputs();

        var error = Assert.Throws<OnnxRuntimeException>(() => binding.Run());
        Assert.Contains("add.onnx", error.Message);
        using var none = binding.GetOutputs();
        Assert.Empty(none);
    }

    [Fact]
    public void DeviceMemoryTheSessionDoesNotHaveIsRefusedByName()
    {
        using var session = fixture.Runtime.OpenSession(TestModels.Add(fixture), OneThread);

        var error = Assert.Throws<OnnxRuntimeException>(() => session.AllocateTensor(TensorElementType.Float32, [2, 3], DeviceMemory.Cuda));

        Assert.Contains("Cuda memory", error.Message);
    }
}
