using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using ZImage.Engine.Imaging;

namespace ZImage.Web.Tests.Api;

/// <summary>
/// The main success paths against the real engine: PipelineHost, ONNX Runtime on the CPU and the committed self-test
/// model (random weights, so the pictures are noise, but every stage runs). The fake pipeline stays for the tests that
/// must decide when a step happens (throttling, cancelling a queued job, caps).
/// </summary>
[Trait("Category", "TinyModel")]
public sealed class TinyModelApiTests(TinyModelApiFactory factory) : IClassFixture<TinyModelApiFactory>
{
    [Fact]
    public async Task Txt2ImgAsWebuiapiSendsItReturnsRealPngsWithTheParametersAndSeeds()
    {
        // webuiapi's body with its defaults, at a size and step count the CPU makes in about a second.
        var body = """
            {"enable_hr": false, "denoising_strength": 0.7, "prompt": "a lighthouse at dusk", "styles": [], "seed": 4242, "subseed": -1,
             "batch_size": 2, "n_iter": 1, "steps": 3, "cfg_scale": 7.0, "width": 256, "height": 320, "restore_faces": false,
             "negative_prompt": "", "sampler_name": "Euler a", "scheduler": "automatic", "sampler_index": "Euler a",
             "send_images": true, "save_images": false, "alwayson_scripts": {}}
            """;
        var client = factory.ClientFor("tiny-webuiapi");
        using var response = await client.PostAsync("/sdapi/v1/txt2img", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var r = await response.JsonAsync();
        var info = JsonDocument.Parse(r.GetProperty("info").GetString()!).RootElement;
        Assert.Equal([4242L, 4243L], info.GetProperty("all_seeds").EnumerateArray().Select(s => s.GetInt64()));
        var pngs = r.GetProperty("images").EnumerateArray().Select(i => PngCodec.Decode(Convert.FromBase64String(i.GetString()!))).ToList();
        Assert.Equal(2, pngs.Count);
        foreach (var (png, seed) in pngs.Zip([4242, 4243]))
        {
            Assert.Equal((256, 320), (png.Image.Width, png.Image.Height));
            Assert.Equal($"a lighthouse at dusk\nSteps: 3, Sampler: Euler, CFG scale: 7, Seed: {seed}, Size: 256x320, Model: self-test-tiny", png.FindText("parameters"));   // the model that made it, from its manifest
            // The model's own output: noise, so many distinct colours (the fake pipeline paints one flat colour).
            Assert.True(DistinctColours(png.Image) > 1000, $"only {DistinctColours(png.Image)} colours");
        }
        Assert.NotEqual(pngs[0].Image.Pixels, pngs[1].Image.Pixels);
    }

    [Fact]
    public async Task AJobStreamsQueuedStartedEveryStepAPreviewAndCompletedThenItsImagesDownload()
    {
        // Another person's bigger job holds the single worker, so this one is seen waiting before it starts.
        var other = factory.ClientFor("tiny-blocker");
        var blocker = await other.PostJobAsync(new { prompt = "a long exposure of a city", width = 1024, height = 1024, steps = 4, count = 1 });
        var client = factory.ClientFor("tiny-gina");
        var job = await client.PostJobAsync(new { prompt = "a paper boat", width = 256, height = 256, steps = 4, seed = 7, count = 1 });
        var id = job.GetProperty("id").GetString()!;

        using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/v1/jobs/{id}/events");
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var reader = new SseReader(await response.Content.ReadAsStreamAsync());
        var events = new List<SseReader.Event> { await reader.NextAsync() };
        while (events[^1].Name is not ("completed" or "failed" or "cancelled"))
            events.Add(await reader.NextAsync());

        var names = events.Select(e => e.Name).ToList();
        Assert.True(names[0] == "queued", $"the blocker ({blocker.GetProperty("id")}) should still run when the stream opens: {string.Join(",", names)}");
        Assert.Equal("completed", names[^1]);
        Assert.True(names.IndexOf("started") < names.IndexOf("progress"), string.Join(",", names));
        Assert.Equal([1, 2, 3, 4], events.Where(e => e.Name == "progress").Select(e => e.Data.GetProperty("step").GetInt32()));
        Assert.All(events.Where(e => e.Name == "progress"), e => Assert.Equal(4, e.Data.GetProperty("total").GetInt32()));
        Assert.StartsWith("data:image/png;base64,", events.First(e => e.Name == "preview").Data.GetProperty("image").GetString());
        Assert.Equal(events.Select(e => e.Id).Order(), events.Select(e => e.Id));

        var image = Assert.Single(events[^1].Data.GetProperty("images").EnumerateArray());
        var full = PngCodec.Decode(await client.GetByteArrayAsync(image.GetProperty("url").GetString()));
        Assert.Equal((256, 256), (full.Image.Width, full.Image.Height));
        Assert.Contains("Seed: 7", full.FindText("parameters"));
        var thumb = PngCodec.Decode(await client.GetByteArrayAsync(image.GetProperty("thumbUrl").GetString()));
        Assert.True(thumb.Image.Width <= 256 && thumb.Image.Height <= 256);

        var done = await client.WaitForStatusAsync(id, "succeeded");
        Assert.Equal(image.GetProperty("id").GetInt64(), Assert.Single(done.GetProperty("images").EnumerateArray()).GetProperty("id").GetInt64());
        var history = await (await client.GetAsync("/api/v1/history?text=paper")).JsonAsync();
        Assert.Contains(image.GetProperty("id").GetInt64(), history.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("id").GetInt64()));
        Assert.All(history.GetProperty("items").EnumerateArray(), i => Assert.Equal("self-test-tiny", i.GetProperty("model").GetString()));
        await other.WaitForStatusAsync(blocker.GetProperty("id").GetString()!, "succeeded");
    }

    [Fact]
    public async Task TheSameSeedMakesTheSamePictureTwice()
    {
        var client = factory.ClientFor("tiny-repeat");
        var first = await client.PostJobAsync(new { prompt = "a koi pond", width = 256, height = 256, steps = 2, seed = 99, count = 1 });
        var second = await client.PostJobAsync(new { prompt = "a koi pond", width = 256, height = 256, steps = 2, seed = 99, count = 1 });
        var a = await ImageOfAsync(client, first.GetProperty("id").GetString()!);
        var b = await ImageOfAsync(client, second.GetProperty("id").GetString()!);
        Assert.Equal(a.Pixels, b.Pixels);
    }

    [Fact]
    public async Task SystemAndReadinessReportTheRealModelAndTheRuntimesProviders()
    {
        var client = factory.ClientFor("tiny-sys");
        using var ready = await client.GetAsync("/readyz");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);

        var s = await (await client.GetAsync("/api/v1/system")).JsonAsync();
        var model = s.GetProperty("model");
        Assert.Equal("ready", model.GetProperty("state").GetString());
        Assert.Equal("self-test-tiny (self-test, random weights), on the processor", model.GetProperty("detail").GetString());
        var providers = s.GetProperty("providers");
        Assert.Equal("Cpu", providers.GetProperty("configured").GetString());
        Assert.Contains("CPUExecutionProvider", providers.GetProperty("available").EnumerateArray().Select(p => p.GetString()));

        var models = await (await client.GetAsync("/sdapi/v1/sd-models")).JsonAsync();
        // The folder's own name and the manifest's model name: never the path on the server (issue #15).
        var listed = Assert.Single(models.EnumerateArray());
        Assert.Equal("self-test-tiny", listed.GetProperty("filename").GetString());
        Assert.Equal("self-test-tiny", listed.GetProperty("title").GetString());
    }

    private static async Task<RgbImage> ImageOfAsync(HttpClient client, string jobId)
    {
        var done = await client.WaitForStatusAsync(jobId, "succeeded");
        var url = Assert.Single(done.GetProperty("images").EnumerateArray()).GetProperty("url").GetString();
        return PngCodec.Decode(await client.GetByteArrayAsync(url)).Image;
    }

    private static int DistinctColours(RgbImage image)
    {
        var seen = new HashSet<int>();
        var p = image.Pixels;
        for (var i = 0; i < p.Length; i += 3)
            seen.Add(p[i] << 16 | p[i + 1] << 8 | p[i + 2]);
        return seen.Count;
    }
}
