using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using ZImage.Web.Api.Auth;

namespace ZImage.Web.Tests.Api;

/// <summary>GET /api/v1/styles and PUT /api/v1/styles/team in open mode: anyone may change the team's styles, as in Settings.</summary>
public sealed class StyleApiTests(ApiFactory factory) : IClassFixture<ApiFactory>
{
    [Fact]
    public async Task TheBuiltInStylesAreListedAndATeamStyleAddedByAnyoneIsUsableByJobs()
    {
        factory.Pipeline.Unhold();
        var ann = factory.ClientFor("ann");
        var listed = await (await ann.GetAsync("/api/v1/styles")).JsonAsync();
        Assert.Equal(["photo", "product", "flat", "anime", "watercolour", "ink", "cinematic", "3d", "retro-film"],
            listed.EnumerateArray().Select(s => s.GetProperty("id").GetString()));
        var ink = listed.EnumerateArray().Single(s => s.GetProperty("id").GetString() == "ink");
        Assert.Equal("国风水墨", ink.GetProperty("nameZh").GetString());
        Assert.False(ink.GetProperty("team").GetBoolean());

        using var put = await ann.PutAsJsonAsync("/api/v1/styles/team", new { styles = new[] { new { id = "spring-sale", nameEn = "Spring sale", nameZh = "春季促销", prompt = "pastel spring colours", negative = "winter" } } });
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        var after = await put.JsonAsync();
        Assert.Equal(("spring-sale", true), (after[9].GetProperty("id").GetString(), after[9].GetProperty("team").GetBoolean()));

        var job = await ann.PostJobAsync(new { prompt = "a tote bag", width = 256, height = 256, steps = 1, style = "spring-sale" });
        Assert.Equal("a tote bag, pastel spring colours", job.GetProperty("parameters").GetProperty("prompt").GetString());
        Assert.Equal("winter", job.GetProperty("parameters").GetProperty("negativePrompt").GetString());

        using var cleared = await ann.PutAsJsonAsync("/api/v1/styles/team", new { styles = Array.Empty<object>() });
        Assert.Equal(9, (await cleared.JsonAsync()).GetArrayLength());
    }

    [Fact]
    public async Task AChinesePromptGetsTheStylesChineseWordsAndAnEmptyOneFollowsAcceptLanguage()
    {
        factory.Pipeline.Unhold();
        var mei = factory.ClientFor("mei");
        var ink = StylePreset.BuiltIn.Single(p => p.Id == "ink");
        var listed = (await (await mei.GetAsync("/api/v1/styles")).JsonAsync()).EnumerateArray().Single(s => s.GetProperty("id").GetString() == "ink");
        Assert.Equal((ink.PromptZh, ink.NegativeZh), (listed.GetProperty("promptZh").GetString(), listed.GetProperty("negativeZh").GetString()));

        var chinese = (await mei.PostJobAsync(new { prompt = "雨后的江南小镇", style = "ink", width = 256, height = 256, steps = 1 })).GetProperty("parameters");
        Assert.Equal(($"雨后的江南小镇，{ink.PromptZh}", ink.NegativeZh, "ink"),
            (chinese.GetProperty("prompt").GetString(), chinese.GetProperty("negativePrompt").GetString(), chinese.GetProperty("style").GetString()));

        Assert.Equal(ink.Prompt, await PromptOfEmptyJobAsync(mei, acceptLanguage: null));
        Assert.Equal(ink.PromptZh, await PromptOfEmptyJobAsync(mei, acceptLanguage: "zh-CN,zh;q=0.9,en;q=0.8"));
    }

    private static async Task<string?> PromptOfEmptyJobAsync(HttpClient client, string? acceptLanguage)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/jobs") { Content = JsonContent.Create(new { prompt = "", style = "ink", width = 256, height = 256, steps = 1 }) };
        if (acceptLanguage is not null)
            request.Headers.Add("Accept-Language", acceptLanguage);
        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        return (await response.JsonAsync()).GetProperty("parameters").GetProperty("prompt").GetString();
    }

    [Fact]
    public async Task ATeamStylesChineseWordsAreOptionalAndLimitedByField()
    {
        factory.Pipeline.Unhold();
        var lin = factory.ClientFor("lin");
        using var put = await lin.PutAsJsonAsync("/api/v1/styles/team", new
        {
            styles = new object[]
            {
                new { id = "lantern", nameEn = "Lantern festival", nameZh = "元宵", prompt = "red paper lanterns glowing at night", promptZh = "夜色中点亮的红纸灯笼", negativeZh = "白天" },
                new { id = "plain", nameEn = "Plain", nameZh = "素净", prompt = "on a plain white background", negative = "clutter" },
            },
        });
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        var plainListed = (await put.JsonAsync()).EnumerateArray().Single(s => s.GetProperty("id").GetString() == "plain");
        Assert.Equal("", plainListed.GetProperty("promptZh").GetString());

        var lantern = (await lin.PostJobAsync(new { prompt = "古镇的石板街", style = "lantern", width = 256, height = 256, steps = 1 })).GetProperty("parameters");
        Assert.Equal(("古镇的石板街，夜色中点亮的红纸灯笼", "白天"), (lantern.GetProperty("prompt").GetString(), lantern.GetProperty("negativePrompt").GetString()));
        // No Chinese words given: a Chinese prompt still gets the English ones.
        var plain = (await lin.PostJobAsync(new { prompt = "一只青花瓷茶壶", style = "plain", width = 256, height = 256, steps = 1 })).GetProperty("parameters");
        Assert.Equal(("一只青花瓷茶壶, on a plain white background", "clutter"), (plain.GetProperty("prompt").GetString(), plain.GetProperty("negativePrompt").GetString()));

        using var tooLong = await lin.PutAsJsonAsync("/api/v1/styles/team", new { styles = new[] { new { id = "long", nameEn = "Long", nameZh = "长", prompt = "x", promptZh = new string('字', StylePreset.MaxFragmentLength + 1) } } });
        Assert.Equal(HttpStatusCode.BadRequest, tooLong.StatusCode);
        var message = Assert.Single((await tooLong.JsonAsync()).GetProperty("errors").GetProperty("styles").EnumerateArray()).GetString();
        Assert.Equal("Team styles, row 1: the Chinese prompt words must be 0 to 1000 characters.", message);

        using var cleared = await lin.PutAsJsonAsync("/api/v1/styles/team", new { styles = Array.Empty<object>() });
        Assert.Equal(HttpStatusCode.OK, cleared.StatusCode);
    }

    [Fact]
    public async Task ABadTeamStyleIsRefusedByRowAndFieldAndNothingIsSaved()
    {
        var bob = factory.ClientFor("bob");
        using var bad = await bob.PutAsJsonAsync("/api/v1/styles/team", new { styles = new[] { new { id = "photo", nameEn = "Mine", nameZh = "我的", prompt = "x" }, new { id = "No Spaces", nameEn = "", nameZh = "名", prompt = "y" } } });
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        var messages = (await bad.JsonAsync()).GetProperty("errors").GetProperty("styles").EnumerateArray().Select(m => m.GetString()!).ToList();
        Assert.Contains(messages, m => m.Contains("row 1") && m.Contains("already used"));
        Assert.Contains(messages, m => m.Contains("row 2") && m.Contains("lower-case letters"));
        var ids = (await (await bob.GetAsync("/api/v1/styles")).JsonAsync()).EnumerateArray().Select(s => s.GetProperty("id").GetString()).ToList();
        Assert.DoesNotContain("No Spaces", ids);
        Assert.Single(ids, id => id == "photo");

        using var missing = await bob.PutAsJsonAsync("/api/v1/styles/team", new { });
        Assert.Equal(HttpStatusCode.BadRequest, missing.StatusCode);
        Assert.True((await missing.JsonAsync()).GetProperty("errors").TryGetProperty("styles", out _));
    }
}

/// <summary>Accounts mode: a non-admin's token is refused changing the team's styles, an admin's is not.</summary>
public sealed class StyleApiAccountsTests(AccountsApiFactory factory) : IClassFixture<AccountsApiFactory>
{
    [Fact]
    public async Task OnlyAnAdministratorChangesTheTeamsStyles()
    {
        var tokens = factory.Services.GetRequiredService<ApiTokenStore>();
        var ann = factory.ClientWithToken((await tokens.CreateAsync("styles-ann", "laptop", isAdmin: false)).Secret);
        var root = factory.ClientWithToken((await tokens.CreateAsync("styles-root", "ops", isAdmin: true)).Secret);
        var body = new { styles = new[] { new { id = "catalogue", nameEn = "Catalogue", nameZh = "目录图", prompt = "on a plain white background" } } };

        using var refused = await ann.PutAsJsonAsync("/api/v1/styles/team", body);
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Contains("administrators", (await refused.JsonAsync()).GetProperty("detail").GetString());
        Assert.DoesNotContain("catalogue", Ids(await (await ann.GetAsync("/api/v1/styles")).JsonAsync()));

        using var allowed = await root.PutAsJsonAsync("/api/v1/styles/team", body);
        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
        // Everyone reads the list and may use the team's style.
        var seen = await (await ann.GetAsync("/api/v1/styles")).JsonAsync();
        Assert.Contains("catalogue", Ids(seen));
    }

    private static List<string?> Ids(JsonElement list) => [.. list.EnumerateArray().Select(s => s.GetProperty("id").GetString())];
}
