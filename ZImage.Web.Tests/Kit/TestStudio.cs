using ZImage.Engine.Models;
using Bunit;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using MudBlazor.Services;
using ZImage.Engine.Jobs;
using ZImage.Engine.Memory;
using ZImage.Engine.Pipeline;
using ZImage.Web.Ui.I18n;
using ZImage.Web.Ui.Identity;

namespace ZImage.Web.Tests.Kit;

/// <summary>
/// The real engine services (jobs, worker, SQLite history) in a temporary folder, with a fake pipeline, plus the
/// UI's services, for rendering components with bUnit (JS interop loose, as no browser answers it) and driving state
/// classes. Playwright (Browser/) is for the real browser.
/// </summary>
public sealed partial class TestStudio : IAsyncDisposable
{
    private readonly ServiceProvider _root;
    private readonly AsyncServiceScope _scope;
    private readonly List<IHostedService> _hosted;

    private TestStudio(ServiceProvider root, string folder)
    {
        _root = root;
        Folder = folder;
        _scope = root.CreateAsyncScope();
        _hosted = root.GetServices<IHostedService>().ToList();
    }

    public string Folder { get; }
    public FakePipeline Pipeline => (FakePipeline)_root.GetRequiredService<IImagePipeline>();
    public IServiceProvider Services => _scope.ServiceProvider;
    public T Get<T>() where T : notnull => Services.GetRequiredService<T>();
    public Localizer Localizer => Get<Localizer>();
    public UiUser User => Get<UiUser>();

    /// <param name="runtime">What Settings and the status bar learn about ONNX Runtime; by default the real library in the test output.</param>
    public static async Task<TestStudio> StartAsync(string userName = "Ann", ModelState model = ModelState.Ready,
        IDictionary<string, string?>? settings = null, IRuntimeInfoSource? runtime = null, string? modelDetail = null, bool isAdmin = false,
        Action<IServiceCollection, ConfigurationManager>? configure = null)
    {
        var folder = Path.Combine(Path.GetTempPath(), "zimage-web-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        var configuration = new ConfigurationManager();
        configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ZImage:Jobs:DataDirectory"] = Path.Combine(folder, "data"),
            ["ZImage:Jobs:OutputDirectory"] = Path.Combine(folder, "outputs"),
            ["ZImage:Jobs:InitialSecondsPerStepAt1024"] = "0.01",
        });
        if (settings is not null)
            configuration.AddInMemoryCollection(settings);

        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(configuration);
        services.AddSingleton<IWebHostEnvironment>(new TestEnvironment(folder));
        services.AddSingleton<IHostEnvironment>(sp => sp.GetRequiredService<IWebHostEnvironment>());
        services.AddSingleton<ZImage.Web.Api.Auth.ApiTokenStore>();
        services.AddLogging();
        services.AddSingleton<ILoggerFactory>(NullLoggerFactory.Instance);
        // Steps take a few real milliseconds, so a rendered page can be caught mid-run.
        services.AddSingleton<IImagePipeline>(new FakePipeline { StepTime = TimeSpan.FromMilliseconds(5), StepDelay = TimeSpan.FromMilliseconds(5) });
        services.AddSingleton<IGpuMemoryProbe>(FakeMemoryProbe.TestGpu());
        services.AddSingleton<IModelStatus>(new FixedModelStatus(model, modelDetail));
        services.AddSingleton(runtime ?? new OrtRuntimeInfoSource(() => ZImage.Engine.Onnx.OrtRuntime.Load()));
        services.AddOptions<EngineOptions>().BindConfiguration(EngineOptions.Section);
        services.AddZImageJobs(configuration);
        services.AddZImageUi();
        configure?.Invoke(services, configuration);
        var root = services.BuildServiceProvider(new ServiceProviderOptions { ValidateScopes = true });
        var studio = new TestStudio(root, folder);
        foreach (var hosted in studio._hosted)
            await hosted.StartAsync(CancellationToken.None);
        studio.User.SignIn(userName, isAdmin);
        return studio;
    }

    /// <summary>
    /// Renders a component (optionally inside the main layout) with bUnit and returns its markup once rendering has
    /// settled. bUnit supplies the browser's side (JS interop in loose mode, navigation) and MudBlazor's services bound to
    /// it; everything else comes from this studio's scope.
    /// </summary>
    public async Task<string> RenderAsync<TComponent>(IDictionary<string, object?>? parameters = null, bool inLayout = false, Microsoft.AspNetCore.Http.HttpContext? request = null) where TComponent : IComponent
    {
        await using var bunit = Bunit();
        RenderFragment component = b =>
        {
            b.OpenComponent<TComponent>(0);
            foreach (var (name, value) in parameters ?? new Dictionary<string, object?>())
                b.AddComponentParameter(1, name, value);
            b.CloseComponent();
        };
        var rendered = inLayout
            ? (IRenderedComponent<IComponent>)bunit.Render<ZImage.Web.Components.Layout.MainLayout>(p => p.Add(l => l.Body, component))
            : request is not null
                ? bunit.Render<CascadingValue<Microsoft.AspNetCore.Http.HttpContext>>(p => p.Add(c => c.Value, request).AddChildContent(component))
            : bunit.Render(component);
        return WithoutCssScopes(rendered.Markup);
    }

    /// <summary>
    /// Scoped CSS marks each element of a component with its scope (b-0123456789): tests read the markup as written,
    /// so the marks go.
    /// </summary>
    public static string WithoutCssScopes(string markup) => CssScope().Replace(markup, "");

    [System.Text.RegularExpressions.GeneratedRegex(@" b-[a-z0-9]{10}(="""")?(?=[\s/>])")]
    private static partial System.Text.RegularExpressions.Regex CssScope();

    /// <summary>
    /// A bUnit context on this studio's services, for tests that click through a component; the caller disposes it
    /// (await using: MudBlazor registers async-only disposables).
    /// </summary>
    public BunitContext Bunit()
    {
        var bunit = new BunitContext();
        bunit.JSInterop.Mode = JSRuntimeMode.Loose;
        bunit.Services.AddMudServices();
        // MudBlazor's words come from the studio's table in the chosen language (MudText), as in the app.
        foreach (var own in bunit.Services.Where(d => d.ServiceType == typeof(MudBlazor.ILocalizationInterceptor)).ToList())
            bunit.Services.Remove(own);
        bunit.Services.AddScoped(_ => Services.GetRequiredService<MudBlazor.ILocalizationInterceptor>());
        // bUnit brings its own options infrastructure, which knows none of the studio's settings: options come from the studio.
        foreach (var own in bunit.Services.Where(d => d.ServiceType.Namespace == "Microsoft.Extensions.Options").ToList())
            bunit.Services.Remove(own);
        bunit.Services.AddFallbackServiceProvider(Services);
        return bunit;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var hosted in _hosted)
            await hosted.StopAsync(CancellationToken.None);
        await _scope.DisposeAsync();
        await _root.DisposeAsync();
        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
            // SQLite may hold the WAL file a moment longer; the temp folder is cleaned by the OS.
        }
    }

    private sealed class TestEnvironment(string root) : IWebHostEnvironment
    {
        public string WebRootPath { get; set; } = root;
        public IFileProvider WebRootFileProvider { get; set; } = new NullFileProvider();
        public string ApplicationName { get; set; } = "ZImage.Web";
        public IFileProvider ContentRootFileProvider { get; set; } = new NullFileProvider();
        public string ContentRootPath { get; set; } = root;
        public string EnvironmentName { get; set; } = "Testing";
    }
}

public static class Eventually
{
    /// <summary>Waits for a condition with a deadline, checking often; never a fixed sleep.</summary>
    public static async Task UntilAsync(Func<bool> condition, string what, int seconds = 15)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"Timed out after {seconds} s waiting for: {what}");
            await Task.Delay(10);
        }
    }
}
