using Microsoft.Extensions.DependencyInjection;
using ZImage.Web.Tests.Hardening;
using ZImage.Web.Ui.Identity;

namespace ZImage.Web.Tests.Ui;

/// <summary>A signed-in person's language and theme follow them to every browser they sign in on.</summary>
public sealed class PersonPreferencesTests(AccountsStudioFactory factory) : IClassFixture<AccountsStudioFactory>
{
    [Fact]
    public async Task SigningInOnAnotherBrowserBringsTheLanguageAndThemeChosenOnTheFirst()
    {
        await factory.AccountWithTokenAsync("wei");
        var preferences = factory.Services.GetRequiredService<PersonPreferences>();
        // What the header does when Wei picks Chinese and the dark theme on their first browser.
        var wei = new UiUser(Microsoft.Extensions.Options.Options.Create(new ZImage.Web.Ui.UiOptions { Mode = ZImage.Web.Ui.UserMode.Accounts }));
        wei.SignIn("wei", isAdmin: false);
        await preferences.SaveAsync(wei, PersonPreferences.Language, "zh-CN");
        await preferences.SaveAsync(wei, PersonPreferences.Theme, "dark");

        using var browser = factory.Browser();
        var signedIn = await AccountsStudioFactory.SignInAsync(browser, "wei", AccountsStudioFactory.Password);

        var cookies = signedIn.Headers.GetValues("Set-Cookie").ToList();
        Assert.Contains(cookies, c => c.StartsWith("zi-lang=zh-CN;", StringComparison.Ordinal));
        Assert.Contains(cookies, c => c.StartsWith("zi-theme=dark;", StringComparison.Ordinal));
        Assert.Contains("lang=\"zh-CN\"", await browser.GetStringAsync("/"));
    }

    [Fact]
    public async Task SomeoneWithNoChoicesKeptGetsNoPreferenceCookies()
    {
        await factory.AccountWithTokenAsync("plain");
        using var browser = factory.Browser();
        var signedIn = await AccountsStudioFactory.SignInAsync(browser, "plain", AccountsStudioFactory.Password);
        Assert.DoesNotContain(signedIn.Headers.GetValues("Set-Cookie"), c => c.StartsWith("zi-lang=", StringComparison.Ordinal) || c.StartsWith("zi-theme=", StringComparison.Ordinal));
    }
}
