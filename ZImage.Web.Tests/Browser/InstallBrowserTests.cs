using ZImage.Engine.Models;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using ZImage.Engine.Models.Install;
using ZImage.Engine.Onnx;
using ZImage.Engine.Pipeline;
using ZImage.Web.Tests.Kit;
using static Microsoft.Playwright.Assertions;

namespace ZImage.Web.Tests.Browser;

/// <summary>
/// Settings → Model → Install Z-Image-Turbo in Chromium: from a folder on this machine, what it takes, one progress
/// bar, cancel, then an install that ends with the new model active. The converter is a stand-in that copies the
/// self-test model (and waits where the test says); the test picture is real, on the CPU.
/// </summary>
[Collection(nameof(StudioBrowserTests))]
[Trait("Category", "Browser")]
public sealed class InstallBrowserTests(InstallStudioServer server) : IClassFixture<InstallStudioServer>
{
    [Fact]
    public async Task AnAdministratorInstallsFromAFolderWatchesOneBarCancelsOnceAndThenGetsTheModelActive()
    {
        await using var ann = await server.NewPersonAsync();
        await ann.ArriveAsAsync("Ann");
        var page = ann.Page;
        await ann.OpenAsync("/settings");
        var checkpoint = Directory.CreateTempSubdirectory("zimage-checkpoint-").FullName;

        await page.Locator("#install-source-folder").ClickAsync();
        await page.Locator("#install-folder").FillAsync(checkpoint);
        await page.Locator("#install-target").FillAsync(server.Target);
        await page.Locator("#install-plan").ClickAsync();
        await Expect(page.Locator("#install-disk")).ToContainTextAsync("Disk needed: 18 MB");
        await Expect(page.Locator("#install-time")).ToContainTextAsync("Time: about");
        await Expect(page.Locator("#install-plan-result")).ToContainTextAsync("An estimate: it assumes");

        // First try: the converter stops halfway; the bar shows the stage and bytes; Cancel ends it cleanly.
        await page.Locator("#install-start").ClickAsync();
        await Expect(page.Locator("#install-stage")).ToHaveTextAsync("Converting");
        await Expect(page.Locator("#install-bytes")).ToContainTextAsync(new System.Text.RegularExpressions.Regex("^(9|1[0-8]) MB of 18 MB$"));
        await ann.ScreenshotAsync("install-converting-1366x768");
        await page.Locator("#install-cancel").ClickAsync();
        await Expect(page.Locator("#install-result")).ToHaveAttributeAsync("data-state", "Cancelled");
        Assert.False(Directory.Exists(server.Target));

        // Second try runs through: convert, the 256×256 test picture, active without a restart.
        server.Converter.Hold = false;
        await page.Locator("#install-start").ClickAsync();
        await Expect(page.Locator("#install-result")).ToHaveAttributeAsync("data-state", "Succeeded", new() { Timeout = 60_000 });
        await Expect(page.Locator("#install-result")).ToContainTextAsync("Installed: Z-Image-Turbo is now the active model.");
        await Expect(page.Locator("#model-folder")).ToHaveValueAsync(server.Target);
        await ann.ScreenshotAsync("install-done-1366x768");
        Assert.True(ann.Errors.Count == 0, string.Join("\n", ann.Errors));
    }
}

/// <summary>The fake-pipeline studio with a stand-in converter and a real test picture on the CPU.</summary>
public sealed class InstallStudioServer : StudioServer
{
    public string Target { get; } = Path.Combine(Path.GetTempPath(), "zimage-install-target-" + Guid.NewGuid().ToString("N"), "z-image-turbo");
    public CopyingConverter Converter { get; } = new(Path.Combine(AppContext.BaseDirectory, "models", "self-test-tiny")) { Hold = true };

    protected override void ConfigureEngine(IWebHostBuilder web)
    {
        base.ConfigureEngine(web);
        web.ConfigureTestServices(services =>
        {
            services.AddSingleton<ICheckpointConverter>(Converter);
            services.AddSingleton<IInstallCheck>(new PipelineInstallCheck(() => OrtRuntime.Load(),
                () => new EngineOptions { Provider = ProviderChoice.Cpu }, NullLoggerFactory.Instance));
        });
    }
}
