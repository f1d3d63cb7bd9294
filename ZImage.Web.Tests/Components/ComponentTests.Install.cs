using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using ZImage.Engine.Jobs;
using ZImage.Engine.Models;
using ZImage.Engine.Models.Install;
using ZImage.Web.Components.Pages;
using ZImage.Web.Tests.Kit;
using ZImage.Web.Ui.I18n;
using ZImage.Web.Ui.Settings;

namespace ZImage.Web.Tests.Components;

/// <summary>Settings → Model → Install Z-Image-Turbo, with the downloader and converter faked.</summary>
public partial class ComponentTests
{
    private static readonly string BuiltSelfTest = Path.Combine(AppContext.BaseDirectory, "models", "self-test-tiny");

    private static readonly Action<IServiceCollection, ConfigurationManager> WithInstaller = (services, configuration) =>
    {
        // As the app does: the saved settings file is a configuration source, so saving reaches the engine's options.
        configuration.AddJsonFile(Path.Combine(configuration["ZImage:Jobs:DataDirectory"]!, StudioPaths.SettingsFileName), optional: true, reloadOnChange: false);
        services.AddSingleton<ICheckpointDownloader, NoHubDownloader>();
        services.AddSingleton<ICheckpointConverter>(new CopyingConverter(BuiltSelfTest));
        services.AddSingleton<IInstallCheck, PassingCheck>();
    };

    [Fact]
    public async Task TheInstallSectionOffersThreeSourcesInBothLanguages()
    {
        await using var studio = await TestStudio.StartAsync(model: ModelState.NotInstalled, configure: WithInstaller);

        var english = Decoded(await studio.RenderAsync<Settings>());
        studio.Localizer.SetLanguage(UiLanguage.Chinese);
        var chinese = VisibleText(await studio.RenderAsync<Settings>());

        Assert.Contains("id=\"install-source-folder\"", english);
        Assert.Contains("id=\"install-source-hf\"", english);
        Assert.Contains("id=\"install-source-modelscope\"", english);
        Assert.Contains("id=\"install-endpoint\"", english); // Hugging Face is the first choice, with its mirror field
        Assert.Contains("What will it take?", english);
        Assert.Contains("安装 Z-Image-Turbo", chinese);
        Assert.Contains("需要多少资源？", chinese);
        var leftovers = EnglishWords(chinese).Except(AllowedInChinese).ToList();
        Assert.True(leftovers.Count == 0, $"English left in the Chinese install section: {string.Join(", ", leftovers)}");
    }

    [Fact]
    public async Task InAccountsModeOnlyAnAdministratorMayInstallAndTheServerChecksIt()
    {
        var folder = Path.Combine(Path.GetTempPath(), "zimage-web-tests", Guid.NewGuid().ToString("N"));
        await using var studio = await TestStudio.StartAsync(isAdmin: false, configure: WithInstaller,
            settings: new Dictionary<string, string?> { ["ZImage:Web:Mode"] = "Accounts" });
        var actions = studio.Get<ModelInstallActions>();
        var request = new InstallRequest(new InstallSource.Folder(folder), Path.Combine(folder, "m"), new ConvertOptions());

        // The page would hide the section; the actions refuse on their own too.
        Assert.False(actions.Allowed);
        await Assert.ThrowsAsync<UnauthorizedAccessException>(() => actions.PlanAsync(request, CancellationToken.None));
        Assert.Throws<UnauthorizedAccessException>(() => { _ = actions.Start(request); });
        Assert.Throws<UnauthorizedAccessException>(() => actions.Cancel());
        Assert.Contains("id=\"install-admin-only\"", await new InstallSectionHost(studio).RenderAsync());
    }

    [Fact]
    public async Task AFinishedInstallIsTheActiveModelWithoutARestart()
    {
        await using var studio = await TestStudio.StartAsync(model: ModelState.NotInstalled, configure: WithInstaller);
        var checkpoint = Directory.CreateDirectory(Path.Combine(studio.Folder, "checkpoint")).FullName;
        var actions = studio.Get<ModelInstallActions>();
        var catalog = studio.Get<IModelCatalog>();
        Assert.False(catalog.Current.IsSet);

        var final = await actions.Start(new InstallRequest(new InstallSource.Folder(checkpoint), actions.DefaultModelDirectory, new ConvertOptions()));

        Assert.True(final.State == InstallState.Succeeded, final.Message);
        Assert.Equal(actions.DefaultModelDirectory, catalog.Current.Directory);
        Assert.True(catalog.Current.IsUsable);
        Assert.StartsWith(Path.Combine(studio.Folder, "data"), actions.DefaultModelDirectory);
        var settings = Decoded(await studio.RenderAsync<Settings>());
        Assert.Contains("Installed: Z-Image-Turbo is now the active model.", settings);
    }

    [Fact]
    public void EveryReasonAnInstallCanStopForHasWordsInBothLanguages()
    {
        var reasons = new[] { "source", "busy", "target", "disk", "check", "other" }
            .Concat(Enum.GetNames<ZImage.Engine.Models.Install.Hub.HubFailure>().Select(f => $"hub.{f}"))
            .Concat(Enum.GetNames<ConvertFailure>().Select(f => $"convert.{f}"));

        Assert.All(reasons, r => Assert.Contains($"install.reason.{r}", UiText.Keys));
        Assert.Equal("convert.Fp16Overflow", InstallStatus.ReasonOf(new ConvertException(ConvertFailure.Fp16Overflow, "x")));
    }

    private sealed class NoHubDownloader : ICheckpointDownloader
    {
        public Task<DownloadPlan> PlanAsync(HubSource source, string cacheRoot, CancellationToken ct) => throw new HttpRequestException($"{source.Endpoint ?? "huggingface.co"} cannot be reached in this test");
        public Task<string> DownloadAsync(DownloadPlan plan, string cacheRoot, IProgress<InstallProgress>? progress, CancellationToken ct) => throw new InvalidOperationException("no hub in this test");
    }

    private sealed class PassingCheck : IInstallCheck
    {
        public Task<IReadOnlyList<string>> CheckAsync(string modelDirectory, CancellationToken ct) => Task.FromResult<IReadOnlyList<string>>([]);
    }

    private sealed class InstallSectionHost(TestStudio studio)
    {
        public Task<string> RenderAsync() => studio.RenderAsync<ZImage.Web.Components.Shared.ModelInstallSection>();
    }
}
