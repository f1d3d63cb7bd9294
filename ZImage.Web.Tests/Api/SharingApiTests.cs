using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace ZImage.Web.Tests.Api;

/// <summary>
/// "Share my pictures with the team" through the API of an open (team) studio: on until a person turns it off, and then
/// their pictures, files and queued prompts are hidden from everyone else at once.
/// </summary>
public sealed class SharingApiTests(ApiFactory factory) : IClassFixture<ApiFactory>
{
    private static bool Lists(JsonElement page, long imageId) =>
        page.GetProperty("items").EnumerateArray().Any(i => i.GetProperty("id").GetInt64() == imageId);

    [Fact]
    public async Task AnOpenStudioSharesUntilTheOwnerSaysNoThenHistoryAndFilesHideTheirPictures()
    {
        factory.Pipeline.Unhold();
        var mia = factory.ClientFor("mia");
        var ned = factory.ClientFor("ned");
        var job = await mia.PostJobAsync(new { prompt = "mia's harbour", width = 256, height = 256, steps = 1 });
        var done = await mia.WaitForStatusAsync(job.GetProperty("id").GetString()!, "succeeded");
        var imageId = done.GetProperty("images")[0].GetProperty("id").GetInt64();

        Assert.True((await (await mia.GetAsync("/api/v1/sharing")).JsonAsync()).GetProperty("shares").GetBoolean());
        Assert.True(Lists(await (await ned.GetAsync("/api/v1/history?user=everyone")).JsonAsync(), imageId));
        Assert.Equal(HttpStatusCode.OK, (await ned.GetAsync($"/api/v1/images/{imageId}")).StatusCode);

        using (var off = await mia.PutAsJsonAsync("/api/v1/sharing", new { shares = false }))
        {
            Assert.Equal(HttpStatusCode.OK, off.StatusCode);
            Assert.False((await off.JsonAsync()).GetProperty("shares").GetBoolean());
        }

        Assert.False(Lists(await (await ned.GetAsync("/api/v1/history?user=everyone")).JsonAsync(), imageId));
        Assert.Equal(0, (await (await ned.GetAsync("/api/v1/history?user=mia")).JsonAsync()).GetProperty("totalCount").GetInt32());
        foreach (var path in new[] { $"/api/v1/images/{imageId}", $"/api/v1/images/{imageId}/thumb", $"/api/v1/images/{imageId}/info" })
            Assert.Equal(HttpStatusCode.NotFound, (await ned.GetAsync(path)).StatusCode);
        // Her own view is unchanged.
        Assert.True(Lists(await (await mia.GetAsync("/api/v1/history?user=everyone")).JsonAsync(), imageId));
        Assert.Equal(HttpStatusCode.OK, (await mia.GetAsync($"/api/v1/images/{imageId}")).StatusCode);
    }

    [Fact]
    public async Task TheQueueShowsAWaitingPromptOnlyWhenItsOwnerShares()
    {
        await factory.Pipeline.HoldStepsAsync();
        try
        {
            var oli = factory.ClientFor("oli");
            var pat = factory.ClientFor("pat");
            using (var off = await pat.PutAsJsonAsync("/api/v1/sharing", new { shares = false }))
                Assert.Equal(HttpStatusCode.OK, off.StatusCode);
            await oli.PostJobAsync(new { prompt = "oli's open sketch", width = 256, height = 256, steps = 2 });
            await pat.PostJobAsync(new { prompt = "pat's surprise", width = 256, height = 256, steps = 2 });

            async Task<string?[]> PromptsSeenBy(HttpClient client) =>
                [.. (await (await client.GetAsync("/api/v1/jobs/queue")).JsonAsync()).EnumerateArray()
                    .Select(e => e.GetProperty("prompt").ValueKind == JsonValueKind.Null ? null : e.GetProperty("prompt").GetString())];

            var seenByOli = await PromptsSeenBy(oli);
            Assert.Contains("oli's open sketch", seenByOli);
            Assert.DoesNotContain("pat's surprise", seenByOli);
            Assert.Contains(seenByOli, p => p is null);
            var seenByPat = await PromptsSeenBy(pat);
            Assert.Contains("oli's open sketch", seenByPat);
            Assert.Contains("pat's surprise", seenByPat);
        }
        finally
        {
            factory.Pipeline.Unhold();
        }
    }

    [Fact]
    public async Task TheChoiceMustBeTrueOrFalse()
    {
        var client = factory.ClientFor("quin");
        foreach (var body in new[] { "{}", "{\"shares\":\"yes\"}", "{\"shares\":null}" })
        {
            using var response = await client.PutAsync("/api/v1/sharing", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Contains("shares", await response.Content.ReadAsStringAsync());
        }
    }
}
