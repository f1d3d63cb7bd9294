using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Playwright;
using ZImage.Engine.Jobs;
using ZImage.Engine.Memory;
using ZImage.Engine.Pipeline;
using ZImage.Web.Tests.Kit;

namespace ZImage.Web.Tests.Browser;

/// <summary>
/// The real app (Program, Kestrel on a free loopback port) with the fake pipeline, and Debian's Chromium driven
/// by Playwright. One per test class: starting Chromium is the slow part, so the few browser tests share it.
/// </summary>
public class StudioServer : IAsyncLifetime
{
    public const string ChromiumPath = "/usr/bin/chromium";

    private readonly string _folder = Path.Combine(Path.GetTempPath(), "zimage-browser-tests", Guid.NewGuid().ToString("N"));
    private WebApplicationFactory<Program>? _factory;
    private IPlaywright? _playwright;

    public FakePipeline Pipeline { get; } = new() { StepTime = TimeSpan.FromMilliseconds(120), StepDelay = TimeSpan.FromMilliseconds(120) };
    public IBrowser Browser { get; private set; } = default!;
    public string BaseUrl { get; private set; } = "";
    public IServiceProvider Services => _factory!.Services;

    /// <summary>Screenshots go here; CI keeps the folder as an artifact.</summary>
    public static string ArtifactsFolder =>
        Environment.GetEnvironmentVariable("ZIMAGE_ARTIFACTS") is { Length: > 0 } dir ? dir : Path.Combine(TestFolders.RepositoryRoot() ?? AppContext.BaseDirectory, "artifacts", "screenshots");

    public async Task InitializeAsync()
    {
        if (!File.Exists(ChromiumPath))
            throw new InvalidOperationException($"{ChromiumPath} is missing: install Debian's chromium (apt-get install -y chromium).");
        Directory.CreateDirectory(_folder);
        _factory = new WebApplicationFactory<Program>().WithWebHostBuilder(web =>
        {
            web.UseSetting("ZImage:Jobs:DataDirectory", Path.Combine(_folder, "data"));
            web.UseSetting("ZImage:Jobs:OutputDirectory", Path.Combine(_folder, "outputs"));
            web.UseEnvironment("Production");
            // appsettings.json asks for localhost:7860, where the owner may be running the studio: the test server
            // takes a free loopback port instead (the Urls setting wins over UseKestrel's port).
            web.UseSetting("urls", "http://127.0.0.1:0");
            ConfigureEngine(web);
        });
        _factory.UseKestrel(0);
        _factory.StartServer();
        BaseUrl = _factory.ClientOptions.BaseAddress.ToString();

        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
        });
    }

    /// <summary>The fake pipeline on a simulated GPU: tests decide when steps happen.</summary>
    protected virtual void ConfigureEngine(IWebHostBuilder web)
    {
        web.UseSetting("ZImage:Jobs:InitialSecondsPerStepAt1024", "0.12");
        // The simulated GPU's provider, so the status bar tells one story ("Runs on CUDA" beside the GPU's name).
        web.UseSetting("ZImage:Engine:Provider", "Cuda");
        web.ConfigureTestServices(services =>
        {
            services.Replace(ServiceDescriptor.Singleton<IImagePipeline>(Pipeline));
            services.Replace(ServiceDescriptor.Singleton<IGpuMemoryProbe>(FakeMemoryProbe.TestGpu()));
            services.Replace(ServiceDescriptor.Singleton<IModelStatus>(new FixedModelStatus(ModelState.Ready)));
        });
    }

    /// <summary>A person with their own cookies; console errors and failed requests are collected for the test to check.</summary>
    public async Task<Person> NewPersonAsync(int width = 1366, int height = 768, string locale = "en-US")
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = BaseUrl,
            ViewportSize = new ViewportSize { Width = width, Height = height },
            Locale = locale,
        });
        var page = await context.NewPageAsync();
        var person = new Person(context, page);
        page.Console += (_, m) => { if (m.Type == "error") person.Errors.Add($"console: {m.Text}"); };
        page.PageError += (_, e) => person.Errors.Add($"page error: {e}");
        page.Response += (_, r) => { if (r.Status >= 400) person.Errors.Add($"HTTP {r.Status} {r.Url}"); };
        return person;
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null)
            await Browser.DisposeAsync();
        _playwright?.Dispose();
        if (_factory is not null)
            await _factory.DisposeAsync();
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>
/// The app as a designer runs it after choosing the self-test model in Settings: the real PipelineHost, ONNX Runtime on
/// the CPU and the committed tiny model (its pictures are noise), this machine's real (absent) GPU.
/// </summary>
public sealed class TinyModelStudioServer : StudioServer
{
    protected override void ConfigureEngine(IWebHostBuilder web)
    {
        web.UseSetting("ZImage:Engine:ModelDirectory", Path.Combine(AppContext.BaseDirectory, "models", "self-test-tiny"));
        web.UseSetting("ZImage:Engine:Provider", "Cpu");
    }
}

/// <summary>Accounts mode (sign-in, administrator, API tokens) with the fake pipeline.</summary>
public sealed class AccountsStudioServer : StudioServer
{
    protected override void ConfigureEngine(IWebHostBuilder web)
    {
        base.ConfigureEngine(web);
        web.UseSetting("ZImage:Web:Mode", "Accounts");
    }
}

public sealed record Person(IBrowserContext Context, IPage Page) : IAsyncDisposable
{
    public List<string> Errors { get; } = [];

    /// <summary>Opens the studio and picks a display name, as a person does on their first visit.</summary>
    public async Task ArriveAsAsync(string name)
    {
        await OpenAsync("/");
        await Page.Locator("#display-name").FillAsync(name);
        await Page.Locator("#name-continue").ClickAsync();
        await Microsoft.Playwright.Assertions.Expect(Page.Locator("#user-name")).ToContainTextAsync(name);
    }

    /// <summary>Navigates and waits until the circuit is live (prerendered HTML does not answer clicks yet).</summary>
    public async Task OpenAsync(string path)
    {
        await Page.GotoAsync(path);
        await Page.Locator("html[data-zi-interactive]").WaitForAsync(new() { State = Microsoft.Playwright.WaitForSelectorState.Attached });
    }

    public async Task ScreenshotAsync(string name)
    {
        Directory.CreateDirectory(StudioServer.ArtifactsFolder);
        await Page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(StudioServer.ArtifactsFolder, name + ".png") });
    }

    public async ValueTask DisposeAsync() => await Context.DisposeAsync();
}
