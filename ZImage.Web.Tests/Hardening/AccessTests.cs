using System.IO.Compression;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using ZImage.Engine.Jobs;
using ZImage.Web.Api;
using ZImage.Web.Api.Auth;
using ZImage.Web.Tests.Api;
using ZImage.Web.Ui.Identity;

namespace ZImage.Web.Tests.Hardening;

/// <summary>The whole app in accounts mode (pages and API), with the fake pipeline and a generous sign-in limit.</summary>
public class AccountsStudioFactory : ApiFactory
{
    protected override ApiAuthMode Mode => ApiAuthMode.Accounts;
    protected override string UiMode => "Accounts";
    protected virtual int SignInAttemptsPerMinute => 1000;

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        builder.UseSetting(SignInRateLimit.AttemptsKey, SignInAttemptsPerMinute.ToString());
    }

    public const string Password = "long enough password";

    public async Task<string> AccountWithTokenAsync(string name, bool isAdmin = false)
    {
        Assert.Empty(await Services.GetRequiredService<AccountStore>().CreateAsync(name, Password, isAdmin));
        return (await Services.GetRequiredService<ApiTokenStore>().CreateAsync(name, "tests", isAdmin)).Secret;
    }

    /// <summary>A browser: cookies kept, redirects not followed so each answer can be inspected.</summary>
    public HttpClient Browser() => CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = true });

    /// <summary>Reads the sign-in form (for its antiforgery token) and posts it, as a browser does.</summary>
    public static async Task<HttpResponseMessage> SignInAsync(HttpClient browser, string name, string password, bool withToken = true)
    {
        var form = new Dictionary<string, string> { ["name"] = name, ["password"] = password, ["returnUrl"] = "/" };
        if (withToken)
            form["__RequestVerificationToken"] = await AntiforgeryTokenAsync(browser);
        return await browser.PostAsync("/ui/signin", new FormUrlEncodedContent(form));
    }

    public static async Task<string> AntiforgeryTokenAsync(HttpClient browser)
    {
        var page = await browser.GetStringAsync("/signin");
        var match = Regex.Match(page, "name=\"__RequestVerificationToken\" type=\"hidden\" value=\"([^\"]+)\"|type=\"hidden\" name=\"__RequestVerificationToken\" value=\"([^\"]+)\"");
        Assert.True(match.Success, "the sign-in page carries no antiforgery token");
        return match.Groups[1].Success ? match.Groups[1].Value : match.Groups[2].Value;
    }
}

public sealed class StrictSignInFactory : AccountsStudioFactory
{
    public const int Limit = 5;
    protected override int SignInAttemptsPerMinute => Limit;
}

public sealed class AccessTests(AccountsStudioFactory factory) : IClassFixture<AccountsStudioFactory>
{
    /// <summary>Ann makes a picture; returns her job id and image id.</summary>
    private async Task<(HttpClient Ann, string JobId, long ImageId)> AnnsPictureAsync(string ann)
    {
        var client = factory.ClientWithToken(await factory.AccountWithTokenAsync(ann));
        var job = await client.PostJobAsync(new { prompt = "ann's private picture", width = 256, height = 256, steps = 2 });
        var id = job.GetProperty("id").GetString()!;
        var done = await client.WaitForStatusAsync(id, "succeeded");
        return (client, id, done.GetProperty("images")[0].GetProperty("id").GetInt64());
    }

    [Fact]
    public async Task AnApiCallerCannotReadCancelOrDeleteAnotherPersonsJobOrImage()
    {
        var (ann, jobId, imageId) = await AnnsPictureAsync("ann-api");
        using var bob = factory.ClientWithToken(await factory.AccountWithTokenAsync("bob-api"));

        var attempts = new (HttpMethod Method, string Path, HttpStatusCode Expected)[]
        {
            (HttpMethod.Get, $"/api/v1/jobs/{jobId}", HttpStatusCode.NotFound),
            (HttpMethod.Get, $"/api/v1/jobs/{jobId}/events", HttpStatusCode.NotFound),
            (HttpMethod.Delete, $"/api/v1/jobs/{jobId}", HttpStatusCode.NotFound),
            (HttpMethod.Get, $"/api/v1/images/{imageId}", HttpStatusCode.NotFound),
            (HttpMethod.Get, $"/api/v1/images/{imageId}/thumb", HttpStatusCode.NotFound),
            (HttpMethod.Get, $"/api/v1/images/{imageId}/info", HttpStatusCode.NotFound),
            (HttpMethod.Delete, $"/api/v1/images/{imageId}", HttpStatusCode.NotFound),
        };
        foreach (var (method, path, expected) in attempts)
        {
            using var response = await bob.SendAsync(new HttpRequestMessage(method, path));
            Assert.True(response.StatusCode == expected, $"bob: {method} {path} answered {(int)response.StatusCode}, expected {(int)expected}");
        }
        using (var favourite = await bob.PutAsync($"/api/v1/images/{imageId}/favourite", JsonContent.Create(new { favourite = true })))
            Assert.Equal(HttpStatusCode.NotFound, favourite.StatusCode);
        var bobsJobs = await (await bob.GetAsync("/api/v1/jobs")).JsonAsync();
        Assert.DoesNotContain(bobsJobs.EnumerateArray(), j => j.GetProperty("id").GetString() == jobId);
        // Ann never chose to share (accounts mode: private until she does), so no listing of bob's shows her picture.
        foreach (var listing in new[] { "/api/v1/history", "/api/v1/history?user=ann-api", "/api/v1/history?user=everyone" })
            Assert.Equal(0, (await (await bob.GetAsync(listing)).JsonAsync()).GetProperty("totalCount").GetInt32());

        // Nothing was touched: ann still has her job, her picture, and no favourite marked by bob.
        Assert.Equal("succeeded", (await (await ann.GetAsync($"/api/v1/jobs/{jobId}")).JsonAsync()).GetProperty("status").GetString());
        var info = await (await ann.GetAsync($"/api/v1/images/{imageId}/info")).JsonAsync();
        Assert.False(info.GetProperty("favourite").GetBoolean());
        using var file = await ann.GetAsync($"/api/v1/images/{imageId}");
        Assert.Equal(HttpStatusCode.OK, file.StatusCode);
        ann.Dispose();
    }

    [Fact]
    public async Task ARunningJobCanOnlyBeStoppedByItsOwner()
    {
        await factory.Pipeline.HoldStepsAsync();
        try
        {
            using var ann = factory.ClientWithToken(await factory.AccountWithTokenAsync("ann-run"));
            using var bob = factory.ClientWithToken(await factory.AccountWithTokenAsync("bob-run"));
            var id = (await ann.PostJobAsync(new { prompt = "long", width = 256, height = 256, steps = 8 })).GetProperty("id").GetString()!;
            await ann.WaitForStatusAsync(id, "running");

            using (var cancel = await bob.DeleteAsync($"/api/v1/jobs/{id}"))
                Assert.Equal(HttpStatusCode.NotFound, cancel.StatusCode);
            using (var interrupt = await bob.PostAsync("/sdapi/v1/interrupt", null))
                Assert.True(interrupt.IsSuccessStatusCode);
            // The service the pages use refuses too (the Generate tab cancels through it).
            var service = factory.Services.GetRequiredService<IJobService>();
            Assert.Contains(await service.CancelAsync(id, new Caller("bob-run", false)), new[] { CancelOutcome.NotFound, CancelOutcome.NotAllowed });
            Assert.Equal("running", (await (await ann.GetAsync($"/api/v1/jobs/{id}")).JsonAsync()).GetProperty("status").GetString());

            using (var own = await ann.DeleteAsync($"/api/v1/jobs/{id}"))
                Assert.Equal(HttpStatusCode.Accepted, own.StatusCode);
            factory.Pipeline.ReleaseSteps(1);
            await ann.WaitForStatusAsync(id, "cancelled");
        }
        finally
        {
            factory.Pipeline.Unhold();
        }
    }

    [Fact]
    public async Task ThePagesServeAPictureOnlyToItsOwnerOrAnAdmin()
    {
        var (ann, _, imageId) = await AnnsPictureAsync("ann-ui");
        ann.Dispose();
        await factory.AccountWithTokenAsync("bob-ui");
        await factory.AccountWithTokenAsync("root-ui", isAdmin: true);

        using var bob = factory.Browser();
        Assert.Equal(HttpStatusCode.Redirect, (await AccountsStudioFactory.SignInAsync(bob, "bob-ui", AccountsStudioFactory.Password)).StatusCode);
        foreach (var path in new[] { $"/ui/images/{imageId}", $"/ui/images/{imageId}/thumb", $"/ui/images/{imageId}/download" })
        {
            using var response = await bob.GetAsync(path);
            Assert.True(response.StatusCode == HttpStatusCode.NotFound, $"bob: {path} answered {(int)response.StatusCode}");
        }
        using (var zip = await bob.GetAsync($"/ui/images/zip?ids={imageId}"))
        {
            using var archive = new ZipArchive(await zip.Content.ReadAsStreamAsync());
            Assert.Empty(archive.Entries);
        }
        // The History page does not list her picture (she has not chosen to share it).
        var history = await bob.GetStringAsync("/history");
        Assert.DoesNotContain($"ui/images/{imageId}/thumb", history);

        using var annBrowser = factory.Browser();
        await AccountsStudioFactory.SignInAsync(annBrowser, "ann-ui", AccountsStudioFactory.Password);
        Assert.Equal(HttpStatusCode.OK, (await annBrowser.GetAsync($"/ui/images/{imageId}")).StatusCode);
        Assert.Contains($"ui/images/{imageId}/thumb", await annBrowser.GetStringAsync("/history"));

        using var admin = factory.Browser();
        await AccountsStudioFactory.SignInAsync(admin, "root-ui", AccountsStudioFactory.Password);
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync($"/ui/images/{imageId}/thumb")).StatusCode);

        using var stranger = factory.Browser();
        // A picture is fetched by an img tag, not navigated to: no sign-in page, a plain 401.
        Assert.Equal(HttpStatusCode.Unauthorized, (await stranger.GetAsync($"/ui/images/{imageId}")).StatusCode);
    }

    [Fact]
    public async Task APersonWhoSharesIsSeenByOthersWhoStillCannotChangeTheirPictures()
    {
        var (ann, jobId, imageId) = await AnnsPictureAsync("ann-share");
        using var bob = factory.ClientWithToken(await factory.AccountWithTokenAsync("bob-share"));
        var history = factory.Services.GetRequiredService<ZImage.Engine.History.IHistoryService>();
        await history.SetSharingAsync(new Caller("ann-share"), shares: true);

        foreach (var path in new[] { $"/api/v1/images/{imageId}", $"/api/v1/images/{imageId}/thumb", $"/api/v1/images/{imageId}/info" })
        {
            using var response = await bob.GetAsync(path);
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"bob: {path} answered {(int)response.StatusCode}");
        }
        var everyone = await (await bob.GetAsync("/api/v1/history?user=everyone")).JsonAsync();
        Assert.Contains(everyone.GetProperty("items").EnumerateArray(), i => i.GetProperty("id").GetInt64() == imageId);
        // Seeing is not changing, and the job itself stays hers.
        using (var delete = await bob.DeleteAsync($"/api/v1/images/{imageId}"))
            Assert.Equal(HttpStatusCode.Forbidden, delete.StatusCode);
        using (var star = await bob.PutAsync($"/api/v1/images/{imageId}/favourite", JsonContent.Create(new { favourite = true })))
            Assert.Equal(HttpStatusCode.Forbidden, star.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await bob.GetAsync($"/api/v1/jobs/{jobId}")).StatusCode);

        // Changing her mind hides it again at once, everywhere.
        await history.SetSharingAsync(new Caller("ann-share"), shares: false);
        Assert.Equal(HttpStatusCode.NotFound, (await bob.GetAsync($"/api/v1/images/{imageId}")).StatusCode);
        var after = await (await bob.GetAsync("/api/v1/history?user=everyone")).JsonAsync();
        Assert.DoesNotContain(after.GetProperty("items").EnumerateArray(), i => i.GetProperty("id").GetInt64() == imageId);
        ann.Dispose();
    }

    [Fact]
    public async Task TheSignInCookieIsHttpOnlyAndSameSite()
    {
        await factory.AccountWithTokenAsync("cookie-person");
        using var browser = factory.Browser();
        using var response = await AccountsStudioFactory.SignInAsync(browser, "cookie-person", AccountsStudioFactory.Password);
        var cookies = response.Headers.GetValues("Set-Cookie").ToList();
        var auth = Assert.Single(cookies, c => c.StartsWith("zi-auth=", StringComparison.Ordinal));
        Assert.Contains("httponly", auth, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=lax", auth, StringComparison.OrdinalIgnoreCase);
        using var page = await browser.GetAsync("/signin");
        foreach (var antiforgery in page.Headers.TryGetValues("Set-Cookie", out var set) ? set.Where(c => c.Contains("Antiforgery", StringComparison.Ordinal)) : [])
        {
            Assert.Contains("httponly", antiforgery, StringComparison.OrdinalIgnoreCase);
            Assert.Contains("samesite=strict", antiforgery, StringComparison.OrdinalIgnoreCase);
        }
    }

    [Fact]
    public async Task FormsWithoutTheAntiforgeryTokenAreRefused()
    {
        await factory.AccountWithTokenAsync("forger-target");
        using var browser = factory.Browser();
        using var signIn = await AccountsStudioFactory.SignInAsync(browser, "forger-target", AccountsStudioFactory.Password, withToken: false);
        Assert.Equal(HttpStatusCode.BadRequest, signIn.StatusCode);
        Assert.False(signIn.Headers.TryGetValues("Set-Cookie", out var set) && set.Any(c => c.StartsWith("zi-auth=", StringComparison.Ordinal)));
        foreach (var path in new[] { "/ui/setup-admin", "/ui/signout" })
        {
            using var response = await browser.PostAsync(path, new FormUrlEncodedContent(new Dictionary<string, string> { ["name"] = "x", ["password"] = "yyyyyyyyyy" }));
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{path} without a token answered {(int)response.StatusCode}");
        }
        // A token from another browser's session does not pass either.
        using var other = factory.Browser();
        var foreign = await AccountsStudioFactory.AntiforgeryTokenAsync(other);
        using var crossed = await browser.PostAsync("/ui/signin", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["name"] = "forger-target", ["password"] = AccountsStudioFactory.Password, ["__RequestVerificationToken"] = foreign,
        }));
        Assert.Equal(HttpStatusCode.BadRequest, crossed.StatusCode);
    }

    [Fact]
    public async Task ARevokedTokenStopsWorkingAtOnce()
    {
        var secret = await factory.AccountWithTokenAsync("revoker");
        using var client = factory.ClientWithToken(secret);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/v1/me")).StatusCode);
        var tokens = await (await client.GetAsync("/api/v1/tokens")).JsonAsync();
        var id = tokens.EnumerateArray().Single().GetProperty("id").GetInt64();

        using var bob = factory.ClientWithToken(await factory.AccountWithTokenAsync("not-the-owner"));
        Assert.Equal(HttpStatusCode.NotFound, (await bob.DeleteAsync($"/api/v1/tokens/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/v1/me")).StatusCode);

        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync($"/api/v1/tokens/{id}")).StatusCode);
        using var after = await client.GetAsync("/api/v1/jobs");
        Assert.Equal(HttpStatusCode.Unauthorized, after.StatusCode);
        Assert.Contains("revoked", (await after.JsonAsync()).GetProperty("detail").GetString());

        // Settings revokes through the store: same effect.
        var second = await factory.Services.GetRequiredService<ApiTokenStore>().CreateAsync("revoker", "second", false);
        using var secondClient = factory.ClientWithToken(second.Secret);
        Assert.Equal(HttpStatusCode.OK, (await secondClient.GetAsync("/api/v1/me")).StatusCode);
        Assert.True(await factory.Services.GetRequiredService<ApiTokenStore>().RevokeAsync(second.Info.Id, "revoker"));
        Assert.Equal(HttpStatusCode.Unauthorized, (await secondClient.GetAsync("/api/v1/me")).StatusCode);
    }
}

public sealed class SignInRateLimitTests(StrictSignInFactory factory) : IClassFixture<StrictSignInFactory>
{
    [Fact]
    public async Task GuessingPasswordsIsStoppedAfterTheLimitEvenForTheRightOne()
    {
        await factory.AccountWithTokenAsync("target");
        using var browser = factory.Browser();
        for (var i = 0; i < StrictSignInFactory.Limit; i++)
        {
            using var wrong = await AccountsStudioFactory.SignInAsync(browser, "target", $"guess number {i}");
            Assert.Equal(HttpStatusCode.Redirect, wrong.StatusCode);
            Assert.Contains("error=signin", wrong.Headers.Location!.ToString());
        }
        using var limited = await AccountsStudioFactory.SignInAsync(browser, "target", AccountsStudioFactory.Password);
        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        Assert.True(limited.Headers.RetryAfter is not null, "429 without Retry-After");
        Assert.Contains("Too many sign-in attempts", await limited.Content.ReadAsStringAsync());
        Assert.False(limited.Headers.TryGetValues("Set-Cookie", out var set) && set.Any(c => c.StartsWith("zi-auth=", StringComparison.Ordinal)));
        // The limit covers the sign-in forms only: the API and the pages still answer.
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync("/healthz")).StatusCode);
    }
}
