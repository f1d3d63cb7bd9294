using System.Net;
using System.Text.Json;

namespace ZImage.Web.Tests.Api;

/// <summary>Issue #15 item 9: /openapi/v1.json describes the API exactly, and a human reference is served beside it.</summary>
public sealed class OpenApiDocumentTests(ApiFactory factory) : IClassFixture<ApiFactory>
{
    private async Task<JsonElement> DocumentAsync() => await (await factory.CreateClient().GetAsync("/openapi/v1.json")).JsonAsync();

    private static IEnumerable<(string Path, string Method, JsonElement Operation)> Operations(JsonElement doc) =>
        doc.GetProperty("paths").EnumerateObject().SelectMany(p => p.Value.EnumerateObject().Select(m => (p.Name, m.Name, m.Value)));

    [Fact]
    public async Task OnlyTheApiIsDescribedAndEveryOperationThatTakesACallerReferencesTheBearerScheme()
    {
        var doc = await DocumentAsync();
        var paths = doc.GetProperty("paths").EnumerateObject().Select(p => p.Name).ToList();
        Assert.DoesNotContain(paths, p => p.StartsWith("/ui/", StringComparison.Ordinal) || p == "/signin" || p.StartsWith("/api-reference", StringComparison.Ordinal));
        Assert.Equal("bearer", doc.GetProperty("components").GetProperty("securitySchemes").GetProperty("bearer").GetProperty("scheme").GetString());
        foreach (var (path, method, operation) in Operations(doc))
        {
            var secured = operation.TryGetProperty("security", out var security) && security.EnumerateArray().Any(r => r.TryGetProperty("bearer", out _));
            Assert.True(secured == path is not ("/healthz" or "/readyz"), $"{method} {path}: security {(secured ? "present" : "missing")}");
            if (secured)
                Assert.True(operation.GetProperty("responses").TryGetProperty("401", out _), $"{method} {path} does not document 401");
        }
    }

    [Fact]
    public async Task QueryParametersHeadersRangesAndRequiredFieldsAreStated()
    {
        var doc = await DocumentAsync();
        JsonElement Op(string path, string method) => doc.GetProperty("paths").GetProperty(path).GetProperty(method);
        List<string> Params(JsonElement op) => op.TryGetProperty("parameters", out var ps) ? [.. ps.EnumerateArray().Select(p => p.GetProperty("name").GetString()!)] : [];

        Assert.Equal(["user", "text", "from", "to", "size", "width", "height", "favourites", "page", "pageSize"], Params(Op("/api/v1/history", "get")));
        Assert.Equal(["limit"], Params(Op("/api/v1/jobs", "get")));
        Assert.Equal(["skip_current_image"], Params(Op("/sdapi/v1/progress", "get")));
        Assert.Contains("Idempotency-Key", Params(Op("/api/v1/jobs", "post")));
        Assert.Contains("Idempotency-Key", Params(Op("/sdapi/v1/txt2img", "post")));
        foreach (var status in new[] { "202", "400", "401", "403", "413", "415", "422", "429", "503" })
            Assert.True(Op("/api/v1/jobs", "post").GetProperty("responses").TryGetProperty(status, out _), $"POST /api/v1/jobs does not document {status}");
        Assert.True(Op("/readyz", "get").GetProperty("responses").TryGetProperty("503", out _));

        var job = doc.GetProperty("components").GetProperty("schemas").GetProperty("GenerationRequest");
        Assert.Equal(["prompt"], job.GetProperty("required").EnumerateArray().Select(e => e.GetString()));
        var props = job.GetProperty("properties");
        Assert.Equal(256, props.GetProperty("width").GetProperty("minimum").GetInt32());
        Assert.Equal(2048, props.GetProperty("height").GetProperty("maximum").GetInt32());
        Assert.Equal(16, props.GetProperty("width").GetProperty("multipleOf").GetInt32());
        Assert.Equal(50, props.GetProperty("steps").GetProperty("maximum").GetInt32());
        Assert.Equal(10, props.GetProperty("cfg").GetProperty("maximum").GetDouble());
        Assert.Equal(4, props.GetProperty("count").GetProperty("maximum").GetInt32());
        Assert.Equal(0, props.GetProperty("seed").GetProperty("minimum").GetInt64());
        var txt2img = doc.GetProperty("components").GetProperty("schemas").GetProperty("Txt2ImgRequest").GetProperty("properties");
        Assert.Equal(-1, txt2img.GetProperty("seed").GetProperty("minimum").GetInt64());

        // Numbers are numbers: no integer|string unions with a digits pattern anywhere.
        Assert.DoesNotContain("\"pattern\"", doc.GetRawText());
    }

    [Fact]
    public async Task ANumberSentAsAStringIsRefusedAsTheDocumentSays()
    {
        using var client = factory.ClientFor("strict-numbers");
        using var response = await client.PostAsync("/api/v1/jobs", new StringContent("""{"prompt":"x","width":"256"}""", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.True((await response.JsonAsync()).GetProperty("errors").TryGetProperty("width", out _));
    }

    [Fact]
    public async Task TheApiReferencePageIsServedFromThisServerAndLinkedFromTheStudio()
    {
        using var client = factory.CreateClient();
        using var page = await client.GetAsync("/api-reference");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        var html = await page.Content.ReadAsStringAsync();
        Assert.Contains("openapi/v1.json", html);
        Assert.DoesNotContain("cdn.jsdelivr", html);
        var studio = await factory.ClientFor("reader").GetStringAsync("/");
        Assert.Contains("href=\"api-reference\"", studio);
    }

    /// <summary>The checker the fuzz tests use finds what it should: so its silence there means something.</summary>
    [Fact]
    public async Task TheConformanceCheckCatchesAnUndocumentedStatusAndABodyOfTheWrongShape()
    {
        var check = await OpenApiConformance.LoadAsync(factory.CreateClient());
        using var client = factory.ClientFor("conformance");
        using var real = await client.GetAsync("/api/v1/jobs/queue");
        Assert.Null(await check.CheckAsync(real));

        HttpResponseMessage Fake(HttpStatusCode status, string path, string json) => new(status)
        {
            RequestMessage = new HttpRequestMessage(HttpMethod.Get, new Uri(client.BaseAddress!, path)),
            Content = new StringContent(json, System.Text.Encoding.UTF8, "application/json"),
        };
        using var teapot = Fake((HttpStatusCode)418, "/api/v1/jobs/abc", "{}");
        Assert.Contains("does not list", await check.CheckAsync(teapot));
        using var wrongType = Fake(HttpStatusCode.OK, "/api/v1/jobs", "[{\"id\": 5}]");
        Assert.Contains("$[0].", await check.CheckAsync(wrongType));
        using var notAList = Fake(HttpStatusCode.OK, "/api/v1/jobs", "{}");
        Assert.NotNull(await check.CheckAsync(notAList));
    }

    /// <summary>
    /// No valid input is rejected: every bound the document states for a job is accepted as it stands (small pictures,
    /// so the fake GPU's memory never decides), and the answer matches the document.
    /// </summary>
    [Fact]
    public async Task EveryDocumentedBoundIsAccepted()
    {
        var doc = await DocumentAsync();
        var check = new OpenApiConformance(doc);
        var props = doc.GetProperty("components").GetProperty("schemas").GetProperty("GenerationRequest").GetProperty("properties");
        using var client = factory.ClientFor("bounds");
        var tried = 0;
        foreach (var field in new[] { "width", "height", "steps", "cfg", "count", "seed" })
        {
            foreach (var bound in new[] { "minimum", "maximum" })
            {
                var value = props.GetProperty(field).GetProperty(bound).GetRawText();
                var body = new Dictionary<string, object> { ["prompt"] = "a bound", ["width"] = 256, ["height"] = 256, ["steps"] = 1, ["count"] = 1 };
                body[field] = JsonDocument.Parse(value).RootElement;
                using var response = await client.PostAsync("/api/v1/jobs", System.Net.Http.Json.JsonContent.Create(body));
                Assert.True(response.StatusCode == HttpStatusCode.Accepted, $"{field} = {value} ({bound}) answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
                Assert.Null(await check.CheckAsync(response));
                var id = (await response.JsonAsync()).GetProperty("id").GetString()!;
                await client.DeleteAsync($"/api/v1/jobs/{id}");
                tried++;
            }
        }
        Assert.Equal(12, tried);
    }
}
