using Radzen;
using ZImage.Web.Api;
using ZImage.Web.Components;

namespace ZImage.Web;

public static class WebSetup
{
    public static WebApplicationBuilder AddZImageWeb(this WebApplicationBuilder builder)
    {
        builder.Services.AddRazorComponents().AddInteractiveServerComponents();
        builder.Services.AddRadzenComponents();
        builder.AddZImageApi();
        return builder;
    }

    public static WebApplication UseZImageWeb(this WebApplication app)
    {
        if (!app.Environment.IsDevelopment())
            app.UseExceptionHandler("/error", createScopeForErrors: true);
        app.UseAntiforgery();
        app.MapStaticAssets();
        app.MapRazorComponents<App>().AddInteractiveServerRenderMode();
        app.MapZImageApi();
        return app;
    }
}
