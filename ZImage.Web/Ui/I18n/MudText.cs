using Microsoft.Extensions.Localization;
using MudBlazor;

namespace ZImage.Web.Ui.I18n;

/// <summary>
/// MudBlazor's own words (the spin buttons' "Increment" / "Decrement"…) from the studio's table, in the person's
/// chosen language; MudBlazor would follow the server's culture instead. Keys the table lacks stay MudBlazor's.
/// </summary>
internal sealed class MudText(Localizer localizer, ILocalizationInterceptor mudBlazors) : ILocalizationInterceptor
{
    public LocalizedString Handle(string key, params object[] arguments) =>
        UiText.Keys.Contains("mud." + key)
            ? new LocalizedString(key, localizer.Format("mud." + key, arguments))
            : mudBlazors.Handle(key, arguments);

    /// <summary>Wraps the interceptor AddMudServices registered (scoped, as MudBlazor registers its own); call after it.</summary>
    public static void Register(IServiceCollection services)
    {
        var mud = services.Last(d => d.ServiceType == typeof(ILocalizationInterceptor));
        services.Remove(mud);
        services.AddScoped<ILocalizationInterceptor>(sp => new MudText(sp.GetRequiredService<Localizer>(),
            (ILocalizationInterceptor)(mud.ImplementationInstance ?? mud.ImplementationFactory?.Invoke(sp)
                ?? ActivatorUtilities.CreateInstance(sp, mud.ImplementationType!))));
    }
}
