using Microsoft.Extensions.Configuration;
using ZImage.Engine.Memory;
using ZImage.Engine.Models;
using ZImage.Web.Ui.Settings;

namespace ZImage.Web.Tests.Ui;

public sealed class SettingsTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "zimage-settings-tests", Guid.NewGuid().ToString("N"));

    private (SettingsStore Store, StudioPaths Paths, ConfigurationManager Config) OpenStudio()
    {
        // As the app does at start-up: defaults, then the saved file as a configuration source.
        var config = new ConfigurationManager();
        config.AddInMemoryCollection(new Dictionary<string, string?> { ["ZImage:Jobs:DataDirectory"] = "data" });
        var paths = new StudioPaths(config, _root);
        config.AddJsonFile(paths.SettingsFile(), optional: true, reloadOnChange: false);
        return (new SettingsStore(config, paths), paths, config);
    }

    [Fact]
    public async Task SavedSettingsSurviveARestart()
    {
        var (store, _, _) = OpenStudio();
        var form = store.Load();
        form.MaxQueuedPerUser = 3;
        form.RetentionDays = 30;
        form.Residency = ResidencyPolicy.Sequential;
        form.Defaults = form.Defaults with { Steps = 12, NegativePrompt = "blurry" };
        Assert.Empty(await store.SaveAsync(form));

        var (reopened, _, config) = OpenStudio();
        var loaded = reopened.Load();
        Assert.Equal((3, 30, ResidencyPolicy.Sequential, 12, "blurry"),
            (loaded.MaxQueuedPerUser, loaded.RetentionDays, loaded.Residency, loaded.Defaults.Steps, loaded.Defaults.NegativePrompt));
        Assert.Equal("3", config["ZImage:Jobs:MaxQueuedPerUser"]);
        Assert.Equal("Sequential", config["ZImage:Memory:Residency"]);
    }

    [Fact]
    public async Task InvalidValuesAreRefusedNamingTheFieldAndNothingIsWritten()
    {
        var (store, paths, _) = OpenStudio();
        var form = store.Load();
        form.MaxQueuedPerUser = 0;
        form.Defaults = form.Defaults with { Width = 1000 };
        form.RetentionDays = -1;
        var problems = await store.SaveAsync(form);
        Assert.Equal(["MaxQueuedPerUser", "RetentionDays", "DefaultWidth"], problems.Select(p => p.Field));
        Assert.Equal("settings.problem.side", problems.Single(p => p.Field == "DefaultWidth").TextKey);
        Assert.False(File.Exists(paths.SettingsFile()));
    }

    [Theory]
    [InlineData("Cpu", "CPU")]
    [InlineData("cuda", "CUDA")]
    [InlineData("tensorrt", "TensorRT")]
    [InlineData("auto", "Auto")]
    public void AProviderWrittenAsTheEngineReadsItShowsAsTheMatchingChoice(string configured, string shown)
    {
        // The engine binds the enum case-insensitively; docs and tests write "Cpu", the form offers "CPU".
        var config = new ConfigurationManager();
        config.AddInMemoryCollection(new Dictionary<string, string?> { ["ZImage:Jobs:DataDirectory"] = "data", ["ZImage:Engine:Provider"] = configured });
        var form = new SettingsStore(config, new StudioPaths(config, _root)).Load();
        Assert.Equal(shown, form.ExecutionProvider);
        Assert.Contains(form.ExecutionProvider, ExecutionProviders.All);
    }

    [Fact]
    public void WebGpuSavedByAnOlderVersionIsRefusedWithTheChoicesThereAre()
    {
        // WebGPU is not in ONNX Runtime's NuGet build (docs/performance.md); a settings file that still names it must say so.
        var config = new ConfigurationManager();
        config.AddInMemoryCollection(new Dictionary<string, string?> { ["ZImage:Jobs:DataDirectory"] = "data", ["ZImage:Engine:Provider"] = "WebGpu" });
        var paths = new StudioPaths(config, _root);
        var form = new SettingsStore(config, paths).Load();

        var problem = Assert.Single(form.Validate(paths.Resolve), p => p.Field == nameof(SettingsForm.ExecutionProvider));

        Assert.Equal("settings.problem.choice", problem.TextKey);
        Assert.Equal(["Auto, CUDA, TensorRT, CPU"], problem.Args);
    }

    [Fact]
    public void AMissingModelFolderIsNamed()
    {
        var (_, paths, _) = OpenStudio();
        var form = new SettingsForm { ModelDirectory = "no/such/folder" };
        var problem = Assert.Single(form.Validate(paths.Resolve));
        Assert.Equal(("ModelDirectory", "settings.problem.folderMissing"), (problem.Field, problem.TextKey));
    }

    [Fact]
    public void AFolderWithANulCharacterIsReportedMissingNotThrown()
    {
        var (_, paths, _) = OpenStudio();
        var resolved = paths.Resolve("models/bad\0name");
        var report = ModelFolderCheck.Run(resolved);
        Assert.Equal(ModelFolderState.Missing, report.State);
    }

    [Fact]
    public void HealthCheckReportsWhatAModelFolderLacks()
    {
        var folder = Path.Combine(_root, "model");
        Directory.CreateDirectory(Path.Combine(folder, "transformer"));
        File.WriteAllText(Path.Combine(folder, "zimage.json"), "{ not json");
        File.WriteAllBytes(Path.Combine(folder, "transformer", "model.onnx"), [1, 2, 3]);
        var report = ModelFolderCheck.Run(folder);
        Assert.Equal(ModelFolderState.Incomplete, report.State);
        Assert.Equal("settings.health.badManifest", report.Problems[0].TextKey);
        Assert.Contains(("settings.health.fileMissing", "tokenizer/tokenizer.json"), report.Problems);
        Assert.DoesNotContain(("settings.health.fileMissing", "transformer/model.onnx"), report.Problems);

        File.WriteAllText(Path.Combine(folder, "zimage.json"), """{ "format": "zimage-onnx", "random_weights": true }""");
        foreach (var part in new[] { "tokenizer/tokenizer.json", "text_encoder/model.onnx", "text_encoder/model.onnx.data", "transformer/model.onnx.data", "vae_decoder/model.onnx", "vae_decoder/model.onnx.data" })
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(folder, part))!);
            File.WriteAllBytes(Path.Combine(folder, part), [1]);
        }
        // Every file present but none of them real: the engine's check (manifest numbers, recorded sizes) speaks up.
        var junk = ModelFolderCheck.Run(folder);
        Assert.Equal(ModelFolderState.Incomplete, junk.State);
        Assert.Contains(junk.Problems, p => p.TextKey == "settings.health.engineProblem");
        var ready = ModelFolderCheck.Run(Path.Combine(AppContext.BaseDirectory, "models", "self-test-tiny"));
        Assert.Equal(ModelFolderState.Ready, ready.State);
        Assert.True(ready.IsSelfTest);
        Assert.Equal(ModelFolderState.Missing, ModelFolderCheck.Run(Path.Combine(_root, "absent")).State);
    }

    public void Dispose()
    {
        if (Directory.Exists(_root))
            Directory.Delete(_root, recursive: true);
    }
}
