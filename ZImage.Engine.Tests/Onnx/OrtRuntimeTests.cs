using Microsoft.Extensions.Logging;
using ZImage.Engine.Onnx;

namespace ZImage.Engine.Tests.Onnx;

[Collection(OnnxCollection.Name)]
public sealed class OrtRuntimeTests(OrtFixture fixture)
{
    [Fact]
    public void TheLibraryIsTheVersionTheManagedApiWasBuiltFor()
    {
        Assert.Equal("1.32.0", fixture.Runtime.Version);
        Assert.Equal(fixture.Runtime.Version, OrtRuntime.ManagedVersion);
        Assert.Contains("CPUExecutionProvider", fixture.Runtime.AvailableProviders);
        Assert.Equal(Path.Combine(fixture.Runtime.Directory, OrtRuntime.LibraryFileName), fixture.Runtime.LibraryPath);
    }

    [Fact]
    public void ASecondFolderIsRefusedAndTheSameOneReturnsTheSameRuntime()
    {
        var elsewhere = fixture.PathFor("other-ort");

        var error = Assert.Throws<InvalidOperationException>(() => OrtRuntime.Load(elsewhere));

        Assert.Contains(elsewhere, error.Message);
        Assert.Same(fixture.Runtime, OrtRuntime.Load(fixture.Runtime.Directory));
    }

    [Fact]
    public void AConfiguredFolderWinsOverTheEnvironmentWhichWinsOverTheBuildsCopy()
    {
        // The environment is passed in, not set: other test classes load the runtime from the default folder meanwhile.
        var configured = fixture.PathFor("configured");

        Assert.Equal(configured, OrtRuntime.ResolveDirectory(configured, "/opt/ort"));
        Assert.Equal("/opt/ort", OrtRuntime.ResolveDirectory(null, "/opt/ort"));
        Assert.Equal(Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native"), OrtRuntime.ResolveDirectory(null, null));
    }

    [Fact]
    public void OrtLogReachesTheLogger()
    {
        // ORT warns at WARNING level when it drops an initializer that no node uses.
        var logger = new CapturingLogger();
        OrtRuntime.Load(logger: logger);
        var path = new OnnxModelBuilder()
            .Input("x", TensorElementType.Float32, 2)
            .Initializer("unused_weight", new float[] { 1, 2 }, 2)
            .Node("Identity", ["x"], ["y"])
            .Output("y", TensorElementType.Float32, 2)
            .Save(fixture.PathFor("unused_initializer.onnx"));

        using (fixture.Runtime.OpenSession(path))
        {
        }

        Assert.Contains(logger.Lines, line => line.Level == LogLevel.Warning && line.Message.Contains("unused_weight"));
    }

    [Fact]
    public void AnInvalidOptimizationLevelIsRefusedBeforeOrtSeesIt()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() =>
            fixture.Runtime.OpenSession(TestModels.Add(fixture), new() { OptimizationLevel = (GraphOptimization)42 }));

        Assert.Equal("OptimizationLevel", error.ParamName);
    }

    [Fact]
    public void TheSelfCheckOfOrtCheckPassesOnTheCpu()
    {
        // What `ort-check --provider cpu` runs: a MatMul against C#, and its output bound back in as the next input.
        var result = OrtSelfCheck.Run(fixture.Runtime, ExecutionProvider.Cpu, 64);

        Assert.True(result.Passed, $"max error {result.MaxAbsError}, chained {result.DeviceChainMaxAbsError}, tolerance {result.Tolerance}");
        Assert.Equal(DeviceMemory.Cpu, result.DeviceOutputLocation);
    }

    [Fact]
    public void TensorKnowsItsMemory()
    {
        using var session = fixture.Runtime.OpenSession(TestModels.Add(fixture));
        using var tensor = session.AllocateTensor(TensorElementType.Int64, [3]);

        Assert.Equal(DeviceMemory.Cpu, tensor.Location);
        Assert.Equal(0, tensor.DeviceId);
        Assert.Equal(24, tensor.SizeInBytes);
    }

    private sealed class CapturingLogger : ILogger
    {
        private readonly List<(LogLevel Level, string Message)> _lines = [];

        public IReadOnlyList<(LogLevel Level, string Message)> Lines
        {
            get
            {
                lock (_lines)
                    return _lines.ToArray();
            }
        }

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (_lines)
                _lines.Add((logLevel, formatter(state, exception)));
        }
    }
}
