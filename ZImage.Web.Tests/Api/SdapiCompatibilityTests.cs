using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace ZImage.Web.Tests.Api;

/// <summary>
/// Issue #15 item 8: every AUTOMATIC1111 read endpoint webuiapi 0.9.17 calls, in the shapes its helpers index into
/// (util_get_sampler_names reads s["name"] of a list, get_memory reads ram/cuda dicts, and so on; see
/// modules/api/models.py of A1111), with values true of this server, and nothing that names a server path.
/// </summary>
public sealed class SdapiCompatibilityTests(SelfTestFolderApiFactory factory) : IClassFixture<SelfTestFolderApiFactory>
{
    private async Task<JsonElement> GetAsync(string path)
    {
        using var client = factory.ClientFor("webuiapi");
        using var response = await client.GetAsync(path);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path} answered {(int)response.StatusCode}: {text}");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.DoesNotContain(factory.Root, text);
        Assert.DoesNotContain(AppContext.BaseDirectory.TrimEnd('/'), text);
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    private static void Keys(JsonElement item, params string[] keys)
    {
        Assert.Equal(JsonValueKind.Object, item.ValueKind);
        foreach (var key in keys)
            Assert.True(item.TryGetProperty(key, out _), $"missing '{key}' in {item}");
    }

    [Fact]
    public async Task EveryReadEndpointAnswersInTheShapeWebuiapiExpects()
    {
        var samplers = await GetAsync("/sdapi/v1/samplers");
        Keys(samplers.EnumerateArray().Single(), "name", "aliases", "options");
        Assert.Equal(["Euler"], samplers.EnumerateArray().Select(s => s.GetProperty("name").GetString()));

        var schedulers = await GetAsync("/sdapi/v1/schedulers");
        Keys(schedulers.EnumerateArray().Single(), "name", "label", "aliases", "default_rho", "need_inner_model");

        var models = await GetAsync("/sdapi/v1/sd-models");
        var model = models.EnumerateArray().Single();
        Keys(model, "title", "model_name", "hash", "sha256", "filename", "config");
        // The model the engine is set to, by its manifest's name, and the folder by its own name only.
        Assert.Equal("self-test-tiny", model.GetProperty("title").GetString());
        Assert.Equal("self-test-tiny", model.GetProperty("filename").GetString());

        var vae = await GetAsync("/sdapi/v1/sd-vae");
        Keys(vae.EnumerateArray().Single(), "model_name", "filename");

        var upscalers = await GetAsync("/sdapi/v1/upscalers");
        Keys(upscalers.EnumerateArray().Single(), "name", "model_name", "model_path", "model_url", "scale");

        Assert.Empty((await GetAsync("/sdapi/v1/loras")).EnumerateArray());
        var embeddings = await GetAsync("/sdapi/v1/embeddings");
        Keys(embeddings, "loaded", "skipped");
        var scripts = await GetAsync("/sdapi/v1/scripts");
        Keys(scripts, "txt2img", "img2img");
        Assert.Empty(scripts.GetProperty("txt2img").EnumerateArray());

        var flags = await GetAsync("/sdapi/v1/cmd-flags");
        Assert.True(flags.GetProperty("api").GetBoolean());

        var memory = await GetAsync("/sdapi/v1/memory");
        Keys(memory, "ram", "cuda");
        Keys(memory.GetProperty("ram"), "free", "used", "total");
        Assert.True(memory.GetProperty("ram").GetProperty("total").GetInt64() > 0);
        // The test machine has no GPU: A1111 answers {"error": ...} then, and so do we.
        Keys(memory.GetProperty("cuda"), "error");

        var options = await GetAsync("/sdapi/v1/options");
        Assert.Equal("self-test-tiny", options.GetProperty("sd_model_checkpoint").GetString());
        var progress = await GetAsync("/sdapi/v1/progress?skip_current_image=true");
        Keys(progress, "progress", "eta_relative", "state", "current_image", "textinfo");
    }

    [Fact]
    public async Task SetOptionsAsWebuiapiSendsItAcceptsTheLoadedModelAndListsWhatItIgnored()
    {
        using var client = factory.ClientFor("set-opts");
        // webuiapi's util_set_model: the title found in sd-models, posted as {"sd_model_checkpoint": title} by set_options.
        using var model = await client.PostAsJsonAsync("/sdapi/v1/options", new Dictionary<string, object> { ["sd_model_checkpoint"] = "self-test-tiny" });
        Assert.Equal(HttpStatusCode.OK, model.StatusCode);
        var body = await model.JsonAsync();
        Assert.Equal(["sd_model_checkpoint"], body.GetProperty("accepted").EnumerateArray().Select(e => e.GetString()));
        Assert.Empty(body.GetProperty("ignored").EnumerateArray());

        using var mixed = await client.PostAsJsonAsync("/sdapi/v1/options", new Dictionary<string, object>
        {
            ["samples_format"] = "png",
            ["CLIP_stop_at_last_layers"] = 2,
            ["sd_vae"] = "vae-ft-mse-840000-ema-pruned.safetensors",
        });
        Assert.Equal(HttpStatusCode.OK, mixed.StatusCode);
        var mixedBody = await mixed.JsonAsync();
        Assert.Equal(["samples_format"], mixedBody.GetProperty("accepted").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(["CLIP_stop_at_last_layers", "sd_vae"], mixedBody.GetProperty("ignored").EnumerateArray().Select(e => e.GetString()));
        var options = await (await client.GetAsync("/sdapi/v1/options")).JsonAsync();
        Assert.Equal(1, options.GetProperty("CLIP_stop_at_last_layers").GetInt32());

        using var other = await client.PostAsJsonAsync("/sdapi/v1/options", new Dictionary<string, object> { ["sd_model_checkpoint"] = "v1-5-pruned-emaonly.safetensors [6ce0161689]" });
        Assert.Equal(HttpStatusCode.BadRequest, other.StatusCode);
        Assert.Contains("sd_model_checkpoint must be 'self-test-tiny'", (await other.JsonAsync()).GetProperty("detail").GetString());
    }

    [Fact]
    public async Task Txt2ImgInfoNamesTheModelThatMadeThePictures()
    {
        using var client = factory.ClientFor("info-model");
        using var response = await client.PostAsJsonAsync("/sdapi/v1/txt2img", new { prompt = "x", width = 256, height = 256, steps = 2 });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var info = JsonDocument.Parse((await response.JsonAsync()).GetProperty("info").GetString()!).RootElement;
        // The fake pipeline reports its pictures as Z-Image-Turbo's; history keeps that per picture and info repeats it.
        Assert.Equal(ZImage.Engine.Imaging.ImageSettings.DefaultModel, info.GetProperty("sd_model_name").GetString());
    }

    [Theory]
    [InlineData("GET", "/sdapi/v1/nonexistent")]
    [InlineData("POST", "/sdapi/v1/nonexistent")]
    [InlineData("GET", "/sdapi/v1/img2img")]
    [InlineData("DELETE", "/api/v1/nowhere")]
    [InlineData("POST", "/api/v1/nowhere/deeper")]
    public async Task UnknownPathsAre404NotMethodNotAllowed(string method, string path)
    {
        using var client = factory.ClientFor("lost");
        using var response = await client.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));
        Assert.True(response.StatusCode == HttpStatusCode.NotFound, $"{(int)response.StatusCode} Allow: {string.Join(",", response.Content.Headers.Allow)} {await response.Content.ReadAsStringAsync()}");
        Assert.Empty(response.Content.Headers.Allow);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }
}
