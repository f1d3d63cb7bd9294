using Radzen;
using ZImage.Web.Components;

namespace ZImage.Web;

public static class WebSetup
{
    public static WebApplicationBuilder AddZImageWeb(this WebApplicationBuilder builder)
    {
        // Serves wwwroot, Radzen's assets and blazor.web.js from the build output in every environment, not only
        // Development (a published app has no manifest and this does nothing).
        builder.WebHost.UseStaticWebAssets();
        builder.Services.AddRazorComponents().AddInteractiveServerComponents();
        builder.Services.AddRadzenComponents();
        return builder;
    }

    public static WebApplication UseZImageWeb(this WebApplication app)
    {
        if (!app.Environment.IsDevelopment())
            app.UseExceptionHandler("/error", createScopeForErrors: true);
        app.UseAntiforgery();
        app.MapStaticAssets();
        app.MapRazorComponents<App>().AddInteractiveServerRenderMode();
        return app;
    }
}
