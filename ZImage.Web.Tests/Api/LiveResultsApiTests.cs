using System.Text.Json;

namespace ZImage.Web.Tests.Api;

/// <summary>Through the job API a running job's pictures arrive one by one, each downloadable before the job ends.</summary>
public sealed class LiveResultsApiTests(ApiFactory factory) : IClassFixture<ApiFactory>
{
    private static readonly byte[] PngSignature = [137, 80, 78, 71, 13, 10, 26, 10];

    [Fact]
    public async Task TheEventStreamSendsEachPictureAsItIsSavedAndItDownloadsWhileTheJobRuns()
    {
        await factory.Pipeline.HoldStepsAsync();
        var client = factory.ClientFor("lena");
        var job = await client.PostJobAsync(new { prompt = "two kites", width = 256, height = 256, steps = 1, count = 2 });
        var id = job.GetProperty("id").GetString()!;
        using var response = await client.SendAsync(new HttpRequestMessage(HttpMethod.Get, $"/api/v1/jobs/{id}/events"), HttpCompletionOption.ResponseHeadersRead);
        var reader = new SseReader(await response.Content.ReadAsStreamAsync());
        var events = new List<SseReader.Event>();

        factory.Pipeline.ReleaseSteps(1); // picture 1's only step; picture 2 waits
        do
            events.Add(await reader.NextAsync());
        while (events[^1].Name != "image");

        var image = events[^1].Data;
        Assert.Equal((0, 2), (image.GetProperty("imageIndex").GetInt32(), image.GetProperty("imageCount").GetInt32()));
        var link = image.GetProperty("image");
        var running = await (await client.GetAsync($"/api/v1/jobs/{id}")).JsonAsync();
        Assert.Equal("running", running.GetProperty("status").GetString());
        Assert.Equal(link.GetProperty("id").GetInt64(), Assert.Single(running.GetProperty("images").EnumerateArray()).GetProperty("id").GetInt64());
        var png = await client.GetByteArrayAsync(link.GetProperty("url").GetString());
        Assert.Equal(PngSignature, png[..8]);

        factory.Pipeline.ReleaseSteps(1);
        do
            events.Add(await reader.NextAsync());
        while (events[^1].Name is not ("completed" or "failed" or "cancelled"));

        Assert.Equal("completed", events[^1].Name);
        Assert.Equal(2, events.Count(e => e.Name == "image"));
        var completed = events[^1].Data.GetProperty("images").EnumerateArray().Select(i => i.GetProperty("id").GetInt64()).ToList();
        Assert.Equal(events.Where(e => e.Name == "image").Select(e => e.Data.GetProperty("image").GetProperty("id").GetInt64()), completed);
        factory.Pipeline.Unhold();
    }
}
