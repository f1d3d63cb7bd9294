using System.Reflection;
using Microsoft.Extensions.Logging;
using ZImage.Engine.Onnx;

namespace ZImage.Engine.Tests.Onnx;

/// <summary>
/// Every slot number in <see cref="OrtApiOrdinals"/> was counted from struct OrtApi in ONNX Runtime 1.29.0's
/// include/onnxruntime/core/session/onnxruntime_c_api.h (one slot per member, in declaration order, CreateStatus = 0;
/// see the remarks on OrtApiOrdinals). A wrong count calls the wrong function, which either crashes or misbehaves, so
/// each slot is proven here by behaviour against the real library: <see cref="ProvenBy"/> names, for every slot, the
/// test that would fail if its number were wrong.
/// </summary>
[Collection(OnnxCollection.Name)]
public sealed class OrtApiOrdinalTests(OrtFixture fixture)
{
    private static readonly Dictionary<string, string> ProvenBy = new()
    {
        [nameof(OrtApiOrdinals.BaseGetApi)] = nameof(LibraryIsOnnxRuntime129WithApiVersion29),
        [nameof(OrtApiOrdinals.BaseGetVersionString)] = nameof(LibraryIsOnnxRuntime129WithApiVersion29),
        [nameof(OrtApiOrdinals.GetBuildInfoString)] = nameof(LibraryIsOnnxRuntime129WithApiVersion29),
        [nameof(OrtApiOrdinals.CreateStatus)] = nameof(StatusRoundTripsCodeAndMessage),
        [nameof(OrtApiOrdinals.GetErrorCode)] = nameof(StatusRoundTripsCodeAndMessage),
        [nameof(OrtApiOrdinals.GetErrorMessage)] = nameof(StatusRoundTripsCodeAndMessage),
        [nameof(OrtApiOrdinals.ReleaseStatus)] = nameof(StatusRoundTripsCodeAndMessage),
        [nameof(OrtApiOrdinals.CreateEnvWithCustomLogger)] = nameof(OrtLogReachesTheLogger),
        [nameof(OrtApiOrdinals.DisableTelemetryEvents)] = nameof(OrtLogReachesTheLogger),
        [nameof(OrtApiOrdinals.GetAvailableProviders)] = nameof(AvailableProvidersIncludeCpu),
        [nameof(OrtApiOrdinals.ReleaseAvailableProviders)] = nameof(AvailableProvidersIncludeCpu),
        [nameof(OrtApiOrdinals.CreateSession)] = nameof(InferenceSessionTests.LinearModelMatchesTheCSharpReference),
        [nameof(OrtApiOrdinals.Run)] = nameof(InferenceSessionTests.LinearModelMatchesTheCSharpReference),
        [nameof(OrtApiOrdinals.CreateSessionOptions)] = nameof(InferenceSessionTests.LinearModelMatchesTheCSharpReference),
        [nameof(OrtApiOrdinals.ReleaseSessionOptions)] = nameof(SessionLifetimeTests.ThousandSessionCyclesLeaveMemoryFlat),
        [nameof(OrtApiOrdinals.ReleaseSession)] = nameof(SessionLifetimeTests.ThousandSessionCyclesLeaveMemoryFlat),
        [nameof(OrtApiOrdinals.ReleaseValue)] = nameof(SessionLifetimeTests.ThousandSessionCyclesLeaveMemoryFlat),
        [nameof(OrtApiOrdinals.ReleaseRunOptions)] = nameof(SessionLifetimeTests.ThousandSessionCyclesLeaveMemoryFlat),
        [nameof(OrtApiOrdinals.ReleaseTypeInfo)] = nameof(SessionLifetimeTests.ThousandSessionCyclesLeaveMemoryFlat),
        [nameof(OrtApiOrdinals.ReleaseTensorTypeAndShapeInfo)] = nameof(SessionLifetimeTests.ThousandSessionCyclesLeaveMemoryFlat),
        [nameof(OrtApiOrdinals.ReleaseMemoryInfo)] = nameof(SessionLifetimeTests.ThousandSessionCyclesLeaveMemoryFlat),
        [nameof(OrtApiOrdinals.ReleaseAllocator)] = nameof(SessionLifetimeTests.ThousandSessionCyclesLeaveMemoryFlat),
        [nameof(OrtApiOrdinals.ReleaseIoBinding)] = nameof(SessionLifetimeTests.ThousandSessionCyclesLeaveMemoryFlat),
        [nameof(OrtApiOrdinals.ReleaseEnv)] = nameof(EnvironmentHandleReleasesThroughReleaseEnv),
        [nameof(OrtApiOrdinals.SetSessionGraphOptimizationLevel)] = nameof(GraphOptimizationLevelSlotValidatesTheLevel),
        [nameof(OrtApiOrdinals.SetIntraOpNumThreads)] = nameof(SessionLifetimeTests.IntraOpThreadsSizeTheSessionThreadPool),
        [nameof(OrtApiOrdinals.AddFreeDimensionOverrideByName)] = nameof(InferenceSessionTests.FreeDimensionOverrideFixesTheBatch),
        [nameof(OrtApiOrdinals.AddSessionConfigEntry)] = nameof(InferenceSessionTests.ConfigEntriesReachTheSession),
        [nameof(OrtApiOrdinals.SessionGetInputCount)] = nameof(InferenceSessionTests.InputAndOutputInfoCarryNamesTypesAndSymbolicDimensions),
        [nameof(OrtApiOrdinals.SessionGetOutputCount)] = nameof(InferenceSessionTests.InputAndOutputInfoCarryNamesTypesAndSymbolicDimensions),
        [nameof(OrtApiOrdinals.SessionGetInputTypeInfo)] = nameof(InferenceSessionTests.InputAndOutputInfoCarryNamesTypesAndSymbolicDimensions),
        [nameof(OrtApiOrdinals.SessionGetOutputTypeInfo)] = nameof(InferenceSessionTests.InputAndOutputInfoCarryNamesTypesAndSymbolicDimensions),
        [nameof(OrtApiOrdinals.SessionGetInputName)] = nameof(InferenceSessionTests.InputAndOutputInfoCarryNamesTypesAndSymbolicDimensions),
        [nameof(OrtApiOrdinals.SessionGetOutputName)] = nameof(InferenceSessionTests.InputAndOutputInfoCarryNamesTypesAndSymbolicDimensions),
        [nameof(OrtApiOrdinals.CastTypeInfoToTensorInfo)] = nameof(InferenceSessionTests.InputAndOutputInfoCarryNamesTypesAndSymbolicDimensions),
        [nameof(OrtApiOrdinals.GetOnnxTypeFromTypeInfo)] = nameof(InferenceSessionTests.InputAndOutputInfoCarryNamesTypesAndSymbolicDimensions),
        [nameof(OrtApiOrdinals.GetTensorElementType)] = nameof(InferenceSessionTests.InputAndOutputInfoCarryNamesTypesAndSymbolicDimensions),
        [nameof(OrtApiOrdinals.GetDimensionsCount)] = nameof(InferenceSessionTests.InputAndOutputInfoCarryNamesTypesAndSymbolicDimensions),
        [nameof(OrtApiOrdinals.GetDimensions)] = nameof(InferenceSessionTests.InputAndOutputInfoCarryNamesTypesAndSymbolicDimensions),
        [nameof(OrtApiOrdinals.GetSymbolicDimensions)] = nameof(InferenceSessionTests.InputAndOutputInfoCarryNamesTypesAndSymbolicDimensions),
        [nameof(OrtApiOrdinals.GetAllocatorWithDefaultOptions)] = nameof(InferenceSessionTests.InputAndOutputInfoCarryNamesTypesAndSymbolicDimensions),
        [nameof(OrtApiOrdinals.AllocatorFree)] = nameof(InferenceSessionTests.InputAndOutputInfoCarryNamesTypesAndSymbolicDimensions),
        [nameof(OrtApiOrdinals.CreateRunOptions)] = nameof(InferenceSessionTests.LinearModelMatchesTheCSharpReference),
        [nameof(OrtApiOrdinals.RunOptionsSetTerminate)] = nameof(CancellationTests.CancelFromAnotherThreadStopsTheRunWithin100Milliseconds),
        [nameof(OrtApiOrdinals.AddRunConfigEntry)] = nameof(InferenceSessionTests.RunConfigEntriesReachTheRun),
        [nameof(OrtApiOrdinals.CreateTensorWithDataAsOrtValue)] = nameof(InferenceSessionTests.TensorOverManagedMemoryIsNotCopied),
        [nameof(OrtApiOrdinals.CreateCpuMemoryInfo)] = nameof(InferenceSessionTests.TensorOverManagedMemoryIsNotCopied),
        [nameof(OrtApiOrdinals.GetTensorMutableData)] = nameof(InferenceSessionTests.TensorOverManagedMemoryIsNotCopied),
        [nameof(OrtApiOrdinals.GetTensorShapeElementCount)] = nameof(InferenceSessionTests.TensorOverManagedMemoryIsNotCopied),
        [nameof(OrtApiOrdinals.GetTensorMemoryInfo)] = nameof(InferenceSessionTests.TensorOverManagedMemoryIsNotCopied),
        [nameof(OrtApiOrdinals.MemoryInfoGetName)] = nameof(InferenceSessionTests.TensorOverManagedMemoryIsNotCopied),
        [nameof(OrtApiOrdinals.MemoryInfoGetId)] = nameof(TensorKnowsItsMemory),
        [nameof(OrtApiOrdinals.IsTensor)] = nameof(InferenceSessionTests.Float32RoundTripsExactly),
        [nameof(OrtApiOrdinals.GetTensorTypeAndShape)] = nameof(InferenceSessionTests.Float32RoundTripsExactly),
        [nameof(OrtApiOrdinals.GetTensorSizeInBytes)] = nameof(InferenceSessionTests.Float16RoundTripsExactly),
        [nameof(OrtApiOrdinals.CreateTensorAsOrtValue)] = nameof(IoBindingTests.OutputLeftInSessionMemoryFeedsTheNextStep),
        [nameof(OrtApiOrdinals.CreateMemoryInfo)] = nameof(IoBindingTests.OutputLeftInSessionMemoryFeedsTheNextStep),
        [nameof(OrtApiOrdinals.CreateAllocator)] = nameof(IoBindingTests.OutputLeftInSessionMemoryFeedsTheNextStep),
        [nameof(OrtApiOrdinals.BindOutputToDevice)] = nameof(IoBindingTests.OutputLeftInSessionMemoryFeedsTheNextStep),
        [nameof(OrtApiOrdinals.SynchronizeBoundInputs)] = nameof(IoBindingTests.OutputLeftInSessionMemoryFeedsTheNextStep),
        [nameof(OrtApiOrdinals.CreateIoBinding)] = nameof(IoBindingTests.BoundInputsAndPreallocatedOutputRoundTrip),
        [nameof(OrtApiOrdinals.BindInput)] = nameof(IoBindingTests.BoundInputsAndPreallocatedOutputRoundTrip),
        [nameof(OrtApiOrdinals.BindOutput)] = nameof(IoBindingTests.BoundInputsAndPreallocatedOutputRoundTrip),
        [nameof(OrtApiOrdinals.RunWithBinding)] = nameof(IoBindingTests.BoundInputsAndPreallocatedOutputRoundTrip),
        [nameof(OrtApiOrdinals.SynchronizeBoundOutputs)] = nameof(IoBindingTests.BoundInputsAndPreallocatedOutputRoundTrip),
        [nameof(OrtApiOrdinals.GetBoundOutputNames)] = nameof(IoBindingTests.BoundInputsAndPreallocatedOutputRoundTrip),
        [nameof(OrtApiOrdinals.GetBoundOutputValues)] = nameof(IoBindingTests.BoundInputsAndPreallocatedOutputRoundTrip),
        [nameof(OrtApiOrdinals.ClearBoundInputs)] = nameof(IoBindingTests.ClearedInputsMustBeBoundAgain),
        [nameof(OrtApiOrdinals.ClearBoundOutputs)] = nameof(IoBindingTests.ClearedInputsMustBeBoundAgain),
        [nameof(OrtApiOrdinals.CreateCUDAProviderOptions)] = nameof(ExecutionProviderTests.CudaOptionSlotsReachTheCudaProviderBridge),
        [nameof(OrtApiOrdinals.UpdateCUDAProviderOptions)] = nameof(ExecutionProviderTests.CudaOptionSlotsReachTheCudaProviderBridge),
        [nameof(OrtApiOrdinals.ReleaseCUDAProviderOptions)] = nameof(ExecutionProviderTests.CudaOptionSlotsReachTheCudaProviderBridge),
        [nameof(OrtApiOrdinals.SessionOptionsAppendExecutionProvider_CUDA_V2)] = nameof(ExecutionProviderTests.CudaAppendSlotTriesToLoadTheCudaProvider),
        [nameof(OrtApiOrdinals.CreateTensorRTProviderOptions)] = nameof(ExecutionProviderTests.AskingForTensorRtWhereItIsAbsentNamesTheMissingFiles),
        [nameof(OrtApiOrdinals.UpdateTensorRTProviderOptions)] = nameof(ExecutionProviderTests.AskingForTensorRtWhereItIsAbsentNamesTheMissingFiles),
        [nameof(OrtApiOrdinals.ReleaseTensorRTProviderOptions)] = nameof(ExecutionProviderTests.AskingForTensorRtWhereItIsAbsentNamesTheMissingFiles),
        [nameof(OrtApiOrdinals.SessionOptionsAppendExecutionProvider_TensorRT_V2)] = nameof(ExecutionProviderTests.TensorRtAppendSlotTriesToLoadTheTensorRtProvider),
        [nameof(OrtApiOrdinals.SessionOptionsAppendExecutionProvider)] = nameof(ExecutionProviderTests.ProviderAppendedByNameIsCheckedByName),
    };

    [Fact]
    public void EverySlotIsProvenByATestThatExists()
    {
        var slots = typeof(OrtApiOrdinals).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f.FieldType == typeof(int)).Select(f => f.Name).ToArray();
        var testMethods = typeof(OrtApiOrdinalTests).Assembly.GetTypes()
            .SelectMany(t => t.GetMethods()).Where(m => m.GetCustomAttributes<FactAttribute>().Any()).Select(m => m.Name).ToHashSet();

        Assert.Empty(slots.Except(ProvenBy.Keys));
        Assert.Empty(ProvenBy.Values.Except(testMethods));
    }

    [Fact]
    public void LibraryIsOnnxRuntime129WithApiVersion29()
    {
        Assert.Equal("1.29.0", fixture.Runtime.Version);
        Assert.True(OrtNative.OffersApiVersion(29));
        Assert.False(OrtNative.OffersApiVersion(30));
        Assert.Contains("ORT Build Info", fixture.Runtime.BuildInfo);
    }

    [Fact]
    public void StatusRoundTripsCodeAndMessage()
    {
        var status = OrtNative.CreateStatus(OrtErrorCode.NotFound, "made by the test");

        var error = Assert.Throws<OnnxRuntimeException>(() => OrtNative.Check(status, "context"));

        Assert.Equal(OrtErrorCode.NotFound, error.ErrorCode);
        Assert.Equal("context: made by the test", error.Message);
    }

    [Fact]
    public void AvailableProvidersIncludeCpu()
    {
        Assert.Contains("CPUExecutionProvider", fixture.Runtime.AvailableProviders);
        Assert.Equal(fixture.Runtime.AvailableProviders, OrtNative.GetAvailableProviders());
    }

    [Fact]
    public void OrtLogReachesTheLogger()
    {
        // ORT warns at WARNING level when it drops an initializer that no node uses.
        var logger = new CapturingLogger();
        OrtRuntime.Load(logger: logger);
        OrtNative.DisableTelemetryEvents(fixture.Runtime.Env);
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
    public void GraphOptimizationLevelSlotValidatesTheLevel()
    {
        // ORT checks the level inside SetSessionGraphOptimizationLevel; only that function answers with this text.
        using var options = OrtNative.CreateSessionOptions();
        OrtNative.SetSessionGraphOptimizationLevel(options, (int)GraphOptimization.Basic);

        var error = Assert.Throws<OnnxRuntimeException>(() => OrtNative.SetSessionGraphOptimizationLevel(options, 42));

        Assert.Equal(OrtErrorCode.InvalidArgument, error.ErrorCode);
        Assert.Contains("graph_optimization_level is not valid", error.Message);
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

    [Fact]
    public void EnvironmentHandleReleasesThroughReleaseEnv()
    {
        // The process env lives for ever; a second, private env made and released here proves slot 92 frees an env
        // (ORT counts envs: creating one after releasing it must work again).
        for (var i = 0; i < 2; i++)
        {
            using var env = CreatePrivateEnv();
            Assert.False(env.IsInvalid);
        }
    }

    private static unsafe OrtEnvHandle CreatePrivateEnv() =>
        OrtNative.CreateEnvWithCustomLogger(null, 3, "ZImage.Tests");

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
