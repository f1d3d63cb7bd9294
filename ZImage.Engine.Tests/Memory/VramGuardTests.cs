using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using ZImage.Engine.Jobs;
using ZImage.Engine.Memory;
using ZImage.Engine.Models;
using ZImage.Engine.Pipeline;
using ZImage.Engine.Tests.Jobs;

namespace ZImage.Engine.Tests.Memory;

public class VramGuardTests
{
    internal static VramGuard Guard(IGpuMemoryProbe probe, VramOptions? options = null)
    {
        var o = options ?? new VramOptions();
        return new VramGuard(probe, new OptionsModelFootprintSource(new StaticMonitor<VramOptions>(o), new ModelCatalog(new StaticMonitor<EngineOptions>(new EngineOptions()))), new StaticMonitor<VramOptions>(o));
    }

    private static GenerationRequest Request(int w, int h, int count = 1, float cfg = 0) =>
        new() { Prompt = "x", Width = w, Height = h, Count = count, Cfg = cfg };

    [Fact]
    public void AJobThatCanNeverFitIsRefusedWithSizesThatWouldFit()
    {
        // Images sharing one transformer batch make the count a lever too (ZImagePipeline loops them instead).
        var guard = Guard(FakeMemoryProbe.Gpu(totalGiB: 48, freeGiB: 48), new VramOptions { ImagesShareOneBatch = true });

        string? message = guard.CheckNeverFits(Request(2048, 2048, count: 4));

        Assert.NotNull(message);
        Assert.StartsWith("2048x2048 x4 needs ~", message);
        Assert.Contains("this GPU has 48 GB: try ", message);
        // The largest count that fits at this size is offered, and it really fits.
        var count = System.Text.RegularExpressions.Regex.Match(message, @"try (\d) images? or");
        Assert.True(count.Success, message);
        int fittingCount = int.Parse(count.Groups[1].Value);
        Assert.Null(guard.CheckNeverFits(Request(2048, 2048, count: fittingCount)));
        Assert.NotNull(guard.CheckNeverFits(Request(2048, 2048, count: fittingCount + 1)));
        // The suggested size really fits with the requested count.
        var size = System.Text.RegularExpressions.Regex.Match(message, @"or (\d+)x(\d+)\.$");
        Assert.True(size.Success, message);
        Assert.Null(guard.CheckNeverFits(Request(int.Parse(size.Groups[1].Value), int.Parse(size.Groups[2].Value), count: 4)));
        Assert.Null(guard.CheckNeverFits(Request(2048, 2048, count: 1)));
        Assert.Equal("2048x2048 x4 needs ~50 GB; this GPU has 48 GB: try 3 images or 1952x1952.", message);
    }

    [Fact]
    public void WithoutAGpuNothingIsRefusedOrHeld()
    {
        var guard = Guard(new FakeMemoryProbe(null));

        Assert.Null(guard.CheckNeverFits(Request(2048, 2048, count: 4)));
        Assert.True(guard.FitsNow(Request(2048, 2048, count: 4), out var reason));
        Assert.Null(reason);
        Assert.Equal(ResidencyPolicy.Resident, guard.DecideResidency(Request(1024, 1024)).Mode);
    }

    [Fact]
    public void PeakGrowsWithSizeAndGuidanceWithCountOnlyWhenImagesShareABatchAndSequentialNeedsLess()
    {
        var guard = Guard(FakeMemoryProbe.Gpu(80, 80));
        long small = guard.EstimatePeakBytes(Request(1024, 1024), ResidencyPolicy.Resident);

        Assert.True(guard.EstimatePeakBytes(Request(1536, 1536), ResidencyPolicy.Resident) > small);
        Assert.Equal(small, guard.EstimatePeakBytes(Request(1024, 1024, count: 2), ResidencyPolicy.Resident));
        var batched = Guard(FakeMemoryProbe.Gpu(80, 80), new VramOptions { ImagesShareOneBatch = true });
        Assert.True(batched.EstimatePeakBytes(Request(1024, 1024, count: 2), ResidencyPolicy.Resident) > small);
        Assert.True(guard.EstimatePeakBytes(Request(1024, 1024, cfg: 3), ResidencyPolicy.Resident) > small);
        Assert.True(guard.EstimatePeakBytes(Request(1024, 1024), ResidencyPolicy.Sequential) < small);
    }

    [Fact]
    public void AutoResidencyKeepsModelsLoadedOnlyWhenTheyFitAndGoesSequentialAfterAnOutOfMemory()
    {
        var big = Guard(FakeMemoryProbe.Gpu(80, 80));
        var small = Guard(FakeMemoryProbe.Gpu(16, 16));
        var forced = Guard(FakeMemoryProbe.Gpu(80, 80), new VramOptions { Residency = ResidencyPolicy.Sequential });

        Assert.Equal(ResidencyPolicy.Resident, big.DecideResidency(Request(1024, 1024)).Mode);
        Assert.Equal(ResidencyPolicy.Sequential, small.DecideResidency(Request(1024, 1024)).Mode);
        Assert.Equal(ResidencyPolicy.Sequential, forced.DecideResidency(Request(1024, 1024)).Mode);
        big.NoteOutOfMemory();
        Assert.Equal(ResidencyPolicy.Sequential, big.DecideResidency(Request(1024, 1024)).Mode);
    }

    [Fact]
    public void ResidentModelSizesComeFromTheModelFiles()
    {
        string dir = Path.Combine(JobsHost.NewRoot(), "model");
        Directory.CreateDirectory(Path.Combine(dir, "text_encoder"));
        File.WriteAllBytes(Path.Combine(dir, "text_encoder", "model.onnx"), new byte[1000]);
        File.WriteAllBytes(Path.Combine(dir, "text_encoder", "model.onnx.data"), new byte[3000]);
        File.WriteAllBytes(Path.Combine(dir, "vae_decoder.onnx"), new byte[500]);

        var footprint = ModelFootprint.FromOptions(new VramOptions { TransformerBytes = 7 }, dir);

        Assert.Equal(new ModelFootprint(4000, 7, 500), footprint);
    }

    /// <summary>
    /// A folder with the full-size fp16 export's file sizes (sparse files, nothing written): text encoder and
    /// transformer as exported, the VAE decoder in fp16 when asked (export --vae-dtype fp16).
    /// </summary>
    private static string FullSizeModel(bool vaeFp16)
    {
        string dir = Path.Combine(JobsHost.NewRoot(), "model");
        void Sized(string relative, long bytes)
        {
            var path = Path.Combine(dir, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            using var file = File.Create(path);
            file.SetLength(bytes);
        }
        Sized("text_encoder/model.onnx", 232_397);
        Sized("text_encoder/model.onnx.data", 7_843_553_280);
        Sized("transformer/model.onnx", 282_677);
        Sized("transformer/model.onnx.data", 12_587_659_264);
        Sized("vae_decoder/model.onnx", 120_000);
        Sized("vae_decoder/model.onnx.data", vaeFp16 ? 98_900_000 : 197_800_000);
        // The self-test model's manifest with the VAE dtype of this export: the footprint reads it as the engine does.
        var manifest = JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "models", "self-test-tiny", "zimage.json")))!;
        manifest["dtypes"]!["vae_decoder"] = vaeFp16 ? "fp16" : "fp32";
        File.WriteAllText(Path.Combine(dir, "zimage.json"), manifest.ToJsonString());
        return dir;
    }

    private static VramGuard GuardFor(string modelDirectory, IGpuMemoryProbe probe, VramOptions? options = null)
    {
        var o = options ?? new VramOptions();
        return new VramGuard(probe, new OptionsModelFootprintSource(new StaticMonitor<VramOptions>(o),
            new ModelCatalog(new StaticMonitor<EngineOptions>(new EngineOptions { ModelDirectory = modelDirectory }))), new StaticMonitor<VramOptions>(o));
    }

    [Theory]
    // NVML peaks of `bench --lean` with the fp16 VAE on an H100 (docs/performance.md, 05:00 UTC calls), in MiB.
    [InlineData(512, 22_584)]
    [InlineData(1024, 25_232)]
    [InlineData(1536, 29_280)]
    public void TheLeanEstimateCoversWhatWasMeasuredAndNotByMuch(int side, long measuredMiB)
    {
        var guard = GuardFor(FullSizeModel(vaeFp16: true), FakeMemoryProbe.Gpu(80, 80));

        double estimateMiB = guard.EstimatePeakBytes(Request(side, side), ResidencyPolicy.Lean) / (1024.0 * 1024);

        Assert.InRange(estimateMiB, measuredMiB, measuredMiB * 1.04);
    }

    [Fact]
    public void AnFp16VaeNeedsLessThanAnFp32OneAndLeanLessThanResident()
    {
        var half = GuardFor(FullSizeModel(vaeFp16: true), FakeMemoryProbe.Gpu(80, 80));
        var full = GuardFor(FullSizeModel(vaeFp16: false), FakeMemoryProbe.Gpu(80, 80));
        var request = Request(1024, 1024);

        Assert.True(half.EstimatePeakBytes(request, ResidencyPolicy.Lean) < full.EstimatePeakBytes(request, ResidencyPolicy.Lean));
        Assert.True(half.EstimatePeakBytes(request, ResidencyPolicy.Resident) < full.EstimatePeakBytes(request, ResidencyPolicy.Resident));
        // Measured resident with the fp16 VAE and the engine's CUDA defaults: 27,466 MiB. The estimate stays above it.
        Assert.True(half.EstimatePeakBytes(request, ResidencyPolicy.Resident) >= 27_466L * 1024 * 1024);
        Assert.True(half.EstimatePeakBytes(request, ResidencyPolicy.Lean) < half.EstimatePeakBytes(request, ResidencyPolicy.Resident));
        Assert.True(half.EstimatePeakBytes(request, ResidencyPolicy.Sequential) < half.EstimatePeakBytes(request, ResidencyPolicy.Lean));
    }

    [Fact]
    public void OnA24GbCardAutoSharesWorkingMemoryWhereThatFitsAndLoadsPartsInTurnWhereItDoesNot()
    {
        // An RTX 4090 has 24 GiB; the 1 GiB safety margin leaves 23.
        var card = GuardFor(FullSizeModel(vaeFp16: true), FakeMemoryProbe.Gpu(24, 24));
        var h100 = GuardFor(FullSizeModel(vaeFp16: true), FakeMemoryProbe.Gpu(80, 80));

        var small = card.DecideResidency(Request(512, 512));
        Assert.Equal(ResidencyPolicy.Lean, small.Mode);
        Assert.Contains("hands its workspace back", small.Reason);
        Assert.Equal(ResidencyPolicy.Sequential, card.DecideResidency(Request(1024, 1024)).Mode);
        Assert.Equal(ResidencyPolicy.Resident, h100.DecideResidency(Request(1024, 1024)).Mode);
        // Chosen in Settings, Lean is what runs, and what a never-fits check measures against.
        var leanCard = GuardFor(FullSizeModel(vaeFp16: true), FakeMemoryProbe.Gpu(24, 24), new VramOptions { Residency = ResidencyPolicy.Lean });
        Assert.Equal(ResidencyPolicy.Lean, leanCard.DecideResidency(Request(1024, 1024)).Mode);
        Assert.StartsWith("1024x1024 needs ~25 GB; this GPU has 24 GB: try ", leanCard.CheckNeverFits(Request(1024, 1024)));
    }

    [Fact]
    public void ALinkedPartWeighsWhatItsTargetWeighs()
    {
        string dir = Path.Combine(JobsHost.NewRoot(), "model");
        string shared = Path.Combine(JobsHost.NewRoot(), "shared");
        Directory.CreateDirectory(Path.Combine(dir, "transformer"));
        Directory.CreateDirectory(shared);
        File.WriteAllBytes(Path.Combine(shared, "model.onnx.data"), new byte[6000]);
        File.CreateSymbolicLink(Path.Combine(dir, "transformer", "model.onnx.data"), Path.Combine(shared, "model.onnx.data"));

        var footprint = ModelFootprint.FromOptions(new VramOptions { TextEncoderBytes = 1, VaeBytes = 2 }, dir);

        Assert.Equal(new ModelFootprint(1, 6000, 2), footprint);
    }

    [Fact]
    public void OnlyTheDedicatedExceptionCountsAsOutOfMemory()
    {
        var guard = Guard(new FakeMemoryProbe(null));

        Assert.True(guard.IsOutOfMemory(new GpuOutOfMemoryException("cuda")));
        Assert.True(guard.IsOutOfMemory(new InvalidOperationException("wrapped", new GpuOutOfMemoryException("cuda"))));
        Assert.True(guard.IsOutOfMemory(new AggregateException(new GpuOutOfMemoryException("cuda"))));
        Assert.False(guard.IsOutOfMemory(new InvalidOperationException("out of memory")));
    }

    [Fact]
    public async Task SubmittingAJobThatCanNeverFitIsRefusedBeforeItQueues()
    {
        await using var host = await JobsHost.StartAsync(JobsHost.NewRoot(), probe: FakeMemoryProbe.Gpu(24, 24));

        var result = await host.Jobs.SubmitAsync(new JobRequest { Settings = new() { Prompt = "x", Width = 2048, Height = 2048, Count = 4 } }, new Caller("ann"));

        Assert.Equal(RefusalKind.TooLargeForGpu, result.Refusal);
        Assert.Equal("size", result.Problems.Single().Field);
        Assert.Empty(host.Jobs.ListQueue(new Caller("ann")));
    }

    [Fact]
    public async Task AJobThatFitsOnlyLaterIsHeldUntilMemoryFrees()
    {
        var probe = FakeMemoryProbe.Gpu(totalGiB: 24, freeGiB: 2);
        await using var host = await JobsHost.StartAsync(JobsHost.NewRoot(), probe: probe);
        await host.StartWorkerAsync();

        var job = await host.SubmitAsync("ann", 1024, 1024);
        await host.Events.UntilAsync(() => host.Events.Of<JobQueued>().Any(e => e.JobId == job.Id && e.Notice?.StartsWith("Waiting for GPU memory") == true),
            "the hold notice");
        Assert.Empty(host.Pipeline.Started);
        Assert.StartsWith("Waiting for GPU memory", (await host.Jobs.GetAsync(job.Id, new Caller("ann")))!.Notice);

        probe.SetFree(23);
        await host.UntilFinalAsync(job.Id);

        Assert.Single(host.Events.Of<JobSucceeded>(), e => e.JobId == job.Id);
    }

    [Fact]
    public async Task AnOutOfMemoryFailsTheJobPlainlyAndTheWorkerGoesOn()
    {
        var pipeline = new FakePipeline { FailWith = r => r.Count > 1 ? new GpuOutOfMemoryException("CUDA failure 2: out of memory; GPU=0") : null };
        await using var host = await JobsHost.StartAsync(JobsHost.NewRoot(), pipeline,
            settings: new() { ["ZImage:Jobs:RetryOutOfMemoryOneImageAtATime"] = "false" });
        await host.StartWorkerAsync();

        var tooMuch = await host.SubmitAsync("ann", count: 3);
        var next = await host.SubmitAsync("ann", count: 1);
        await host.UntilFinalAsync(tooMuch.Id);
        await host.UntilFinalAsync(next.Id);

        var failed = host.Events.Of<JobFailed>().Single(e => e.JobId == tooMuch.Id);
        Assert.True(failed.OutOfMemory);
        Assert.StartsWith("The GPU ran out of memory", failed.Reason);
        Assert.DoesNotContain("CUDA", failed.Reason);
        Assert.Equal(JobStatus.Failed, (await host.Store.GetJobAsync(tooMuch.Id))!.Status);
        Assert.Single(host.Events.Of<JobSucceeded>(), e => e.JobId == next.Id);
        Assert.Equal(1, host.Status.GetStatus().OutOfMemoryCount);
    }

    [Fact]
    public async Task AnOutOfMemoryIsRetriedOnceOneImageAtATimeWhenEnabled()
    {
        var pipeline = new FakePipeline { FailWith = r => r.Count > 1 ? new GpuOutOfMemoryException("out of memory") : null };
        await using var host = await JobsHost.StartAsync(JobsHost.NewRoot(), pipeline);
        await host.StartWorkerAsync();

        var job = await host.Jobs.SubmitAsync(
            new JobRequest { Settings = new() { Prompt = "x", Width = 512, Height = 512, Steps = 2, Count = 3, Seed = 100 }, SeedPolicy = SeedPolicy.Fixed }, new Caller("ann"));
        await host.UntilFinalAsync(job.Job!.Id);

        var finished = host.Events.Of<JobSucceeded>().Single();
        Assert.Equal(3, finished.ImageIds.Count);
        Assert.Contains("one at a time", finished.Notice);
        Assert.Equal([3, 1, 1, 1], pipeline.Started.Select(r => r.Count));
        Assert.Equal([100L, 100, 101, 102], pipeline.Started.Select(r => r.Seed));
        var images = await Task.WhenAll(finished.ImageIds.Select(id => host.History.GetImageAsync(id)));
        Assert.Equal([100L, 101, 102], images.Select(i => i!.Seed));
        Assert.Equal(ResidencyPolicy.Sequential, host.Guard.DecideResidency(job.Job.Request).Mode);
    }

    [Fact]
    public async Task ARetryThatRunsOutOfMemoryAgainFailsPlainly()
    {
        var pipeline = new FakePipeline { FailWith = _ => new GpuOutOfMemoryException("out of memory") };
        await using var host = await JobsHost.StartAsync(JobsHost.NewRoot(), pipeline);
        await host.StartWorkerAsync();

        var job = await host.SubmitAsync("ann", count: 2);
        await host.UntilFinalAsync(job.Id);

        Assert.Equal(2, pipeline.Started.Count);
        Assert.StartsWith("The GPU ran out of memory", host.Events.Of<JobFailed>().Single().Reason);
    }

    private sealed class StaticMonitor<T>(T value) : IOptionsMonitor<T>
    {
        public T CurrentValue => value;
        public T Get(string? name) => value;
        public IDisposable? OnChange(Action<T, string?> listener) => null;
    }
}
