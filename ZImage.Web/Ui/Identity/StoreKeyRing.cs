using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.Repositories;
using ZImage.Engine.History;
using ZImage.Engine.Jobs;

namespace ZImage.Web.Ui.Identity;

/// <summary>
/// The keys that sign sign-in cookies and antiforgery tokens, kept in the shared store when studios share PostgreSQL:
/// a cookie issued by one machine is then read by every other, and a form served by one may be posted to another.
/// (ASP.NET Core's default is a key folder in the process's home directory, different on every machine.) The keys lie
/// in the database unencrypted, as they would in that folder: whoever can read the database could forge a cookie, and
/// whoever can write it could make an account anyway. SQLite studios keep the default.
/// </summary>
public sealed class StoreKeyRing(IPeopleStore people, TimeProvider clock) : IXmlRepository
{
    /// <summary>The same on every machine: the default is the content root path, which differs between installs.</summary>
    public const string ApplicationName = "ZImage";

    // Data Protection asks synchronously, at start-up and when it rolls a key (every few months), never per request.
    // The store is migrated by then: JobsStartup is the first hosted service, Data Protection's key loader comes after.
    public IReadOnlyCollection<XElement> GetAllElements() =>
        [.. people.ReadKeyRingAsync().GetAwaiter().GetResult().Select(xml => XElement.Parse(xml))];

    public void StoreElement(XElement element, string friendlyName)
    {
        people.SaveKeyAsync(friendlyName, element.ToString(SaveOptions.DisableFormatting), clock.GetUtcNow()).GetAwaiter().GetResult();
    }

    /// <summary>With PostgreSQL (read from the configuration as it stands at registration), the key ring lives in the store.</summary>
    public static void AddTo(IServiceCollection services, IConfiguration configuration)
    {
        if (configuration.GetValue<StoreProvider>($"{StoreOptions.Section}:{nameof(StoreOptions.Provider)}") != StoreProvider.PostgreSql)
            return;
        services.AddDataProtection().SetApplicationName(ApplicationName);
        services.AddSingleton<StoreKeyRing>();
        services.AddOptions<KeyManagementOptions>().Configure<StoreKeyRing>((options, ring) => options.XmlRepository = ring);
    }
}
