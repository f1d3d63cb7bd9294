using Microsoft.Extensions.Logging.Abstractions;
using ZImage.Engine.Models;
using ZImage.Engine.Models.Install;
using ZImage.Engine.Onnx;
using ZImage.Engine.Pipeline;

namespace ZImage.Engine.Tests.Models.Install;

/// <summary>
/// No stand-ins: the committed tiny checkpoint in the official layout, the real converter and a real 256² test picture
/// on the CPU, through the install service to the active model.
/// </summary>
public sealed class EndToEndInstallTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("zimage-e2e-install-").FullName;

    private ModelInstallService Service(RecordingActivator activator) => new(
        new FakeDownloader(_root, new ManualClock()), new CheckpointConverter(),
        new PipelineInstallCheck(() => OrtRuntime.Load(), () => new EngineOptions { Provider = ProviderChoice.Cpu }, NullLoggerFactory.Instance),
        activator, new DriveDiskSpace(), new InstallOptions { CacheDirectory = Path.Combine(_root, "cache") }, TimeProvider.System);

    [Fact]
    public async Task TheTinyOfficialCheckpointBecomesAWorkingActiveModel()
    {
        var checkpoint = TinyCheckpoint.WriteWithTokenizer(Path.Combine(_root, "tiny-checkpoint"));
        var target = Path.Combine(_root, "models", "tiny");
        var activator = new RecordingActivator();
        var service = Service(activator);
        var stages = new List<InstallStage>();
        service.Changed += s => { if (s is { IsRunning: true, Stage: { } stage } && !stages.Contains(stage)) stages.Add(stage); };
        // The page's and the command's defaults: fp16 weights, fp32 VAE.
        var request = new InstallRequest(new InstallSource.Folder(checkpoint), target, new ConvertOptions());

        var plan = await service.PlanAsync(request, CancellationToken.None);
        var final = await service.InstallAsync(request, null, CancellationToken.None);

        Assert.True(final.State == InstallState.Succeeded, final.Message);
        Assert.Equal([InstallStage.Convert, InstallStage.Check], stages);
        Assert.Equal([target], activator.Activated);
        var model = ModelEntry.Read(target, target);
        Assert.True(model.IsUsable, model.Describe());
        Assert.InRange(model.TotalBytes, 1, plan.OutputBytes); // the estimate is an upper bound, as the disk check needs
        Assert.False(Directory.Exists(target + CheckpointConverter.PartialSuffix));
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);
}
