using System.Net;
using System.Net.Http.Headers;
using Microsoft.Extensions.DependencyInjection;
using static Microsoft.Playwright.Assertions;

namespace ZImage.Web.Tests.Browser;

/// <summary>Accounts mode in a real browser: the administrator makes an API token in Settings, a script uses it, it is revoked.</summary>
[Collection(nameof(StudioBrowserTests))]
[Trait("Category", "Browser")]
public sealed class ApiTokensBrowserTests(AccountsStudioServer server) : IClassFixture<AccountsStudioServer>
{
    [Fact]
    public async Task AnAdministratorCreatesATokenSeesItOnceUsesItFromAScriptAndRevokesIt()
    {
        await using var lin = await server.NewPersonAsync();
        var page = lin.Page;
        await page.GotoAsync("/signin");
        await page.Locator("#account-name").FillAsync("Lin");
        await page.Locator("#account-password").FillAsync("a long password");
        await page.Locator("#account-password-confirm").FillAsync("a long password");
        await page.Locator("#setup-code").FillAsync(server.Services.GetRequiredService<ZImage.Web.Ui.Identity.AccountSetup>().Code!);
        await page.Locator("#setup-admin").ClickAsync();
        await page.Locator("html[data-zi-interactive]").WaitForAsync(new() { State = Microsoft.Playwright.WaitForSelectorState.Attached });
        await Expect(page.Locator("#user-name")).ToContainTextAsync("Lin");

        await page.Locator("#tab-settings").ClickAsync();
        await Expect(page.Locator("#api-tokens")).ToBeVisibleAsync();
        await Expect(page.Locator("#api-tokens-empty")).ToBeVisibleAsync();
        await page.Locator("#token-name").FillAsync("batch script");
        await page.Locator("#token-create").ClickAsync();
        var secret = await page.Locator("#token-secret-value").InputValueAsync();
        Assert.StartsWith("zit_", secret);
        await Expect(page.Locator("#api-token-list")).ToContainTextAsync("batch script");
        await page.Locator("#api-tokens").ScrollIntoViewIfNeededAsync();
        await lin.ScreenshotAsync("settings-api-tokens-1366x768");

        // A script uses the token; the page never shows the secret again once dismissed.
        using var script = new HttpClient { BaseAddress = new Uri(server.BaseUrl) };
        script.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", secret);
        using (var me = await script.GetAsync("api/v1/me"))
        {
            Assert.Equal(HttpStatusCode.OK, me.StatusCode);
            Assert.Contains("\"user\":\"Lin\"", await me.Content.ReadAsStringAsync());
        }
        await page.Locator("#token-secret-done").ClickAsync();
        await Expect(page.Locator("#token-secret")).ToHaveCountAsync(0);
        Assert.DoesNotContain(secret, await page.ContentAsync());

        await page.Locator("#api-token-list button").First.ClickAsync();
        await Expect(page.Locator("#api-tokens-empty")).ToBeVisibleAsync();
        using (var revoked = await script.GetAsync("api/v1/me"))
            Assert.Equal(HttpStatusCode.Unauthorized, revoked.StatusCode);

        Assert.Empty(lin.Errors);
    }
}
