using System.Net;
using System.Net.Http.Headers;
using Microsoft.Extensions.DependencyInjection;
using ZImage.Web.Api.Auth;

namespace ZImage.Web.Tests.Api;

/// <summary>GET /api/v1/usage in accounts mode: who may see whose usage, JSON and CSV.</summary>
public sealed class UsageApiTests(AccountsApiFactory factory) : IClassFixture<AccountsApiFactory>
{
    private ApiTokenStore Tokens => factory.Services.GetRequiredService<ApiTokenStore>();

    [Fact]
    public async Task PeopleSeeTheirOwnUsageAdminsSeeEveryoneAndCsvHasARowPerPersonAndDay()
    {
        factory.Pipeline.Unhold();
        var ann = factory.ClientWithToken((await Tokens.CreateAsync("usage-ann", "laptop", isAdmin: false)).Secret);
        var bob = factory.ClientWithToken((await Tokens.CreateAsync("usage-bob", "script", isAdmin: false)).Secret);
        var root = factory.ClientWithToken((await Tokens.CreateAsync("usage-root", "ops", isAdmin: true)).Secret);
        foreach (var (client, count) in new[] { (ann, 2), (bob, 1) })
        {
            var job = await client.PostJobAsync(new { prompt = "a fox", width = 256, height = 256, steps = 2, count });
            var done = await client.WaitForStatusAsync(job.GetProperty("id").GetString()!, "succeeded");
            Assert.True(done.GetProperty("gpuSeconds").GetDouble() > 0, done.ToString());
        }

        var mine = await (await ann.GetAsync("/api/v1/usage")).JsonAsync();
        Assert.Equal(["usage-ann"], mine.GetProperty("people").EnumerateArray().Select(p => p.GetProperty("user").GetString()));
        Assert.Equal(2, mine.GetProperty("total").GetProperty("pictures").GetInt32());
        Assert.True(mine.GetProperty("total").GetProperty("gpuSeconds").GetDouble() > 0);

        using var others = await ann.GetAsync("/api/v1/usage?user=usage-bob");
        Assert.Equal(HttpStatusCode.Forbidden, others.StatusCode);

        var everyone = await (await root.GetAsync("/api/v1/usage")).JsonAsync();
        var people = everyone.GetProperty("people").EnumerateArray().Select(p => p.GetProperty("user").GetString()).ToList();
        Assert.Contains("usage-ann", people);
        Assert.Contains("usage-bob", people);

        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/usage?user=usage-bob");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/csv"));
        using var csv = await root.SendAsync(request);
        Assert.Equal("text/csv", csv.Content.Headers.ContentType?.MediaType);
        var lines = (await csv.Content.ReadAsStringAsync()).TrimEnd('\n').Split('\n');
        Assert.Equal("day,user,jobs,pictures,gpu_seconds,cost,currency", lines[0]);
        var row = Assert.Single(lines[1..]).Split(',');
        Assert.Equal((DateTime.UtcNow.ToString("yyyy-MM-dd"), "usage-bob", "1", "1", "CNY"), (row[0], row[1], row[2], row[3], row[6]));

        using var byFormat = await ann.GetAsync("/api/v1/usage?format=csv");
        Assert.StartsWith("day,user,", await byFormat.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task BadDatesAndFormatsNameTheField()
    {
        var ann = factory.ClientWithToken((await Tokens.CreateAsync("usage-dates", "laptop", isAdmin: false)).Secret);
        using var backwards = await ann.GetAsync("/api/v1/usage?from=2026-12-05&to=2026-12-01");
        Assert.Equal(HttpStatusCode.BadRequest, backwards.StatusCode);
        Assert.True((await backwards.JsonAsync()).GetProperty("errors").TryGetProperty("to", out _));
        using var format = await ann.GetAsync("/api/v1/usage?format=xml");
        Assert.Equal(HttpStatusCode.BadRequest, format.StatusCode);
        using var notADate = await ann.GetAsync("/api/v1/usage?from=yesterday");
        Assert.Equal(HttpStatusCode.BadRequest, notADate.StatusCode);
    }
}
