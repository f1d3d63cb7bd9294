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

/// <summary>Issue #15 in open mode: what a page of another origin or a rebinding DNS name can make the studio do.</summary>
public sealed class OpenTrustTests(ApiFactory factory) : IClassFixture<ApiFactory>
{
    private static HttpRequestMessage Job(string? origin = null, string? fetchSite = null, string? contentType = "application/json")
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/jobs")
        {
            Content = new ByteArrayContent("""{"prompt":"x","width":256,"height":256,"steps":2}"""u8.ToArray()),
        };
        if (contentType is not null)
            request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(contentType);
        if (origin is not null)
            request.Headers.Add("Origin", origin);
        if (fetchSite is not null)
            request.Headers.Add("Sec-Fetch-Site", fetchSite);
        return request;
    }

    [Theory]
    [InlineData("http://localhost:8080", null)]
    [InlineData("http://evil.example", null)]
    [InlineData("null", null)]
    [InlineData(null, "same-site")]
    [InlineData(null, "cross-site")]
    public async Task StateChangingRequestsMarkedAsFromAnotherOriginAreRefused(string? origin, string? fetchSite)
    {
        using var client = factory.ClientFor($"csrf-target-{origin}-{fetchSite}");
        using var response = await client.SendAsync(Job(origin, fetchSite));
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Contains("another", (await response.JsonAsync()).GetProperty("detail").GetString());
        using var interrupt = new HttpRequestMessage(HttpMethod.Post, "/sdapi/v1/interrupt");
        interrupt.Headers.Add("Origin", origin ?? "http://localhost:8080");
        Assert.Equal(HttpStatusCode.Forbidden, (await client.SendAsync(interrupt)).StatusCode);
        Assert.Empty((await (await client.GetAsync("/api/v1/jobs")).JsonAsync()).EnumerateArray());
    }

    /// <summary>A foreign page opening the pages' WebSocket (cross-site WebSocket hijacking) is refused before Blazor sees it.</summary>
    [Fact]
    public async Task AWebSocketUpgradeFromAnotherOriginIsRefused()
    {
        using var client = factory.ClientFor("ws-target");
        foreach (var path in new[] { "/_blazor?id=x", "/_blazor/negotiate?negotiateVersion=1" })
        {
            using var request = new HttpRequestMessage(path.Contains("negotiate") ? HttpMethod.Post : HttpMethod.Get, path);
            request.Headers.Add("Origin", "http://localhost:9999");
            if (!path.Contains("negotiate"))
            {
                request.Headers.Add("Connection", "Upgrade");
                request.Headers.Add("Upgrade", "websocket");
            }
            using var response = await client.SendAsync(request);
            Assert.True(response.StatusCode == HttpStatusCode.Forbidden, $"{path} answered {(int)response.StatusCode}");
        }
    }

    [Fact]
    public async Task ScriptsWithoutOriginAndTheStudiosOwnPagesStillWork()
    {
        using var client = factory.ClientFor("script-user");
        using (var script = await client.SendAsync(Job()))
            Assert.Equal(HttpStatusCode.Accepted, script.StatusCode);
        // The TestServer's address is http://localhost.
        using (var own = await client.SendAsync(Job("http://localhost", "same-origin")))
            Assert.Equal(HttpStatusCode.Accepted, own.StatusCode);
        using (var typed = await client.SendAsync(Job(fetchSite: "none")))
            Assert.Equal(HttpStatusCode.Accepted, typed.StatusCode);
        // Reading is never refused for its origin: without CORS headers a foreign page cannot read the answer anyway.
        using var read = new HttpRequestMessage(HttpMethod.Get, "/api/v1/jobs");
        read.Headers.Add("Origin", "http://evil.example");
        Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(read)).StatusCode);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("text/plain")]
    public async Task AJsonBodyWithoutTheJsonContentTypeIsRefused(string? contentType)
    {
        using var client = factory.ClientFor("blob-sender");
        using var response = await client.SendAsync(Job(contentType: contentType));
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        Assert.Contains("application/json", (await response.JsonAsync()).GetProperty("detail").GetString());
    }

    [Theory]
    [InlineData("evil.example", HttpStatusCode.BadRequest)]
    [InlineData("rebind.attacker.test:7860", HttpStatusCode.BadRequest)]
    [InlineData("localhost:7860", HttpStatusCode.OK)]
    [InlineData("127.0.0.1:7860", HttpStatusCode.OK)]
    [InlineData("[::1]:7860", HttpStatusCode.OK)]
    public async Task OpenModeAnswersOnlyToLoopbackHostNames(string host, HttpStatusCode expected)
    {
        using var client = factory.ClientFor("rebinder");
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/jobs");
        request.Headers.Host = host;
        Assert.Equal(expected, (await client.SendAsync(request)).StatusCode);
    }
}

public sealed class AccountsHostTests(AccountsStudioFactory factory) : IClassFixture<AccountsStudioFactory>
{
    [Fact]
    public async Task AccountsModeIsReachedByAnyNameBecauseEveryRequestIsSignedIn()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/healthz");
        request.Headers.Host = "studio.team.lan";
        Assert.Equal(HttpStatusCode.OK, (await factory.CreateClient().SendAsync(request)).StatusCode);
    }
}

/// <summary>Issue #15 items 5 and 6: everyone changes their own password; a returnUrl with a tab keeps the sign-in.</summary>
public sealed class PasswordTests(AccountsStudioFactory factory) : IClassFixture<AccountsStudioFactory>
{
    private static async Task<HttpResponseMessage> ChangeAsync(HttpClient browser, string current, string password, string confirm)
    {
        var token = await AccountsStudioFactory.AntiforgeryTokenAsync(browser);
        return await browser.PostAsync("/ui/password", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["current"] = current, ["password"] = password, ["confirm"] = confirm, ["__RequestVerificationToken"] = token,
        }));
    }

    [Fact]
    public async Task APersonChangesTheirOwnPasswordKeepsThisSessionAndEndsTheOthers()
    {
        using var token = factory.ClientWithToken(await factory.AccountWithTokenAsync("self-changer"));
        using var here = factory.Browser();
        using var elsewhere = factory.Browser();
        await AccountsStudioFactory.SignInAsync(here, "self-changer", AccountsStudioFactory.Password);
        await AccountsStudioFactory.SignInAsync(elsewhere, "self-changer", AccountsStudioFactory.Password);

        foreach (var (current, password, confirm, error) in new[]
                 {
                     ("wrong current password", "the next password", "the next password", "current"),
                     (AccountsStudioFactory.Password, "the next password", "the next passwort", "confirm"),
                     (AccountsStudioFactory.Password, "short", "short", "password"),
                 })
        {
            using var refused = await ChangeAsync(here, current, password, confirm);
            Assert.Equal($"/settings?passwordError=accounts.problem.{error}", refused.Headers.Location!.ToString());
        }
        Assert.Equal(HttpStatusCode.OK, (await token.GetAsync("/api/v1/me")).StatusCode);

        using var changed = await ChangeAsync(here, AccountsStudioFactory.Password, "the next password", "the next password");
        Assert.Equal("/settings?password=changed", changed.Headers.Location!.ToString());
        Assert.Equal(HttpStatusCode.OK, (await here.GetAsync("/settings")).StatusCode);
        Assert.Equal(HttpStatusCode.Redirect, (await elsewhere.GetAsync("/settings")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await token.GetAsync("/api/v1/me")).StatusCode);
        Assert.NotNull(await factory.Services.GetRequiredService<AccountStore>().VerifyAsync("self-changer", "the next password"));
    }

    [Fact]
    public async Task NobodySignedInCannotChangeAPassword()
    {
        using var stranger = factory.Browser();
        using var response = await ChangeAsync(stranger, "x", "the next password", "the next password");
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.StartsWith("/signin", response.Headers.Location!.PathAndQuery);
    }

    [Theory]
    [InlineData("/\t/evil.example", "/")]
    [InlineData("/history\r\n", "/")]
    [InlineData("/history", "/history")]
    public async Task AReturnUrlWithControlCharactersStillSignsIn(string returnUrl, string expected)
    {
        await factory.AccountWithTokenAsync($"tabber-{expected.Length}-{returnUrl.Length}");
        using var browser = factory.Browser();
        var form = new Dictionary<string, string>
        {
            ["name"] = $"tabber-{expected.Length}-{returnUrl.Length}", ["password"] = AccountsStudioFactory.Password, ["returnUrl"] = returnUrl,
            ["__RequestVerificationToken"] = await AccountsStudioFactory.AntiforgeryTokenAsync(browser),
        };
        using var response = await browser.PostAsync("/ui/signin", new FormUrlEncodedContent(form));
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal(expected, response.Headers.Location!.ToString());
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync("/history")).StatusCode);
    }
}

/// <summary>Issue #15 item 6: the small holes.</summary>
public sealed class SmallHoleTests(ApiFactory factory) : IClassFixture<ApiFactory>
{
    [Fact]
    public async Task BatchSizeTimesNIterCannotOverflowIntoASmallCount()
    {
        using var client = factory.ClientFor("overflow");
        using var response = await client.PostAsync("/sdapi/v1/txt2img", System.Net.Http.Json.JsonContent.Create(new { prompt = "x", batch_size = 3, n_iter = 1431655766 }));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.JsonAsync();
        Assert.True(problem.GetProperty("errors").TryGetProperty("batch_size", out _), problem.ToString());
        Assert.Empty((await (await client.GetAsync("/api/v1/jobs")).JsonAsync()).EnumerateArray());
    }

    [Fact]
    public async Task AnIdempotencyKeyReusedWithAnotherBodyIs422AndTheSameBodyReplays()
    {
        using var client = factory.ClientFor("idempotent");
        var first = await client.PostJobAsync(new { prompt = "a lighthouse", width = 256, height = 256, steps = 2 }, "key-1");
        var again = await client.PostJobAsync(new { prompt = "a lighthouse", width = 256, height = 256, steps = 2 }, "key-1");
        Assert.Equal(first.GetProperty("id").GetString(), again.GetProperty("id").GetString());

        using var other = new HttpRequestMessage(HttpMethod.Post, "/api/v1/jobs")
        {
            Content = System.Net.Http.Json.JsonContent.Create(new { prompt = "a different picture", width = 256, height = 256, steps = 2 }),
        };
        other.Headers.Add("Idempotency-Key", "key-1");
        using var response = await client.SendAsync(other);
        Assert.Equal((HttpStatusCode)422, response.StatusCode);
        var problem = await response.JsonAsync();
        Assert.Contains(first.GetProperty("id").GetString()!, problem.GetProperty("detail").GetString());
        Assert.True(problem.GetProperty("errors").TryGetProperty("Idempotency-Key", out _));
    }

    [Theory]
    [InlineData("admin\u200b")]     // zero-width space
    [InlineData("\u202eadmin")]     // right-to-left override
    [InlineData("ad\u00admin")]     // soft hyphen
    [InlineData("admin\ufeff")]     // byte order mark
    public async Task DisplayNamesWithInvisibleCharactersAreRefused(string name)
    {
        using var client = factory.ClientFor(name);
        using var response = await client.GetAsync("/api/v1/jobs");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Null(ZImage.Web.Ui.Identity.UiUser.Normalize(name));
    }

    /// <summary>Not over HTTP: percent-encoding turns a lone surrogate into U+FFFD on the way.</summary>
    [Fact]
    public void ALoneSurrogateIsRefused() => Assert.Null(ZImage.Web.Ui.Identity.UiUser.Normalize("adm\ud800in"));

    [Theory]
    [InlineData("林薇")]
    [InlineData("𠮷野 家")]   // beyond the BMP
    [InlineData("Ann-Marie O'Neil")]
    public async Task OrdinaryNamesInAnyScriptStillWork(string name)
    {
        using var client = factory.ClientFor(name);
        var me = await (await client.GetAsync("/api/v1/me")).JsonAsync();
        Assert.Equal(name, me.GetProperty("user").GetString());
    }
}

public sealed class QueueLimitTests(CappedApiFactory factory) : IClassFixture<CappedApiFactory>
{
    [Fact]
    public async Task AFullShareOfTheQueueIs429WithRetryAfterAndAProblemType()
    {
        await factory.Pipeline.HoldStepsAsync();
        try
        {
            using var client = factory.ClientFor("greedy-trust");
            await client.PostJobAsync(new { prompt = "running", width = 256, height = 256, steps = 1 });
            await ApiTestExtensions.WaitUntilAsync(() => factory.Pipeline.Running == 1, "first job running");
            for (var i = 0; i < 2; i++)
                await client.PostJobAsync(new { prompt = $"waiting {i}", width = 256, height = 256, steps = 1 });
            using var response = await client.PostAsync("/api/v1/jobs", System.Net.Http.Json.JsonContent.Create(new { prompt = "one more", width = 256, height = 256, steps = 2 }));
            Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
            Assert.Equal(TimeSpan.FromSeconds(ZImage.Web.Api.ApiProblems.RetryAfterSeconds), response.Headers.RetryAfter?.Delta);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.Equal(ZImage.Web.Api.ApiProblems.QueueLimitType, (await response.JsonAsync()).GetProperty("type").GetString());
        }
        finally
        {
            factory.Pipeline.Unhold();
        }
    }
}

/// <summary>Issue #15 item 7: what the server shows about itself, and the headers every answer carries.</summary>
public sealed class ExposureTests(AccountsStudioFactory factory) : IClassFixture<AccountsStudioFactory>
{
    [Fact]
    public async Task MetricsNeedAnAdministratorsTokenInAccountsMode()
    {
        using var anonymous = factory.CreateClient();
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/metrics")).StatusCode);
        using var member = factory.ClientWithToken(await factory.AccountWithTokenAsync("metrics-member"));
        Assert.Equal(HttpStatusCode.Forbidden, (await member.GetAsync("/metrics")).StatusCode);
        using var admin = factory.ClientWithToken(await factory.AccountWithTokenAsync("metrics-admin", isAdmin: true));
        using var metrics = await admin.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, metrics.StatusCode);
        Assert.Contains("zimage_queue_depth", await metrics.Content.ReadAsStringAsync());
        // Probes stay open: they name nobody.
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/healthz")).StatusCode);
    }

    [Theory]
    [InlineData("/healthz")]
    [InlineData("/readyz")]
    [InlineData("/metrics")]
    [InlineData("/api/v1/me")]
    [InlineData("/api/v1/nowhere")]
    [InlineData("/sdapi/v1/samplers")]
    [InlineData("/openapi/v1.json")]
    [InlineData("/signin")]
    public async Task EveryAnswerIsNosniffAndApiAnswersMayNotBeFramed(string path)
    {
        using var client = factory.ClientWithToken(await factory.AccountWithTokenAsync($"headers-{path.Replace('/', '-')}", isAdmin: true));
        using var response = await client.GetAsync(path);
        Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
        var policy = response.Headers.GetValues("Content-Security-Policy").Single();
        Assert.Contains("frame-ancestors 'none'", policy);
        if (path == "/signin")
        {
            Assert.Contains("script-src 'self' 'nonce-", policy);
            Assert.DoesNotContain("unsafe-eval", policy);
            var nonce = System.Text.RegularExpressions.Regex.Match(policy, "'nonce-([^']+)'").Groups[1].Value;
            Assert.Contains($"nonce=\"{nonce}\"", await response.Content.ReadAsStringAsync());
        }
        else
            Assert.StartsWith("default-src 'none'", policy);
    }
}

public sealed class ServerPathTests
{
    [Theory]
    [InlineData("model folder /home/ann/models/z-image-turbo-fp16 has no zimage.json", "model folder …/models/z-image-turbo-fp16 has no zimage.json")]
    [InlineData("/srv/zimage/models/zit/transformer/model.onnx.data has 743,168 bytes", "…/transformer/model.onnx.data has 743,168 bytes")]
    [InlineData(@"C:\Users\ann\models\zit\zimage.json is missing", "…/zit/zimage.json is missing")]
    [InlineData("Z-Image-Turbo, on CUDA/TensorRT at 1/2 speed", "Z-Image-Turbo, on CUDA/TensorRT at 1/2 speed")]
    public void SentencesKeepOnlyThePathsLastTwoParts(string sentence, string expected) => Assert.Equal(expected, ZImage.Web.Api.ServerPaths.Hide(sentence));
}

/// <summary>Issue #15 item 10: the event stream for clients that dispatch every block, and for browsers in accounts mode.</summary>
public sealed class EventStreamTests(AccountsStudioFactory factory) : IClassFixture<AccountsStudioFactory>
{
    /// <summary>Every block up to the first blank line, raw, as httpx-sse sees it.</summary>
    private static async Task<string> FirstBlockAsync(HttpResponseMessage response)
    {
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var block = new System.Text.StringBuilder();
        using var cts = new CancellationTokenSource(ApiTestExtensions.Deadline);
        while (await reader.ReadLineAsync(cts.Token) is { Length: > 0 } line)
            block.Append(line).Append('\n');
        return block.ToString();
    }

    [Fact]
    public async Task RetryRidesOnTheFirstRealEventSoNoEmptyMessageIsDispatched()
    {
        using var client = factory.ClientWithToken(await factory.AccountWithTokenAsync("sse-retry"));
        var job = await client.PostJobAsync(new { prompt = "x", width = 256, height = 256, steps = 2 });
        var id = job.GetProperty("id").GetString()!;
        using var response = await client.GetAsync($"/api/v1/jobs/{id}/events", HttpCompletionOption.ResponseHeadersRead);
        var first = await FirstBlockAsync(response);
        // Which event comes first depends on how far the quick job got before the stream opened (a picture already saved
        // comes as "image" before "completed"); whichever it is, it carries the retry line and data.
        Assert.Matches("^retry: 3000\nid: 1\nevent: (queued|started|progress|preview|image|completed)\ndata: \\{", first);
    }

    [Fact]
    public async Task ASignedInBrowserFollowsItsOwnJobWithItsCookieButNotSomeoneElses()
    {
        using var ann = factory.ClientWithToken(await factory.AccountWithTokenAsync("sse-ann"));
        await factory.AccountWithTokenAsync("sse-bob");
        var annsJob = (await ann.PostJobAsync(new { prompt = "ann's", width = 256, height = 256, steps = 2 })).GetProperty("id").GetString()!;

        using var annBrowser = factory.Browser();
        await AccountsStudioFactory.SignInAsync(annBrowser, "sse-ann", AccountsStudioFactory.Password);
        using (var own = await annBrowser.GetAsync($"/api/v1/jobs/{annsJob}/events", HttpCompletionOption.ResponseHeadersRead))
        {
            Assert.Equal(HttpStatusCode.OK, own.StatusCode);
            Assert.Equal("text/event-stream", own.Content.Headers.ContentType?.MediaType);
        }
        // The cookie opens the event stream only, not the rest of the API.
        Assert.Equal(HttpStatusCode.Unauthorized, (await annBrowser.GetAsync("/api/v1/jobs")).StatusCode);

        using var bobBrowser = factory.Browser();
        await AccountsStudioFactory.SignInAsync(bobBrowser, "sse-bob", AccountsStudioFactory.Password);
        Assert.Equal(HttpStatusCode.NotFound, (await bobBrowser.GetAsync($"/api/v1/jobs/{annsJob}/events")).StatusCode);
        using var nobody = factory.Browser();
        Assert.Equal(HttpStatusCode.Unauthorized, (await nobody.GetAsync($"/api/v1/jobs/{annsJob}/events")).StatusCode);
    }
}
