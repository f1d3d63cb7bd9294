using Microsoft.Extensions.Logging.Abstractions;
using ZImage.Engine.Imaging;
using ZImage.Engine.Models;
using ZImage.Engine.Models.Install;
using ZImage.Engine.Onnx;
using ZImage.Engine.Pipeline;

namespace ZImage.Engine.Tests.Models.Install;

/// <summary>The install: plan, disk check, download, convert, one test picture, the active model; one at a time, cancellable.</summary>
public sealed class ModelInstallServiceTests : IDisposable
{
    private static readonly string SelfTest = Path.Combine(AppContext.BaseDirectory, "models", "self-test-tiny");
    private readonly string _root = Directory.CreateTempSubdirectory("zimage-install-").FullName;
    private readonly ManualClock _clock = new();
    private readonly RecordingActivator _activator = new();

    private string Target => Path.Combine(_root, "models", "z-image-turbo");
    private string History => Path.Combine(_root, "installs.jsonl");

    private ModelInstallService Service(ICheckpointDownloader downloader, ICheckpointConverter converter, IInstallCheck check, long freeBytes = 100_000_000_000) =>
        new(downloader, converter, check, _activator, new FixedDisk(freeBytes),
            new InstallOptions { CacheDirectory = Path.Combine(_root, "cache"), HistoryFile = History }, _clock);

    private static InstallRequest FromHub(string target) => new(new InstallSource.Hub(new HubSource(HubKind.HuggingFace, Endpoint: "https://hf-mirror.com")), target, new ConvertOptions());

    [Fact]
    public async Task AFolderOnThisMachineIsConvertedCheckedWithARealPictureAndMadeActive()
    {
        var checkpoint = Directory.CreateDirectory(Path.Combine(_root, "checkpoint")).FullName;
        var converter = new CopyingConverter(SelfTest);
        var check = new PipelineInstallCheck(() => OrtRuntime.Load(), () => new EngineOptions { Provider = ProviderChoice.Cpu }, NullLoggerFactory.Instance);
        var service = Service(new FakeDownloader(checkpoint, _clock), converter, check);
        var seen = new List<InstallStatus>();
        service.Changed += seen.Add;
        var request = new InstallRequest(new InstallSource.Folder(checkpoint), Target, new ConvertOptions(WeightDtype.Fp16, WeightDtype.Fp32));

        var plan = await service.PlanAsync(request, CancellationToken.None);
        Assert.Equal((0L, 2_000_000_000L), (plan.DownloadBytes, plan.DiskNeededBytes));

        var final = await service.InstallAsync(request, null, CancellationToken.None);

        Assert.True(final.State == InstallState.Succeeded, final.Message);
        Assert.Contains("now the active model", final.Message);
        Assert.Equal([Target], _activator.Activated);
        Assert.Equal((checkpoint, Target), (converter.Calls[0].Checkpoint, converter.Calls[0].ModelDir));
        Assert.True(ModelEntry.Read(Target, Target).IsUsable);
        Assert.Equal([InstallStage.Convert, InstallStage.Check], seen.Where(s => s.IsRunning).Select(s => s.Stage!.Value).Distinct());
        Assert.Equal(service.Status, final);
        Assert.Contains("\"state\":\"Succeeded\"", await File.ReadAllTextAsync(History));
    }

    [Fact]
    public async Task AHubInstallPlansTheDiskItNeedsDownloadsWithSpeedAndTimeLeftThenConverts()
    {
        var downloader = new FakeDownloader(Path.Combine(_root, "cache", "ckpt"), _clock, total: 4_000_000_000, cached: 1_000_000_000);
        var service = Service(downloader, new CopyingConverter(SelfTest), new FixedCheck());
        var seen = new List<InstallStatus>();

        var plan = await service.PlanAsync(FromHub(Target), CancellationToken.None);
        // 3 GB still to fetch + the folder: the shards stay 2 bytes a weight in fp16, the VAE doubles to fp32.
        Assert.Equal(3_000_000_000, plan.ToDownloadBytes);
        Assert.Equal(3_900_000_000 + 200_000_000, plan.OutputBytes);
        Assert.Equal(plan.ToDownloadBytes + plan.OutputBytes, plan.DiskNeededBytes);
        Assert.False(plan.DownloadSpeedMeasured);
        Assert.Equal(TimeSpan.FromSeconds(150), plan.DownloadTime); // 3 GB at the assumed 20 MB/s

        var final = await service.InstallAsync(FromHub(Target), new SyncProgress(seen.Add), CancellationToken.None);

        Assert.True(final.State == InstallState.Succeeded, final.Message);
        var download = seen.Where(s => s.Stage == InstallStage.Download).ToList();
        Assert.Equal([1_000_000_000, 2_000_000_000, 3_000_000_000, 4_000_000_000], download.Select(s => s.Done));
        Assert.All(download, s => Assert.Equal(4_000_000_000, s.Total));
        var middle = download[2];
        Assert.Equal(1e9, middle.BytesPerSecond, 3);
        Assert.Equal(TimeSpan.FromSeconds(1), middle.Eta);
        Assert.Contains(seen, s => s.Stage == InstallStage.Convert);
        Assert.Equal(InstallStage.Check, seen.Last(s => s.IsRunning).Stage);
        // The next plan states the speed this machine measured instead of the assumption.
        var next = await service.PlanAsync(FromHub(Path.Combine(_root, "other")), CancellationToken.None);
        Assert.True(next.DownloadSpeedMeasured);
        Assert.Equal(1e9, next.DownloadBytesPerSecond, 3);
    }

    [Fact]
    public async Task NotEnoughDiskIsRefusedUpFrontNamingHowMuchIsNeededAndNothingIsFetched()
    {
        var downloader = new FakeDownloader(_root, _clock, total: 4_000_000_000);
        var service = Service(downloader, new CopyingConverter(SelfTest), new FixedCheck(), freeBytes: 5_000_000_000);

        var final = await service.InstallAsync(FromHub(Target), null, CancellationToken.None);

        Assert.Equal((InstallState.Failed, "disk"), (final.State, final.ReasonKey));
        Assert.Equal("not enough free disk: the install needs 8.1 GB (4.0 GB to download, 4.1 GB for the model folder) and 5.0 GB is free", final.Message);
        Assert.Equal(0, downloader.Downloads);
        Assert.False(Directory.Exists(Target));
        Assert.Empty(_activator.Activated);
        Assert.Contains("not enough free disk", await File.ReadAllTextAsync(History));
    }

    [Fact]
    public async Task CancellingDuringTheDownloadLeavesNoModelFolderAndTheActiveModelUnchangedAndANewInstallMayStart()
    {
        var gate = new SemaphoreSlim(0); // no chunk arrives until the test says so
        var downloader = new FakeDownloader(_root, _clock) { Gate = gate };
        var converter = new CopyingConverter(SelfTest);
        var service = Service(downloader, converter, new FixedCheck());

        var running = service.InstallAsync(FromHub(Target), null, CancellationToken.None);
        await downloader.Started.Task;
        var refused = await service.InstallAsync(FromHub(Path.Combine(_root, "second")), null, CancellationToken.None)
            .ContinueWith(t => t.Exception?.InnerException);
        Assert.IsType<InstallRefusedException>(refused);
        Assert.Contains("another model install is running", refused!.Message);
        Assert.True(service.Cancel());
        var final = await running;

        Assert.Equal(InstallState.Cancelled, final.State);
        Assert.Contains("no model folder was made", final.Message);
        Assert.Empty(converter.Calls);
        Assert.False(Directory.Exists(Target));
        Assert.Empty(_activator.Activated);
        gate.Release(10);
        Assert.Equal(InstallState.Succeeded, (await service.InstallAsync(FromHub(Target), null, CancellationToken.None)).State);
    }

    [Fact]
    public async Task ATestPictureWithBrokenValuesFailsTheInstallInPlainWordsAndTheModelIsNotMadeActive()
    {
        var checkpoint = Directory.CreateDirectory(Path.Combine(_root, "checkpoint")).FullName;
        var service = Service(new FakeDownloader(checkpoint, _clock), new CopyingConverter(SelfTest), new FixedCheck("the test picture has 12 broken values (NaN or infinity)"));

        var final = await service.InstallAsync(new InstallRequest(new InstallSource.Folder(checkpoint), Target, new ConvertOptions()), null, CancellationToken.None);

        Assert.Equal((InstallState.Failed, "check"), (final.State, final.ReasonKey));
        Assert.Contains("test picture failed: the test picture has 12 broken values (NaN or infinity)", final.Message);
        Assert.Empty(_activator.Activated);
        Assert.Contains("\"state\":\"Failed\"", await File.ReadAllTextAsync(History));
    }

    [Fact]
    public async Task AnOccupiedTargetFolderIsRefusedBeforeAnythingIsWritten()
    {
        Directory.CreateDirectory(Target);
        await File.WriteAllTextAsync(Path.Combine(Target, "keep.txt"), "mine");
        var converter = new CopyingConverter(SelfTest);
        var service = Service(new FakeDownloader(_root, _clock), converter, new FixedCheck());

        var final = await service.InstallAsync(new InstallRequest(new InstallSource.Folder(_root), Target, new ConvertOptions()), null, CancellationToken.None);

        Assert.Equal(InstallState.Failed, final.State);
        Assert.Contains("already holds files", final.Message);
        Assert.Empty(converter.Calls);
        Assert.Equal("mine", await File.ReadAllTextAsync(Path.Combine(Target, "keep.txt")));
    }

    [Fact]
    public void TheCheckNamesAWrongSizeAndBrokenValuesInPlainWords()
    {
        var timings = new GenerationTimings(TimeSpan.Zero, TimeSpan.Zero, [], TimeSpan.Zero, TimeSpan.Zero);
        var wrong = new GenerationResult([new GeneratedImage(new RgbImage(128, 256, new byte[128 * 256 * 3]), 1)], false, timings) { NonFiniteValues = 3 };
        var fine = new GenerationResult([new GeneratedImage(new RgbImage(256, 256, new byte[256 * 256 * 3]), 1)], false, timings);

        var problems = PipelineInstallCheck.Judge(wrong).ToList();

        Assert.Equal(2, problems.Count);
        Assert.StartsWith("the test picture came out 128×256 instead of 256×256", problems[0]);
        Assert.StartsWith("the test picture has 3 broken values (NaN or infinity)", problems[1]);
        Assert.Empty(PipelineInstallCheck.Judge(fine));
    }

    private sealed class SyncProgress(Action<InstallStatus> report) : IProgress<InstallStatus>
    {
        public void Report(InstallStatus value) => report(value);
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);
}
