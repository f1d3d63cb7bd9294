using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using MudBlazor.Services;
using ZImage.Web.Ui.Theming;
using ZImage.Engine.Models;
using ZImage.Engine.Models.Install;
using ZImage.Engine.Models.Install.Hub;
using ZImage.Web.Api;
using ZImage.Web.Api.Auth;
using ZImage.Web.Components;
using ZImage.Web.Trust;
using ZImage.Web.Ui;
using ZImage.Web.Ui.Generate;
using ZImage.Web.Ui.I18n;
using ZImage.Web.Ui.Identity;
using ZImage.Web.Ui.Images;
using ZImage.Web.Ui.Settings;

namespace ZImage.Web;

public static class WebSetup
{
    public static WebApplicationBuilder AddZImageWeb(this WebApplicationBuilder builder)
    {
        // The Settings tab saves here; as a configuration source its values reach every options class and survive a restart.
        var paths = new StudioPaths(builder.Configuration, builder.Environment.ContentRootPath);
        builder.Configuration.AddJsonFile(paths.SettingsFile(), optional: true, reloadOnChange: true);

        // Serves wwwroot, MudBlazor's assets and blazor.web.js from the build output in every environment, not only
        // Development (a published app has no manifest and this does nothing).
        builder.WebHost.UseStaticWebAssets();
        builder.Services.AddRazorComponents().AddInteractiveServerComponents();
        builder.Services.AddZImageUi();
        // Cookie sign-in is only used in accounts mode; in open mode nobody is ever signed in and it stays idle.
        StoreKeyRing.AddTo(builder.Services, builder.Configuration);
        builder.Services.AddAuthentication(CookieAuthenticationDefaults.AuthenticationScheme).AddCookie(AccountCookie.Configure).AddCallerSchemes();
        builder.Services.AddAuthorization();
        builder.Services.AddLoopbackHostFilter(builder.Configuration);
        builder.Services.AddSignInRateLimit(builder.Configuration);
        builder.Services.AddCascadingAuthenticationState();
        builder.Services.AddScoped<Microsoft.AspNetCore.Components.Server.Circuits.CircuitHandler, AccountCircuitGuard>();
        builder.Services.AddSingleton<AccountSetup>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<AccountSetup>());
        builder.AddZImageApi();
        return builder;
    }

    /// <summary>The UI's own services (also what the component tests register).</summary>
    internal static IServiceCollection AddZImageUi(this IServiceCollection services)
    {
        services.AddMudServices();
        MudText.Register(services);
        services.AddScoped<ThemeState>();
        services.AddOptions<UiOptions>().BindConfiguration(UiOptions.Section).ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<StudioPaths>();
        services.AddSingleton<SettingsStore>();
        services.AddSingleton<NewPictureDefaults>();
        services.AddSingleton<StyleCatalog>();
        services.AddSingleton<ZImage.Web.Ui.Batches.BatchBuilder>();
        services.AddSingleton<AccountStore>();
        services.AddSingleton<PersonPreferences>();
        services.AddZImageModels();
        services.AddSingleton<IPromptTokenCounter, ModelTokenCounter>();
        services.TryAddSingleton<IModelActivator, SettingsModelActivator>();
        services.AddZImageInstaller(sp => new InstallOptions
        {
            CacheDirectory = sp.GetRequiredService<StudioPaths>().Resolve(sp.GetRequiredService<IOptions<HubOptions>>().Value.CacheDirectory),
            HistoryFile = Path.Combine(sp.GetRequiredService<StudioPaths>().DataDirectory(), "installs.jsonl"),
        });
        services.AddScoped<ModelInstallActions>();
        services.AddScoped<Localizer>();
        services.AddScoped<UiUser>();
        services.AddScoped<GenerateSession>();
        return services;
    }

    public static WebApplication UseZImageWeb(this WebApplication app)
    {
        if (!app.Environment.IsDevelopment())
            app.UseExceptionHandler("/error", createScopeForErrors: true);
        app.UseSecurityHeaders();
        app.UseCrossSiteGuard();
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseRateLimiter();
        app.UseAntiforgery();
        app.MapStaticAssets();
        var accounts = app.Services.GetRequiredService<IOptions<UiOptions>>().Value.Mode == UserMode.Accounts;
        var images = app.MapZImageImages();
        var batchZip = ZImage.Web.Ui.Batches.BatchZipEndpoint.MapZImageBatchZip(app);
        var pages = app.MapRazorComponents<App>().AddInteractiveServerRenderMode();
        app.MapZImageAccounts();
        if (accounts)
        {
            // Every page and picture needs a signed-in person; the sign-in page itself is [AllowAnonymous].
            images.RequireAuthorization();
            batchZip.RequireAuthorization();
            pages.RequireAuthorization();
        }
        app.MapZImageApi();
        return app;
    }
}
