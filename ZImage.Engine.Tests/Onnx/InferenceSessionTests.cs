using ZImage.Engine.Onnx;

namespace ZImage.Engine.Tests.Onnx;

[Collection(OnnxCollection.Name)]
public sealed class InferenceSessionTests(OrtFixture fixture)
{
    private static readonly InferenceSessionOptions OneThread = new() { IntraOpThreads = 1 };

    // Values exactly representable in every floating type involved (float16 and bfloat16 included).
    private static readonly float[] Exact = [0f, 1.5f, -2.25f, 1024f, 3.140625f, -0.5f];

    [Fact]
    public void Float32RoundTripsExactly() => AssertRoundTrip(TensorElementType.Float32, Exact, Exact);

    [Fact]
    public void Float16RoundTripsExactly() => AssertRoundTrip(TensorElementType.Float16, Exact.Select(v => (Half)v).ToArray(), Exact);

    [Fact]
    public void BFloat16RoundTripsExactly() => AssertRoundTrip(TensorElementType.BFloat16, Exact.Select(v => (BFloat16)v).ToArray(), Exact);

    [Fact]
    public void Int64RoundTripsExactly() =>
        AssertRoundTrip(TensorElementType.Int64, new long[] { 0, 1, -2, 1024, 3, long.MaxValue }, [0f, 1f, -2f, 1024f, 3f, 1e9f]);

    [Fact]
    public void Int32RoundTripsExactly() =>
        AssertRoundTrip(TensorElementType.Int32, new[] { 0, 1, -2, 1024, 3, int.MinValue }, [0f, 1f, -2f, 1024f, 3f, -7f]);

    [Fact]
    public void BoolRoundTripsExactly() =>
        AssertRoundTrip(TensorElementType.Bool, new[] { true, false, false, true, true, false }, [0f, 1.5f, -2.25f, 0f, 0f, 7f]);

    private void AssertRoundTrip<T>(TensorElementType type, T[] values, float[] castSource) where T : unmanaged
    {
        using var session = fixture.Runtime.OpenSession(TestModels.IdentityAndCast(fixture, type), OneThread);
        using var x = Tensor.Create(values, 2, 3);
        using var f = Tensor.Create(castSource, 2, 3);

        using var outputs = session.Run(new Dictionary<string, Tensor> { ["x"] = x, ["f"] = f });

        Assert.Equal(["y", "z"], outputs.Names);
        Assert.Equal(type, outputs["y"].ElementType);
        Assert.Equal([2L, 3L], outputs["y"].Shape);
        Assert.Equal(values, outputs["y"].ToArray<T>());
        Assert.Equal(ReferenceCast<T>(castSource), outputs["z"].ToArray<T>());
        Assert.Equal(6L * TensorTypes.SizeOf(type), outputs["z"].SizeInBytes);
    }

    // What ONNX Cast from float32 means for each type, computed in C#.
    private static T[] ReferenceCast<T>(float[] source) where T : unmanaged => source.Select(v => (T)(object)(typeof(T) switch
    {
        var t when t == typeof(float) => v,
        var t when t == typeof(Half) => (Half)v,
        var t when t == typeof(BFloat16) => (BFloat16)v,
        var t when t == typeof(long) => (long)v,
        var t when t == typeof(int) => (int)v,
        var t when t == typeof(bool) => v != 0,
        _ => throw new NotSupportedException(typeof(T).Name),
    })).ToArray();

    [Fact]
    public void InputAndOutputInfoCarryNamesTypesAndSymbolicDimensions()
    {
        using var session = fixture.Runtime.OpenSession(TestModels.Linear(fixture), OneThread);

        var input = Assert.Single(session.Inputs);
        Assert.Equal("features", input.Name);
        Assert.Equal(TensorElementType.Float32, input.ElementType);
        Assert.Equal([-1L, 4L], input.Shape);
        Assert.Equal(["batch", null], input.SymbolicDimensions);
        var output = Assert.Single(session.Outputs);
        Assert.Equal("scores: Float32[batch, 3]", output.ToString());
    }

    [Fact]
    public void LinearModelMatchesTheCSharpReference()
    {
        using var session = fixture.Runtime.OpenSession(TestModels.Linear(fixture), OneThread);
        float[] features = [1, 2, 3, 4, -1, 0.5f, 0, 2];
        using var input = Tensor.Create(features, 2, 4);

        using var outputs = session.Run(new Dictionary<string, Tensor> { ["features"] = input });

        Assert.Equal([2L, 3L], outputs[0].Shape);
        Assert.Equal(TestModels.LinearReference(features), outputs[0].ToArray<float>());
    }

    [Fact]
    public void FreeDimensionOverrideFixesTheBatch()
    {
        var options = OneThread with { FreeDimensionOverrides = new Dictionary<string, long> { ["batch"] = 2 } };
        using var session = fixture.Runtime.OpenSession(TestModels.Linear(fixture, "linear_fixed.onnx"), options);
        using var two = Tensor.Create(new float[8], 2, 4);
        using var three = Tensor.Create(new float[12], 3, 4);

        using var outputs = session.Run(new Dictionary<string, Tensor> { ["features"] = two });
        Assert.Equal([2L, 3L], outputs[0].Shape);
        var error = Assert.Throws<OnnxRuntimeException>(() => session.Run(new Dictionary<string, Tensor> { ["features"] = three }));
        Assert.Contains("features", error.Message);
    }

    [Fact]
    public void ConfigEntriesReachTheSession()
    {
        // session.load_model_format = ORT makes ORT parse the file as its flatbuffer format, which an .onnx file is not:
        // the failure proves the entry was applied.
        var options = OneThread with { ConfigEntries = new Dictionary<string, string> { ["session.load_model_format"] = "ORT" } };
        var path = TestModels.Linear(fixture, "linear_config.onnx");

        Assert.Throws<OnnxRuntimeException>(() => fixture.Runtime.OpenSession(path, options));
        using var session = fixture.Runtime.OpenSession(path, OneThread);
        Assert.Single(session.Inputs);
    }

    [Fact]
    public void RunConfigEntriesReachTheRun()
    {
        // ORT parses the arena-shrinkage device list when the run starts: a malformed one fails that run only, which
        // proves the entry arrived; a well-formed one ("cpu:0") runs and hands the CPU arena's free chunks back.
        var path = TestModels.Linear(fixture, "linear_runconfig.onnx");
        using var session = fixture.Runtime.OpenSession(path, OneThread);
        using var input = Tensor.Create(new float[] { 1, 2, 3, 4 }, 1, 4);
        var inputs = new Dictionary<string, Tensor> { ["features"] = input };

        var error = Assert.Throws<OnnxRuntimeException>(() => session.Run(inputs,
            runConfig: new Dictionary<string, string> { ["memory.enable_memory_arena_shrinkage"] = "nonsense" }));
        Assert.Contains(path, error.Message);
        using var outputs = session.Run(inputs,
            runConfig: new Dictionary<string, string> { ["memory.enable_memory_arena_shrinkage"] = "cpu:0" });
        Assert.Equal(3, outputs[0].ElementCount);
    }

    [Fact]
    public void CorruptModelFileNamesTheFile()
    {
        var path = fixture.PathFor("corrupt.onnx");
        File.WriteAllBytes(path, [0x08, 0xFF, 0x12, 0x34, 0x56, 0x78, 0x9A, 0xBC, 0xDE, 0xF0, 0x0A, 0xFF, 0xFF]);

        var error = Assert.Throws<OnnxRuntimeException>(() => fixture.Runtime.OpenSession(path, OneThread));

        Assert.Contains(path, error.Message);
        Assert.Equal(OrtErrorCode.InvalidProtobuf, error.ErrorCode);
    }

    [Fact]
    public void MissingModelFileNamesTheFile()
    {
        var path = fixture.PathFor("absent.onnx");

        var error = Assert.Throws<OnnxRuntimeException>(() => fixture.Runtime.OpenSession(path, OneThread));

        Assert.Contains(path, error.Message);
        Assert.Equal(OrtErrorCode.NoSuchFile, error.ErrorCode);
    }

    [Fact]
    public void WrongInputShapeNamesTheInput()
    {
        using var session = fixture.Runtime.OpenSession(TestModels.Linear(fixture), OneThread);
        using var wrong = Tensor.Create(new float[10], 2, 5);

        var error = Assert.Throws<OnnxRuntimeException>(() => session.Run(new Dictionary<string, Tensor> { ["features"] = wrong }));

        Assert.Contains("features", error.Message);
        Assert.Equal(OrtErrorCode.InvalidArgument, error.ErrorCode);
    }

    [Fact]
    public void WrongInputTypeOrNameNamesTheInput()
    {
        using var session = fixture.Runtime.OpenSession(TestModels.Linear(fixture), OneThread);
        using var integers = Tensor.Create(new long[8], 2, 4);
        using var floats = Tensor.Create(new float[8], 2, 4);

        var typeError = Assert.Throws<ArgumentException>(() => session.Run(new Dictionary<string, Tensor> { ["features"] = integers }));
        var nameError = Assert.Throws<ArgumentException>(() => session.Run(new Dictionary<string, Tensor> { ["feature"] = floats }));

        Assert.Contains("'features'", typeError.Message);
        Assert.Contains("Float32, not Int64", typeError.Message);
        Assert.Contains("'feature' is not an input", nameError.Message);
    }

    [Fact]
    public void TensorOverManagedMemoryIsNotCopied()
    {
        var data = new float[] { 1, 2, 3, 4, 5, 6 };
        using var tensor = Tensor.Create(data, 2, 3);

        data[4] = 42;

        Assert.Equal(42, tensor.GetData<float>()[4]);
        Assert.Equal(DeviceMemory.Cpu, tensor.Location);
        Assert.Equal(6, tensor.ElementCount);
    }

    [Fact]
    public void ShapeThatDoesNotFitTheDataIsRefused()
    {
        var error = Assert.Throws<ArgumentException>(() => Tensor.Create(new float[5], 2, 3));

        Assert.Contains("[2, 3] holds 6 elements but the data has 5", error.Message);
    }
}
