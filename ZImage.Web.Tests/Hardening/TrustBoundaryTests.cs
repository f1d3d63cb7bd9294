using System.Net;
using Microsoft.Extensions.DependencyInjection;
using ZImage.Web.Tests.Api;
using ZImage.Web.Ui.Identity;

namespace ZImage.Web.Tests.Hardening;

/// <summary>Issue #15 in accounts mode: what a removed colleague, a changed password and a guessed name can still do.</summary>
public sealed class AccountsTrustTests(AccountsStudioFactory factory) : IClassFixture<AccountsStudioFactory>
{
    private AccountStore Accounts => factory.Services.GetRequiredService<AccountStore>();

    /// <summary>A person with a token, a signed-in browser and one picture; both doors open before the change.</summary>
    private async Task<(HttpClient Token, HttpClient Browser, long ImageId)> SignedInWithPictureAsync(string name)
    {
        var token = factory.ClientWithToken(await factory.AccountWithTokenAsync(name));
        var job = await token.PostJobAsync(new { prompt = "a picture", width = 256, height = 256, steps = 2 });
        var done = await token.WaitForStatusAsync(job.GetProperty("id").GetString()!, "succeeded");
        var imageId = done.GetProperty("images")[0].GetProperty("id").GetInt64();
        var browser = factory.Browser();
        Assert.Equal(HttpStatusCode.Redirect, (await AccountsStudioFactory.SignInAsync(browser, name, AccountsStudioFactory.Password)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync($"/ui/images/{imageId}")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync("/history")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await token.GetAsync($"/api/v1/images/{imageId}")).StatusCode);
        return (token, browser, imageId);
    }

    private static async Task AssertLockedOutAsync(HttpClient token, HttpClient browser, long imageId)
    {
        foreach (var path in new[] { "/api/v1/me", "/api/v1/jobs", "/api/v1/history", $"/api/v1/images/{imageId}", "/sdapi/v1/progress" })
        {
            using var response = await token.GetAsync(path);
            Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"token: {path} answered {(int)response.StatusCode}");
        }
        using (var picture = await browser.GetAsync($"/ui/images/{imageId}"))
            Assert.Equal(HttpStatusCode.Unauthorized, picture.StatusCode);
        using var page = await browser.GetAsync("/history");
        Assert.Equal(HttpStatusCode.Redirect, page.StatusCode);
        Assert.StartsWith("/signin", page.Headers.Location!.PathAndQuery);
    }

    [Fact]
    public async Task ARemovedPersonsTokenAndCookieGet401OnTheirNextRequest()
    {
        var (token, browser, imageId) = await SignedInWithPictureAsync("leaver");
        Assert.True(await Accounts.DeleteAsync("leaver"));
        await AssertLockedOutAsync(token, browser, imageId);

        // Someone new under the same name later does not inherit the old token or cookie.
        Assert.Empty(await Accounts.CreateAsync("leaver", AccountsStudioFactory.Password, isAdmin: false));
        Assert.Equal(HttpStatusCode.Unauthorized, (await token.GetAsync("/api/v1/me")).StatusCode);
        token.Dispose();
        browser.Dispose();
    }

    [Fact]
    public async Task ANewPasswordEndsEverySessionAndTokenOfThatPerson()
    {
        var (token, browser, imageId) = await SignedInWithPictureAsync("changer");
        using var bystander = factory.ClientWithToken(await factory.AccountWithTokenAsync("bystander"));
        Assert.True(await Accounts.SetPasswordAsync("changer", "a brand new password"));
        await AssertLockedOutAsync(token, browser, imageId);
        Assert.Equal(HttpStatusCode.OK, (await bystander.GetAsync("/api/v1/me")).StatusCode);

        using var again = factory.Browser();
        Assert.Equal(HttpStatusCode.Redirect, (await AccountsStudioFactory.SignInAsync(again, "changer", "a brand new password")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await again.GetAsync($"/ui/images/{imageId}")).StatusCode);
        token.Dispose();
        browser.Dispose();
    }
}
