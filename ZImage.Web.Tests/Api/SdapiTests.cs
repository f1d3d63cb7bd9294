using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace ZImage.Web.Tests.Api;

public sealed class SdapiTests(ApiFactory factory) : IClassFixture<ApiFactory>
{
    /// <summary>
    /// Byte for byte what webuiapi 0.9.x (mix1009/sdwebuiapi, WebUIApi().txt2img(prompt=...)) posts with its
    /// defaults: requests' json= serialises the payload dict with json.dumps.
    /// </summary>
    private const string WebuiapiTxt2ImgBody =
        """{"enable_hr": false, "hr_scale": 2, "hr_upscaler": "Latent", "hr_second_pass_steps": 0, "hr_resize_x": 0, "hr_resize_y": 0, "hr_checkpoint_name": null, "hr_sampler_name": null, "hr_scheduler": null, "hr_prompt": "", "hr_negative_prompt": "", "denoising_strength": 0.7, "firstphase_width": 0, "firstphase_height": 0, "prompt": "a red fox in snow, watercolor", "styles": [], "seed": -1, "subseed": -1, "subseed_strength": 0.0, "seed_resize_from_h": 0, "seed_resize_from_w": 0, "batch_size": 1, "n_iter": 1, "steps": 20, "cfg_scale": 7.0, "width": 512, "height": 512, "restore_faces": false, "tiling": false, "do_not_save_samples": false, "do_not_save_grid": false, "negative_prompt": "", "eta": 1.0, "s_churn": 0, "s_tmax": 0, "s_tmin": 0, "s_noise": 1, "override_settings": {}, "override_settings_restore_afterwards": true, "sampler_name": "Euler a", "scheduler": "automatic", "sampler_index": "Euler a", "script_name": null, "script_args": [], "send_images": true, "save_images": false, "alwayson_scripts": {}}""";

    [Fact]
    public async Task WebuiapiTxt2ImgBodyGetsTheFieldsThatClientReads()
    {
        await factory.Pipeline.HoldStepsAsync();
        factory.Pipeline.Unhold();
        var client = factory.ClientFor("webuiapi");
        using var response = await client.PostAsync("/sdapi/v1/txt2img", new StringContent(WebuiapiTxt2ImgBody, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var r = await response.JsonAsync();
        // webuiapi: images = [Image.open(BytesIO(b64decode(i))) for i in r["images"]]
        var png = Convert.FromBase64String(Assert.Single(r.GetProperty("images").EnumerateArray()).GetString()!);
        Assert.Equal("\x89PNG\r\n\x1a\n", Encoding.Latin1.GetString(png, 0, 8));
        Assert.Contains("tEXtparameters\0a red fox in snow, watercolor\nSteps: 20, Sampler: Euler, CFG scale: 7", Encoding.Latin1.GetString(png));
        // webuiapi: info = json.loads(r["info"]); parameters = r["parameters"]
        var info = JsonDocument.Parse(r.GetProperty("info").GetString()!).RootElement;
        var seed = info.GetProperty("seed").GetInt64();
        Assert.InRange(seed, 0, uint.MaxValue);
        Assert.Equal([seed], info.GetProperty("all_seeds").EnumerateArray().Select(s => s.GetInt64()));
        Assert.Equal(512, info.GetProperty("width").GetInt32());
        Assert.Equal(20, info.GetProperty("steps").GetInt32());
        Assert.Equal(7.0, info.GetProperty("cfg_scale").GetDouble());
        var infotext = Assert.Single(info.GetProperty("infotexts").EnumerateArray()).GetString()!;
        Assert.Equal($"a red fox in snow, watercolor\nSteps: 20, Sampler: Euler, CFG scale: 7, Seed: {seed}, Size: 512x512, Model: Z-Image-Turbo", infotext);
        var ignored = info.GetProperty("ignored_fields").EnumerateArray().Select(f => f.GetString()).ToList();
        Assert.Contains("sampler_name", ignored);
        Assert.Contains("enable_hr", ignored);
        Assert.Contains("alwayson_scripts", ignored);
        var parameters = r.GetProperty("parameters");
        Assert.Equal("a red fox in snow, watercolor", parameters.GetProperty("prompt").GetString());
        Assert.Equal(-1, parameters.GetProperty("seed").GetInt64());
        Assert.Equal("Latent", parameters.GetProperty("hr_upscaler").GetString());
    }

    [Fact]
    public async Task ProgressShowsTheCallersRunningJobAndIsIdleOtherwise()
    {
        await factory.Pipeline.HoldStepsAsync();
        var client = factory.ClientFor("prog");
        var idle = await (await client.GetAsync("/sdapi/v1/progress")).JsonAsync();
        Assert.Equal(0, idle.GetProperty("progress").GetDouble());
        Assert.Equal(0, idle.GetProperty("state").GetProperty("job_count").GetInt32());
        Assert.Equal(JsonValueKind.Null, idle.GetProperty("current_image").ValueKind);

        var txt2img = client.PostAsync("/sdapi/v1/txt2img",
            new StringContent("""{"prompt": "slow", "steps": 4, "width": 256, "height": 256}""", Encoding.UTF8, "application/json"));
        await ApiTestExtensions.WaitUntilAsync(() => factory.Pipeline.Running == 1, "txt2img job running");
        factory.Pipeline.ReleaseSteps(2);

        // What webuiapi's get_progress() returns is response.json(); scripts read these keys.
        JsonElement p = default;
        await ApiTestExtensions.WaitUntilAsync(async () =>
        {
            p = await (await client.GetAsync("/sdapi/v1/progress?skip_current_image=false")).JsonAsync();
            return p.GetProperty("state").GetProperty("sampling_step").GetInt32() == 2;
        }, "progress at step 2");
        Assert.Equal(0.5, p.GetProperty("progress").GetDouble(), 3);
        Assert.True(p.GetProperty("eta_relative").GetDouble() >= 0);
        var state = p.GetProperty("state");
        Assert.Equal(4, state.GetProperty("sampling_steps").GetInt32());
        Assert.Equal(1, state.GetProperty("job_count").GetInt32());
        Assert.Equal(0, state.GetProperty("job_no").GetInt32());
        Assert.False(state.GetProperty("interrupted").GetBoolean());
        var preview = Convert.FromBase64String(p.GetProperty("current_image").GetString()!);
        Assert.Equal("\x89PNG", Encoding.Latin1.GetString(preview, 0, 4));

        var other = await (await factory.ClientFor("someone-else").GetAsync("/sdapi/v1/progress")).JsonAsync();
        Assert.Equal(0, other.GetProperty("state").GetProperty("job_count").GetInt32());

        factory.Pipeline.Unhold();
        using var done = await txt2img;
        Assert.Equal(HttpStatusCode.OK, done.StatusCode);
    }

    [Fact]
    public async Task InterruptedTxt2ImgAnswersWithNoImagesAndSaysSo()
    {
        await factory.Pipeline.HoldStepsAsync();
        var client = factory.ClientFor("stopper");
        var txt2img = client.PostAsync("/sdapi/v1/txt2img",
            new StringContent("""{"prompt": "never mind", "steps": 4, "width": 256, "height": 256}""", Encoding.UTF8, "application/json"));
        await ApiTestExtensions.WaitUntilAsync(() => factory.Pipeline.Running == 1, "txt2img job running");

        using var interrupt = await client.PostAsync("/sdapi/v1/interrupt", null);
        Assert.Equal(HttpStatusCode.OK, interrupt.StatusCode);
        using var response = await txt2img;
        var r = await response.JsonAsync();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(0, r.GetProperty("images").GetArrayLength());
        Assert.True(JsonDocument.Parse(r.GetProperty("info").GetString()!).RootElement.GetProperty("interrupted").GetBoolean());
        factory.Pipeline.Unhold();
    }

    [Fact]
    public async Task Txt2ImgOutOfRangeNamesTheA1111FieldAndRange()
    {
        var client = factory.ClientFor("val");
        using var cfg = await client.PostAsJsonAsync("/sdapi/v1/txt2img", new { prompt = "x", cfg_scale = 20.0 });
        Assert.Equal(HttpStatusCode.BadRequest, cfg.StatusCode);
        var message = (await cfg.JsonAsync()).GetProperty("errors").GetProperty("cfg_scale")[0].GetString();
        Assert.Equal("cfg_scale must be between 0 and 10 (got 20).", message);

        using var batch = await client.PostAsJsonAsync("/sdapi/v1/txt2img", new { prompt = "x", batch_size = 3, n_iter = 2 });
        Assert.Equal(HttpStatusCode.BadRequest, batch.StatusCode);
        Assert.Contains("between 1 and 4 images (got 3 x 2)", (await batch.JsonAsync()).GetProperty("errors").GetProperty("batch_size")[0].GetString());

        using var seed = await client.PostAsJsonAsync("/sdapi/v1/txt2img", new { prompt = "x", seed = -5 });
        Assert.Contains("-1 (random)", (await seed.JsonAsync()).GetProperty("errors").GetProperty("seed")[0].GetString());
    }

    [Fact]
    public async Task PngInfoReadsBackTheParametersOfAGeneratedImage()
    {
        factory.Pipeline.Unhold();
        var client = factory.ClientFor("reader");
        using var made = await client.PostAsJsonAsync("/sdapi/v1/txt2img",
            new { prompt = "tea cup", negative_prompt = "blurry", seed = 7, steps = 3, width = 256, height = 256, cfg_scale = 1.5 });
        var image = (await made.JsonAsync()).GetProperty("images")[0].GetString();

        // webuiapi's png_info sends a data URL ("data:image/png;base64," + ...).
        using var response = await client.PostAsJsonAsync("/sdapi/v1/png-info", new { image = "data:image/png;base64," + image });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var r = await response.JsonAsync();
        var expected = "tea cup\nNegative prompt: blurry\nSteps: 3, Sampler: Euler, CFG scale: 1.5, Seed: 7, Size: 256x256, Model: Z-Image-Turbo";
        Assert.Equal(expected, r.GetProperty("info").GetString());
        Assert.Equal(expected, r.GetProperty("items").GetProperty("parameters").GetString());
        var parsed = r.GetProperty("parameters");
        Assert.Equal("tea cup", parsed.GetProperty("Prompt").GetString());
        Assert.Equal("blurry", parsed.GetProperty("Negative prompt").GetString());
        Assert.Equal("7", parsed.GetProperty("Seed").ToString());
    }

    [Fact]
    public async Task PngInfoRefusesWhatIsNotABase64Png()
    {
        var client = factory.ClientFor("reader");
        using var notBase64 = await client.PostAsJsonAsync("/sdapi/v1/png-info", new { image = "%%%" });
        Assert.Equal(HttpStatusCode.BadRequest, notBase64.StatusCode);
        Assert.Contains("base64", (await notBase64.JsonAsync()).GetProperty("errors").GetProperty("image")[0].GetString());

        using var notPng = await client.PostAsJsonAsync("/sdapi/v1/png-info", new { image = Convert.ToBase64String("GIF89a not a png"u8.ToArray()) });
        Assert.Equal(HttpStatusCode.BadRequest, notPng.StatusCode);
        Assert.Contains("not a PNG", (await notPng.JsonAsync()).GetProperty("errors").GetProperty("image")[0].GetString());
    }

    [Fact]
    public async Task WithNoModelInstalledNoModelIsListedOrAccepted()
    {
        // The fake pipeline stands in for the engine; no model folder is set, and the answers say so.
        var client = factory.ClientFor("opts");
        var options = await (await client.GetAsync("/sdapi/v1/options")).JsonAsync();
        Assert.Equal(JsonValueKind.Null, options.GetProperty("sd_model_checkpoint").ValueKind);
        Assert.Empty((await (await client.GetAsync("/sdapi/v1/sd-models")).JsonAsync()).EnumerateArray());
        Assert.Empty((await (await client.GetAsync("/sdapi/v1/sd-vae")).JsonAsync()).EnumerateArray());
        using var model = await client.PostAsJsonAsync("/sdapi/v1/options", new Dictionary<string, object> { ["sd_model_checkpoint"] = "Z-Image-Turbo" });
        Assert.Equal(HttpStatusCode.BadRequest, model.StatusCode);
        Assert.Contains("No model is installed", (await model.JsonAsync()).GetProperty("detail").GetString());
    }
}
