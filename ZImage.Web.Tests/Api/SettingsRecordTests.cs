using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace ZImage.Web.Tests.Api;

/// <summary>What Settings saves as "defaults for new pictures" is what an API job gets for every field it leaves out.</summary>
public sealed class SavedDefaultsApiTests(SavedDefaultsApiFactory factory) : IClassFixture<SavedDefaultsApiFactory>
{
    [Fact]
    public async Task AJobThatLeavesFieldsOutGetsTheSavedDefaults()
    {
        factory.Pipeline.Unhold();
        using var response = await factory.ClientFor("ann").PostAsJsonAsync("/api/v1/jobs", new { prompt = "a fox" });

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var p = (await response.JsonAsync()).GetProperty("parameters");
        Assert.Equal((3, 2.5, 512, 768, 2, "blurry"), (p.GetProperty("steps").GetInt32(), p.GetProperty("cfg").GetDouble(),
            p.GetProperty("width").GetInt32(), p.GetProperty("height").GetInt32(), p.GetProperty("count").GetInt32(),
            p.GetProperty("negativePrompt").GetString()));
    }

    [Fact]
    public async Task AFieldSentAsNullAlsoTakesTheSavedDefaultAndSentFieldsWin()
    {
        factory.Pipeline.Unhold();
        using var response = await factory.ClientFor("ann").PostAsync("/api/v1/jobs",
            new StringContent("""{"prompt":"a fox","steps":null,"width":256,"seed":null}""", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var job = await response.JsonAsync();
        var p = job.GetProperty("parameters");
        Assert.Equal((3, 256, 768), (p.GetProperty("steps").GetInt32(), p.GetProperty("width").GetInt32(), p.GetProperty("height").GetInt32()));
        Assert.Equal("random", job.GetProperty("seedPolicy").GetString());
    }

    [Fact]
    public async Task Txt2ImgWithoutSizeOrStepsUsesTheSavedDefaults()
    {
        factory.Pipeline.Unhold();
        using var response = await factory.ClientFor("bob").PostAsync("/sdapi/v1/txt2img",
            new StringContent("""{"prompt": "a lighthouse", "send_images": false}""", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var echo = (await response.JsonAsync()).GetProperty("parameters");
        Assert.Equal((3, 512, 768, "blurry"), (echo.GetProperty("steps").GetInt32(), echo.GetProperty("width").GetInt32(),
            echo.GetProperty("height").GetInt32(), echo.GetProperty("negative_prompt").GetString()));
    }
}

/// <summary>One prompt rule at every door: a blank prompt is refused, naming the field, with the engine's sentence.</summary>
public sealed class BlankPromptTests(ApiFactory factory) : IClassFixture<ApiFactory>
{
    [Theory]
    [InlineData("/api/v1/jobs", """{"prompt":"   "}""")]
    [InlineData("/api/v1/jobs", """{"width":256}""")]
    [InlineData("/sdapi/v1/txt2img", """{"prompt":"  "}""")]
    [InlineData("/sdapi/v1/txt2img", """{"steps":2}""")]
    public async Task ABlankOrMissingPromptIsRefusedTheSameWayEverywhere(string path, string body)
    {
        using var response = await factory.ClientFor("ann").PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var errors = (await response.JsonAsync()).GetProperty("errors");
        Assert.Equal("prompt is required and must not be blank.", errors.GetProperty("prompt")[0].GetString());
    }
}
