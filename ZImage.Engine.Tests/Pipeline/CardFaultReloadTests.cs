using Microsoft.Extensions.Logging.Abstractions;
using ZImage.Engine.Jobs;
using ZImage.Engine.Memory;
using ZImage.Engine.Models;
using ZImage.Engine.Onnx;
using ZImage.Engine.Pipeline;
using ZImage.Engine.Tests.Jobs;

namespace ZImage.Engine.Tests.Pipeline;

/// <summary>
/// After a card fault the pipeline host lets its sessions go, so the card's next try (after its pause) loads the model
/// afresh; a job's own failure keeps the loaded model. Real ONNX Runtime and the tiny self-test model; the card fault is
/// the one this machine really has: the CUDA provider cannot start (no CUDA runtime here, as in CI).
/// </summary>
public sealed class CardFaultReloadTests
{
    private static readonly string SelfTest = ZImage.Engine.Tests.Models.Install.TinyCheckpoint.SelfTestModelDirectory;
    private static readonly GenerationRequest Request = new() { Prompt = "a harbour", Width = 256, Height = 256, Steps = 2, Seed = 4 };

    private static bool CudaRuntimeHere => ProviderDiagnostics.CudaSystemLibraries.All(l => System.Runtime.InteropServices.NativeLibrary.TryLoad(l, out _));

    private static (PipelineHost Host, CountingGuard Loads) Host(ProviderChoice provider)
    {
        var options = new SettableMonitor<EngineOptions>(new EngineOptions { ModelDirectory = SelfTest, Provider = provider });
        var vram = new SettableMonitor<VramOptions>(new VramOptions());
        var catalog = new ModelCatalog(options);
        var guard = new CountingGuard(new VramGuard(new FakeMemoryProbe(null), new OptionsModelFootprintSource(vram, catalog), vram));
        return (new PipelineHost(options, catalog, () => OrtRuntime.Load(), guard, NullLoggerFactory.Instance), guard);
    }

    [Fact]
    public async Task AfterACardFaultTheNextRunLoadsTheModelAfresh()
    {
        Assert.False(CudaRuntimeHere, "This test needs a machine without the CUDA runtime, as CI is.");
        var (host, loads) = Host(ProviderChoice.Cuda);
        using var _ = host;

        var first = await Assert.ThrowsAsync<OnnxRuntimeException>(() => host.RunAsync(Request, null, CancellationToken.None));
        Assert.True(OrtFailures.IsCardFault(first));
        Assert.Equal((1, ModelState.Error), (loads.ModelsLoaded, host.State));

        await Assert.ThrowsAsync<OnnxRuntimeException>(() => host.RunAsync(Request, null, CancellationToken.None));
        Assert.Equal(2, loads.ModelsLoaded);
    }

    [Fact]
    public async Task AJobsOwnFailureKeepsTheLoadedModel()
    {
        var (host, loads) = Host(ProviderChoice.Cpu);
        using var _ = host;
        await host.RunAsync(Request, null, CancellationToken.None);

        await Assert.ThrowsAsync<ArgumentException>(() => host.RunAsync(Request with { Steps = 0 }, null, CancellationToken.None));
        await host.RunAsync(Request, null, CancellationToken.None);

        Assert.Equal((1, 3, ModelState.Ready), (loads.ModelsLoaded, host.OpenSessionCount, host.State));
    }

    /// <summary>The host reports the loaded model's bytes each time it builds a pipeline: a count of model loads.</summary>
    private sealed class CountingGuard(IVramGuard inner) : IVramGuard
    {
        private int _loaded;

        public int ModelsLoaded => Volatile.Read(ref _loaded);

        public long EstimatePeakBytes(GenerationRequest request, ResidencyPolicy mode) => inner.EstimatePeakBytes(request, mode);
        public string? CheckNeverFits(GenerationRequest request) => inner.CheckNeverFits(request);
        public bool FitsNow(GenerationRequest request, out string? waitingReason) => inner.FitsNow(request, out waitingReason);
        public ResidencyDecision DecideResidency(GenerationRequest request) => inner.DecideResidency(request);
        public bool IsOutOfMemory(Exception error) => inner.IsOutOfMemory(error);
        public void NoteOutOfMemory() => inner.NoteOutOfMemory();

        public void ReportLoadedModelBytes(long bytes)
        {
            if (bytes > 0)
                Interlocked.Increment(ref _loaded);
            inner.ReportLoadedModelBytes(bytes);
        }
    }
}
