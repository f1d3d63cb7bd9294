using ZImage.Engine.Onnx;

namespace ZImage.Engine.Tests.Onnx;

[CollectionDefinition(Name)]
public sealed class OnnxCollection : ICollectionFixture<OrtFixture>
{
    public const string Name = "Onnx";
}

/// <summary>Runs alone: these tests measure process memory or wall time, which other tests running beside them would disturb.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class OnnxIsolatedCollection : ICollectionFixture<OrtFixture>
{
    public const string Name = "Onnx (isolated)";
}

/// <summary>The real ONNX Runtime beside the tests (runtimes/linux-x64/native/, from NuGet by the build), and a folder for models.</summary>
public sealed class OrtFixture : IDisposable
{
    public OrtFixture()
    {
        Runtime = OrtRuntime.Load();
        Directory = System.IO.Directory.CreateTempSubdirectory("zimage-onnx-tests-").FullName;
    }

    public OrtRuntime Runtime { get; }

    public string Directory { get; }

    public string PathFor(string fileName) => System.IO.Path.Combine(Directory, fileName);

    public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);
}

internal static class TestModels
{
    /// <summary>x:[2,3] of <paramref name="type"/> → y = Identity(x); f: float32[2,3] → z = Cast(f, to=type).</summary>
    public static string IdentityAndCast(OrtFixture fixture, TensorElementType type) =>
        new OnnxModelBuilder()
            .Input("x", type, 2, 3)
            .Input("f", TensorElementType.Float32, 2, 3)
            .Node("Identity", ["x"], ["y"])
            .Node("Cast", ["f"], ["z"], ("to", (long)type))
            .Output("y", type, 2, 3)
            .Output("z", type, 2, 3)
            .Save(fixture.PathFor($"identity_cast_{type}.onnx"));

    public static readonly float[] Weights = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
    public static readonly float[] Bias = [0.5f, -1, 2];

    /// <summary>features: float32[batch, 4] → scores = features · W[4,3] + b[3]: float32[batch, 3].</summary>
    public static string Linear(OrtFixture fixture, string fileName = "linear.onnx") =>
        new OnnxModelBuilder()
            .Input("features", TensorElementType.Float32, "batch", 4)
            .Initializer("W", Weights, 4, 3)
            .Initializer("b", Bias, 3)
            .Node("MatMul", ["features", "W"], ["product"])
            .Node("Add", ["product", "b"], ["scores"])
            .Output("scores", TensorElementType.Float32, "batch", 3)
            .Save(fixture.PathFor(fileName));

    public static float[] LinearReference(float[] features)
    {
        var rows = features.Length / 4;
        var result = new float[rows * 3];
        for (var r = 0; r < rows; r++)
            for (var c = 0; c < 3; c++)
            {
                var sum = 0f;
                for (var k = 0; k < 4; k++)
                    sum += features[r * 4 + k] * Weights[k * 3 + c];
                result[r * 3 + c] = sum + Bias[c];
            }
        return result;
    }

    /// <summary>a, b: float32[2,3] → sum = a + b.</summary>
    public static string Add(OrtFixture fixture) =>
        new OnnxModelBuilder()
            .Input("a", TensorElementType.Float32, 2, 3)
            .Input("b", TensorElementType.Float32, 2, 3)
            .Node("Add", ["a", "b"], ["sum"])
            .Output("sum", TensorElementType.Float32, 2, 3)
            .Save(fixture.PathFor("add.onnx"));

    /// <summary>
    /// x: float32[size, size] multiplied by the identity <paramref name="nodes"/> times: thousands of nodes, each a
    /// short MatMul, so the run lasts seconds on CPU while ORT checks the terminate flag before every node.
    /// </summary>
    public static string LongChain(OrtFixture fixture, int nodes, int size) =>
        OrtSelfCheck.WriteLongChain(fixture.PathFor($"chain_{nodes}x{size}.onnx"), nodes, size);
}
