using System.IO.Compression;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace ZImage.Web.Tests.Api;

public sealed class BatchApiTests(ApiFactory factory) : IClassFixture<ApiFactory>
{
    private static async Task<JsonElement> WaitForBatchAsync(HttpClient client, string id)
    {
        var deadline = DateTime.UtcNow + ApiTestExtensions.Deadline;
        while (true)
        {
            var batch = await (await client.GetAsync($"/api/v1/batches/{id}")).JsonAsync();
            if (batch.GetProperty("status").GetString() != "running")
                return batch;
            if (DateTime.UtcNow > deadline)
                Assert.Fail($"batch {id} still running: {batch}");
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task ATextBatchRunsEveryPromptTimesStylesAndItsZipHoldsThePictures()
    {
        factory.Pipeline.Unhold();
        var client = factory.ClientFor("batch-ann");
        using var response = await client.PostAsJsonAsync("/api/v1/batches", new
        {
            name = "mugs",
            list = "a white mug\na red mug\n",
            styles = new[] { "product", "watercolour" },
            picturesPerPrompt = 2,
            width = 256,
            height = 256,
            steps = 1,
        });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var id = (await response.JsonAsync()).GetProperty("id").GetString()!;
        Assert.Equal($"/api/v1/batches/{id}", response.Headers.Location?.OriginalString);

        var done = await WaitForBatchAsync(client, id);
        Assert.Equal(("finished", 4, 8), (done.GetProperty("status").GetString(), done.GetProperty("succeeded").GetInt32(), done.GetProperty("pictures").GetInt32()));
        using var zipResponse = await client.GetAsync(done.GetProperty("zipUrl").GetString());
        Assert.Equal("application/zip", zipResponse.Content.Headers.ContentType?.MediaType);
        using var zip = new ZipArchive(await zipResponse.Content.ReadAsStreamAsync());
        Assert.Equal(8, zip.Entries.Count(e => e.Name.EndsWith(".png") && e.Name != "contact-sheet.png"));
        Assert.NotNull(zip.GetEntry("manifest.csv"));
        Assert.NotNull(zip.GetEntry("contact-sheet.png"));

        using var others = await factory.ClientFor("batch-bob").GetAsync($"/api/v1/batches/{id}");
        Assert.Equal(HttpStatusCode.NotFound, others.StatusCode);
        using var again = await client.DeleteAsync($"/api/v1/batches/{id}");
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
    }

    [Fact]
    public async Task BadCsvRowsAreRefusedByLineAndFieldAndNothingRuns()
    {
        var client = factory.ClientFor("batch-carol");
        using var response = await client.PostAsJsonAsync("/api/v1/batches", new
        {
            format = "csv",
            list = "prompt,width\nfine,512\n,512\nwide,999\n",
        });
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var errors = (await response.JsonAsync()).GetProperty("errors");
        Assert.True(errors.TryGetProperty("line 3: prompt", out _), errors.ToString());
        Assert.True(errors.TryGetProperty("line 4: width", out _), errors.ToString());
        Assert.Empty((await (await client.GetAsync("/api/v1/batches")).JsonAsync()).EnumerateArray());
    }

    [Fact]
    public async Task ARunningBatchIsCancelledAsAWholeAndItsZipWaitsUntilItEnds()
    {
        await factory.Pipeline.HoldStepsAsync();
        var client = factory.ClientFor("batch-dan");
        using var response = await client.PostAsJsonAsync("/api/v1/batches", new { list = string.Join('\n', Enumerable.Range(0, 20).Select(i => $"prompt {i}")), width = 256, height = 256, steps = 1 });
        var id = (await response.JsonAsync()).GetProperty("id").GetString()!;
        using var early = await client.GetAsync($"/api/v1/batches/{id}/zip");
        Assert.Equal(HttpStatusCode.Conflict, early.StatusCode);

        using var cancel = await client.DeleteAsync($"/api/v1/batches/{id}");
        Assert.Equal(HttpStatusCode.Accepted, cancel.StatusCode);
        factory.Pipeline.Unhold();
        var done = await WaitForBatchAsync(client, id);
        Assert.Equal("cancelled", done.GetProperty("status").GetString());
        Assert.Equal(20, done.GetProperty("cancelled").GetInt32() + done.GetProperty("succeeded").GetInt32());
    }
}
