using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace ZImage.Web.Tests.Api;

public sealed class JobApiTests(ApiFactory factory) : IClassFixture<ApiFactory>
{
    private static readonly byte[] PngSignature = [137, 80, 78, 71, 13, 10, 26, 10];

    [Fact]
    public async Task SubmitAnswers202WithIdAndPositionThenTheJobSucceedsWithItsImages()
    {
        factory.Pipeline.Unhold();
        var client = factory.ClientFor("ann");
        using var response = await client.PostAsJsonAsync("/api/v1/jobs", new { prompt = "a fox", width = 256, height = 256, steps = 2, seed = 42, count = 2 });

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var job = await response.JsonAsync();
        var id = job.GetProperty("id").GetString()!;
        Assert.Equal($"/api/v1/jobs/{id}", response.Headers.Location?.OriginalString);
        Assert.Equal("ann", job.GetProperty("user").GetString());
        Assert.Equal(42, job.GetProperty("parameters").GetProperty("seed").GetInt64());
        Assert.True(job.GetProperty("status").GetString() is "queued" or "running" or "succeeded");

        var done = await client.WaitForStatusAsync(id, "succeeded");
        var images = done.GetProperty("images").EnumerateArray().ToList();
        Assert.Equal(2, images.Count);
        foreach (var image in images)
        {
            var png = await client.GetByteArrayAsync(image.GetProperty("url").GetString());
            Assert.Equal(PngSignature, png[..8]);
            var thumb = await client.GetByteArrayAsync(image.GetProperty("thumbUrl").GetString());
            Assert.Equal(PngSignature, thumb[..8]);
        }
    }

    [Fact]
    public async Task QueuedJobReportsItsPositionBehindTheRunningOne()
    {
        await factory.Pipeline.HoldStepsAsync();
        var client = factory.ClientFor("queue-bob");
        var first = await client.PostJobAsync(new { prompt = "first", width = 256, height = 256, steps = 2 });
        await ApiTestExtensions.WaitUntilAsync(() => factory.Pipeline.Running == 1, "first job running");
        var second = await client.PostJobAsync(new { prompt = "second", width = 256, height = 256, steps = 2 });

        Assert.Equal("queued", second.GetProperty("status").GetString());
        Assert.Equal(1, second.GetProperty("position").GetInt32());
        factory.Pipeline.Unhold();
        await client.WaitForStatusAsync(first.GetProperty("id").GetString()!, "succeeded");
        await client.WaitForStatusAsync(second.GetProperty("id").GetString()!, "succeeded");
    }

    [Fact]
    public async Task OutOfRangeFieldsAreRefusedWithProblemNamingEachFieldAndItsRange()
    {
        var client = factory.ClientFor("carol");
        using var response = await client.PostAsJsonAsync("/api/v1/jobs", new { prompt = "x", width = 1000, steps = 80 });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.JsonAsync();
        Assert.Equal(400, problem.GetProperty("status").GetInt32());
        var errors = problem.GetProperty("errors");
        Assert.Contains("multiple of 16 between 256 and 2048", errors.GetProperty("width")[0].GetString());
        Assert.Contains("between 1 and 50", errors.GetProperty("steps")[0].GetString());
    }

    [Fact]
    public async Task MissingPromptAndUnreadableJsonNameTheField()
    {
        var client = factory.ClientFor("carol");
        using var noPrompt = await client.PostAsJsonAsync("/api/v1/jobs", new { width = 256 });
        Assert.Equal(HttpStatusCode.BadRequest, noPrompt.StatusCode);
        Assert.True((await noPrompt.JsonAsync()).GetProperty("errors").TryGetProperty("prompt", out _));

        using var badNumber = await client.PostAsync("/api/v1/jobs", new StringContent("""{"prompt":"x","width":"wide"}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, badNumber.StatusCode);
        Assert.True((await badNumber.JsonAsync()).GetProperty("errors").TryGetProperty("width", out _));
    }

    [Fact]
    public async Task RepeatingAnIdempotencyKeyReturnsTheSameJob()
    {
        factory.Pipeline.Unhold();
        var client = factory.ClientFor("dave");
        var body = new { prompt = "once only", width = 256, height = 256, steps = 1 };
        var first = await client.PostJobAsync(body, idempotencyKey: "click-123");
        using var again = new HttpRequestMessage(HttpMethod.Post, "/api/v1/jobs") { Content = JsonContent.Create(body) };
        again.Headers.Add("Idempotency-Key", "click-123");
        using var response = await client.SendAsync(again);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal(first.GetProperty("id").GetString(), (await response.JsonAsync()).GetProperty("id").GetString());
        Assert.Equal("true", response.Headers.GetValues("Idempotent-Replayed").Single());
        var mine = await (await client.GetAsync("/api/v1/jobs")).JsonAsync();
        Assert.Single(mine.EnumerateArray(), j => j.GetProperty("parameters").GetProperty("prompt").GetString() == "once only");
    }

    [Fact]
    public async Task UnknownJobIs404Problem()
    {
        var client = factory.ClientFor("erin");
        using var get = await client.GetAsync("/api/v1/jobs/no-such-job");
        using var delete = await client.DeleteAsync("/api/v1/jobs/no-such-job");
        using var events = await client.GetAsync("/api/v1/jobs/no-such-job/events");

        foreach (var response in new[] { get, delete, events })
        {
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            Assert.Contains("no-such-job", (await response.JsonAsync()).GetProperty("detail").GetString());
        }
    }

    [Fact]
    public async Task CancellingAQueuedJobAnswers200AndAFinishedOne409()
    {
        await factory.Pipeline.HoldStepsAsync();
        var client = factory.ClientFor("frank");
        var running = await client.PostJobAsync(new { prompt = "blocker", width = 256, height = 256, steps = 3 });
        await ApiTestExtensions.WaitUntilAsync(() => factory.Pipeline.Running == 1, "blocker running");
        var queued = await client.PostJobAsync(new { prompt = "victim", width = 256, height = 256, steps = 3 });
        var queuedId = queued.GetProperty("id").GetString()!;

        using var cancel = await client.DeleteAsync($"/api/v1/jobs/{queuedId}");
        Assert.Equal(HttpStatusCode.OK, cancel.StatusCode);
        Assert.Equal("cancelled", (await cancel.JsonAsync()).GetProperty("status").GetString());

        using var again = await client.DeleteAsync($"/api/v1/jobs/{queuedId}");
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Contains("already finished", (await again.JsonAsync()).GetProperty("detail").GetString());

        var runningId = running.GetProperty("id").GetString()!;
        using var stop = await client.DeleteAsync($"/api/v1/jobs/{runningId}");
        Assert.True(stop.StatusCode is HttpStatusCode.Accepted or HttpStatusCode.OK);
        await client.WaitForStatusAsync(runningId, "cancelled");
        factory.Pipeline.Unhold();
    }

    [Fact]
    public async Task EventsArriveInOrderWithSseFramingUntilCompleted()
    {
        await factory.Pipeline.HoldStepsAsync();
        var client = factory.ClientFor("gina");
        var job = await client.PostJobAsync(new { prompt = "streamed", width = 256, height = 256, steps = 3, count = 1 });
        var id = job.GetProperty("id").GetString()!;

        using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/v1/jobs/{id}/events");
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var reader = new SseReader(await response.Content.ReadAsStreamAsync());

        var first = await reader.NextAsync();
        Assert.True(first.Name is "queued" or "started", first.ToString());
        factory.Pipeline.ReleaseSteps(3);

        var events = new List<SseReader.Event> { first };
        while (events[^1].Name is not ("completed" or "failed" or "cancelled"))
            events.Add(await reader.NextAsync());

        var names = events.Select(e => e.Name).ToList();
        Assert.Equal("completed", names[^1]);
        Assert.True(names.IndexOf("started") < names.IndexOf("progress"), string.Join(",", names));
        var steps = events.Where(e => e.Name == "progress").Select(e => e.Data.GetProperty("step").GetInt32()).ToList();
        Assert.Equal([1, 2, 3], steps);
        Assert.Equal(3, events.First(e => e.Name == "progress").Data.GetProperty("total").GetInt32());
        var preview = events.First(e => e.Name == "preview").Data.GetProperty("image").GetString()!;
        Assert.StartsWith("data:image/png;base64,", preview);
        var ids = events.Select(e => e.Id).ToList();
        Assert.Equal(ids.Order(), ids);
        var completed = events[^1].Data.GetProperty("images");
        Assert.Equal(1, completed.GetArrayLength());
        Assert.StartsWith("/api/v1/images/", completed[0].GetProperty("url").GetString());
        factory.Pipeline.Unhold();
    }

    [Fact]
    public async Task PreviewsAreThrottledToOneEveryHalfSecond()
    {
        await factory.Pipeline.HoldStepsAsync();
        var client = factory.ClientFor("hal");
        var job = await client.PostJobAsync(new { prompt = "many steps", width = 256, height = 256, steps = 6 });
        using var response = await client.SendAsync(new HttpRequestMessage(HttpMethod.Get, $"/api/v1/jobs/{job.GetProperty("id").GetString()}/events"), HttpCompletionOption.ResponseHeadersRead);
        var reader = new SseReader(await response.Content.ReadAsStreamAsync());
        var events = new List<SseReader.Event>();

        async Task ReadThroughStepAsync(int step)
        {
            do
                events.Add(await reader.NextAsync());
            while (!(events[^1].Name == "progress" && events[^1].Data.GetProperty("step").GetInt32() == step));
        }

        // The clock stands still: steps 1-3 fit in one half second, so only step 1 gets a preview.
        factory.Pipeline.ReleaseSteps(3);
        await ReadThroughStepAsync(3);
        factory.PreviewClock.Advance(TimeSpan.FromMilliseconds(499));
        factory.Pipeline.ReleaseSteps(1);
        await ReadThroughStepAsync(4);
        factory.PreviewClock.Advance(TimeSpan.FromMilliseconds(2));
        factory.Pipeline.ReleaseSteps(2);
        do
            events.Add(await reader.NextAsync());
        while (events[^1].Name != "completed");

        var previewSteps = events.Where(e => e.Name == "preview").Select(e => e.Data.GetProperty("step").GetInt32()).ToList();
        Assert.Equal([1, 5], previewSteps);
        Assert.Equal(6, events.Count(e => e.Name == "progress"));
        factory.Pipeline.Unhold();
    }

    [Fact]
    public async Task BodyOverTheLimitIs413Problem()
    {
        var client = factory.ClientFor("ivan");
        var huge = new string('a', 2 * 1024 * 1024);
        using var response = await client.PostAsJsonAsync("/api/v1/jobs", new { prompt = huge });

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Contains("1,048,576", (await response.JsonAsync()).GetProperty("detail").GetString());
    }

    [Fact]
    public async Task BadHistoryQueryNamesTheParameter()
    {
        var client = factory.ClientFor("judy");
        using var response = await client.GetAsync("/api/v1/history?pageSize=5000");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("between 1 and 200", (await response.JsonAsync()).GetProperty("errors").GetProperty("pageSize")[0].GetString());
    }

    [Fact]
    public async Task HistoryFiltersByUserTextAndSize()
    {
        factory.Pipeline.Unhold();
        var kim = factory.ClientFor("kim");
        var job = await kim.PostJobAsync(new { prompt = "lighthouse at dusk", width = 256, height = 320, steps = 1 });
        await kim.WaitForStatusAsync(job.GetProperty("id").GetString()!, "succeeded");
        var other = factory.ClientFor("lou");
        var job2 = await other.PostJobAsync(new { prompt = "lighthouse at dawn", width = 256, height = 256, steps = 1 });
        await other.WaitForStatusAsync(job2.GetProperty("id").GetString()!, "succeeded");

        var mine = await (await kim.GetAsync("/api/v1/history?user=mine&text=lighthouse")).JsonAsync();
        Assert.All(mine.GetProperty("items").EnumerateArray(), i => Assert.Equal("kim", i.GetProperty("user").GetString()));
        Assert.Equal(1, mine.GetProperty("totalCount").GetInt32());

        var everyone = await (await kim.GetAsync("/api/v1/history?user=everyone&text=lighthouse")).JsonAsync();
        Assert.Equal(2, everyone.GetProperty("totalCount").GetInt32());

        var sized = await (await kim.GetAsync("/api/v1/history?user=everyone&text=lighthouse&size=256x320")).JsonAsync();
        var item = Assert.Single(sized.GetProperty("items").EnumerateArray());
        Assert.Equal(320, item.GetProperty("height").GetInt32());
        Assert.Equal("lighthouse at dusk", item.GetProperty("parameters").GetProperty("prompt").GetString());
    }
}

public sealed class QueueCapTests(CappedApiFactory factory) : IClassFixture<CappedApiFactory>
{
    [Fact]
    public async Task SubmittingPastThePerUserCapIs429NamingTheCap()
    {
        await factory.Pipeline.HoldStepsAsync();
        var client = factory.ClientFor("greedy");
        await client.PostJobAsync(new { prompt = "running", width = 256, height = 256, steps = 1 });
        await ApiTestExtensions.WaitUntilAsync(() => factory.Pipeline.Running == 1, "first job running");
        await client.PostJobAsync(new { prompt = "waiting 1", width = 256, height = 256, steps = 1 });
        await client.PostJobAsync(new { prompt = "waiting 2", width = 256, height = 256, steps = 1 });

        using var refused = await client.PostAsJsonAsync("/api/v1/jobs", new { prompt = "one too many", width = 256, height = 256, steps = 1 });
        Assert.Equal((HttpStatusCode)429, refused.StatusCode);
        var problem = await refused.JsonAsync();
        Assert.Contains("(2)", problem.GetProperty("detail").GetString());
        Assert.True(problem.GetProperty("errors").TryGetProperty("queue", out _));

        using var someoneElse = await factory.ClientFor("patient").PostAsJsonAsync("/api/v1/jobs", new { prompt = "mine", width = 256, height = 256, steps = 1 });
        Assert.Equal(HttpStatusCode.Accepted, someoneElse.StatusCode);
        factory.Pipeline.Unhold();
    }

    [Fact]
    public async Task ANamedStyleAddsItsWordsAndIsRecordedWhileAnUnknownOneIsRefused()
    {
        factory.Pipeline.Unhold();
        var client = factory.ClientFor("stylist");
        var job = await client.PostJobAsync(new { prompt = "a ceramic mug", style = "product", width = 256, height = 256, steps = 1 });
        var parameters = job.GetProperty("parameters");
        var product = StylePreset.BuiltIn.Single(p => p.Id == "product");
        Assert.Equal($"a ceramic mug, {product.Prompt}", parameters.GetProperty("prompt").GetString());
        Assert.Equal(product.Negative, parameters.GetProperty("negativePrompt").GetString());
        Assert.Equal("product", parameters.GetProperty("style").GetString());

        using var unknown = await client.PostAsJsonAsync("/api/v1/jobs", new { prompt = "x", style = "vaporwave" });
        Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
        Assert.True((await unknown.JsonAsync()).GetProperty("errors").TryGetProperty("style", out _));
    }
}
