using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using ZImage.Web.Api.Auth;

namespace ZImage.Web.Tests.Api;

public sealed class AuthTests(AccountsApiFactory factory) : IClassFixture<AccountsApiFactory>
{
    private ApiTokenStore Tokens => factory.Services.GetRequiredService<ApiTokenStore>();

    [Fact]
    public async Task AccountsModeRefusesCallsWithoutAValidToken()
    {
        using var anonymous = await factory.CreateClient().GetAsync("/api/v1/jobs");
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal("Bearer", anonymous.Headers.WwwAuthenticate.Single().Scheme);
        Assert.Contains("Bearer", (await anonymous.JsonAsync()).GetProperty("detail").GetString());

        using var nameOnly = await factory.ClientFor("mallory").PostAsJsonAsync("/sdapi/v1/txt2img", new { prompt = "x" });
        Assert.Equal(HttpStatusCode.Unauthorized, nameOnly.StatusCode);

        using var forged = await factory.ClientWithToken("zit_notarealtoken").GetAsync("/sdapi/v1/progress");
        Assert.Equal(HttpStatusCode.Unauthorized, forged.StatusCode);
        Assert.Contains("unknown or revoked", (await forged.JsonAsync()).GetProperty("detail").GetString());
    }

    [Fact]
    public async Task UsersSeeAndCancelOnlyTheirOwnJobsAndImages()
    {
        factory.Pipeline.Unhold();
        var ann = factory.ClientWithToken((await Tokens.CreateAsync("ann", "laptop", isAdmin: false)).Secret);
        var bob = factory.ClientWithToken((await Tokens.CreateAsync("bob", "script", isAdmin: false)).Secret);
        var root = factory.ClientWithToken((await Tokens.CreateAsync("root", "ops", isAdmin: true)).Secret);

        var job = await ann.PostJobAsync(new { prompt = "ann's secret", width = 256, height = 256, steps = 1 });
        var id = job.GetProperty("id").GetString()!;
        Assert.Equal("ann", job.GetProperty("user").GetString());
        var done = await ann.WaitForStatusAsync(id, "succeeded");
        var imageId = done.GetProperty("images")[0].GetProperty("id").GetInt64();

        Assert.Equal(HttpStatusCode.NotFound, (await bob.GetAsync($"/api/v1/jobs/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await bob.DeleteAsync($"/api/v1/jobs/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await bob.GetAsync($"/api/v1/jobs/{id}/events")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await bob.GetAsync($"/api/v1/images/{imageId}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await bob.GetAsync($"/api/v1/images/{imageId}/thumb")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await bob.DeleteAsync($"/api/v1/images/{imageId}")).StatusCode);
        // With tokens nobody shares until they choose to: everyone's pictures, or ann's, list none of hers for bob.
        foreach (var listing in new[] { "/api/v1/history?user=everyone", "/api/v1/history?user=ann", "/api/v1/history" })
            Assert.Equal(0, (await (await bob.GetAsync(listing)).JsonAsync()).GetProperty("totalCount").GetInt32());

        Assert.Equal(HttpStatusCode.OK, (await ann.GetAsync($"/api/v1/images/{imageId}")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await root.GetAsync($"/api/v1/images/{imageId}")).StatusCode);
        var annsHistory = await (await ann.GetAsync("/api/v1/history")).JsonAsync();
        Assert.Equal("ann's secret", annsHistory.GetProperty("items")[0].GetProperty("parameters").GetProperty("prompt").GetString());
    }

    [Fact]
    public async Task InterruptStopsOnlyTheCallersOwnRunningJob()
    {
        await factory.Pipeline.HoldStepsAsync();
        var ann = factory.ClientWithToken((await Tokens.CreateAsync("ann2", "a", false)).Secret);
        var bob = factory.ClientWithToken((await Tokens.CreateAsync("bob2", "b", false)).Secret);
        var job = await ann.PostJobAsync(new { prompt = "keep going", width = 256, height = 256, steps = 2 });
        var id = job.GetProperty("id").GetString()!;
        await ApiTestExtensions.WaitUntilAsync(() => factory.Pipeline.Running == 1, "ann's job running");

        using var bobInterrupt = await bob.PostAsync("/sdapi/v1/interrupt", null);
        Assert.Equal(HttpStatusCode.OK, bobInterrupt.StatusCode);
        Assert.Equal("running", (await (await ann.GetAsync($"/api/v1/jobs/{id}")).JsonAsync()).GetProperty("status").GetString());

        using var annInterrupt = await ann.PostAsync("/sdapi/v1/interrupt", null);
        Assert.Equal(HttpStatusCode.OK, annInterrupt.StatusCode);
        await ann.WaitForStatusAsync(id, "cancelled");
        factory.Pipeline.Unhold();
    }

    [Fact]
    public async Task TokensAreStoredHashedAndStopWorkingWhenRevoked()
    {
        var created = await Tokens.CreateAsync("tess", "ci", isAdmin: false);
        var tess = factory.ClientWithToken(created.Secret);
        var me = await (await tess.GetAsync("/api/v1/me")).JsonAsync();
        Assert.Equal("tess", me.GetProperty("user").GetString());

        var listed = await (await tess.GetAsync("/api/v1/tokens")).JsonAsync();
        var entry = Assert.Single(listed.EnumerateArray());
        Assert.False(entry.TryGetProperty("secret", out _));
        Assert.StartsWith(entry.GetProperty("prefix").GetString()!, created.Secret);

        var file = Path.Combine(factory.Root, "data", "zimage.db");
        var bytes = await ReadSharedAsync(file);
        Assert.DoesNotContain(created.Secret, System.Text.Encoding.UTF8.GetString(bytes));
        foreach (var wal in new[] { file + "-wal" }.Where(File.Exists))
            Assert.DoesNotContain(created.Secret, System.Text.Encoding.UTF8.GetString(await ReadSharedAsync(wal)));

        using var revoke = await tess.DeleteAsync($"/api/v1/tokens/{created.Info.Id}");
        Assert.Equal(HttpStatusCode.NoContent, revoke.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await tess.GetAsync("/api/v1/me")).StatusCode);
    }

    [Fact]
    public async Task OnlyAdminsCreateTokensForOthers()
    {
        var tess = factory.ClientWithToken((await Tokens.CreateAsync("uma", "x", false)).Secret);
        using var forOther = await tess.PostAsJsonAsync("/api/v1/tokens", new { name = "sneaky", user = "root" });
        Assert.Equal(HttpStatusCode.Forbidden, forOther.StatusCode);

        using var own = await tess.PostAsJsonAsync("/api/v1/tokens", new { name = "second laptop" });
        Assert.Equal(HttpStatusCode.Created, own.StatusCode);
        var secret = (await own.JsonAsync()).GetProperty("secret").GetString()!;
        var me = await (await factory.ClientWithToken(secret).GetAsync("/api/v1/me")).JsonAsync();
        Assert.Equal("uma", me.GetProperty("user").GetString());
    }

    private static async Task<byte[]> ReadSharedAsync(string path)
    {
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy);
        return copy.ToArray();
    }
}

public sealed class UiAccountsModeTests(UiAccountsApiFactory factory) : IClassFixture<UiAccountsApiFactory>
{
    [Fact]
    public async Task AccountsModeOnThePagesPutsTheApiInAccountsModeToo()
    {
        using var byName = await factory.ClientFor("ann").GetAsync("/api/v1/me");
        Assert.Equal(HttpStatusCode.Unauthorized, byName.StatusCode);
    }
}

public sealed class OpenModeTokenTests(ApiFactory factory) : IClassFixture<ApiFactory>
{
    [Fact]
    public async Task OpenModeCannotMintTokensForAClaimedName()
    {
        using var response = await factory.ClientFor("ann").PostAsJsonAsync("/api/v1/tokens", new { name = "claimed" });
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Contains("accounts mode", (await response.JsonAsync()).GetProperty("detail").GetString());
    }
}
