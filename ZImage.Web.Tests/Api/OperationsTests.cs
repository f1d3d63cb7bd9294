using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using ZImage.Engine.Jobs;
using ZImage.Web.Api.Operations;

namespace ZImage.Web.Tests.Api;

public sealed class OperationsTests(ApiFactory factory) : IClassFixture<ApiFactory>
{
    [Fact]
    public async Task HealthzAnswersWhileReadyzFollowsTheModel()
    {
        var client = factory.CreateClient();
        using var health = await client.GetAsync("/healthz");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);

        factory.Model.Current = ModelState.Loading;
        using var loading = await client.GetAsync("/readyz");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, loading.StatusCode);
        Assert.Equal("loading", (await loading.JsonAsync()).GetProperty("model").GetString());

        factory.Model.Current = ModelState.Ready;
        using var ready = await client.GetAsync("/readyz");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
    }

    [Fact]
    public async Task MetricsExposeQueueJobsHistogramsImagesPerUserVramAndOom()
    {
        factory.Pipeline.Unhold();
        var client = factory.ClientFor("metric-mia");
        var job = await client.PostJobAsync(new { prompt = "counted", width = 256, height = 256, steps = 1, count = 2 });
        await client.WaitForStatusAsync(job.GetProperty("id").GetString()!, "succeeded");
        // The GC figures come from the last collection; in a test process that just started there may not be one yet.
        GC.Collect();

        using var response = await factory.CreateClient().GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("0.0.4", response.Content.Headers.ContentType?.Parameters.Single(p => p.Name == "version").Value);
        var text = await response.Content.ReadAsStringAsync();
        var lines = text.Split('\n');

        Assert.Contains("# TYPE zimage_queue_depth gauge", lines);
        Assert.Contains(lines, l => l.StartsWith("zimage_jobs{state=\"running\"} "));
        Assert.Contains(lines, l => l.StartsWith("zimage_jobs_total{state=\"succeeded\"} ") && double.Parse(l.Split(' ')[1]) >= 1);
        Assert.Contains("# TYPE zimage_job_wait_seconds histogram", lines);
        Assert.Contains(lines, l => l.StartsWith("zimage_job_wait_seconds_count ") && double.Parse(l.Split(' ')[1]) >= 1);
        Assert.Contains(lines, l => l.StartsWith("zimage_job_run_seconds_bucket{outcome=\"succeeded\",le=\"+Inf\"} "));
        Assert.Contains("zimage_images_total{user=\"metric-mia\"} 2", lines);
        Assert.Contains(lines, l => l.StartsWith("zimage_gpu_seconds_total{user=\"metric-mia\"} ") && double.Parse(l.Split(' ')[1]) > 0);
        Assert.Contains(lines, l => l.StartsWith("zimage_vram_used_bytes{device=\"0\"} "));
        Assert.Contains(lines, l => l.StartsWith("zimage_card_busy{device=\"0\"} "));
        Assert.Contains(lines, l => l.StartsWith("zimage_oom_total "));
        Assert.Contains(lines, l => l.StartsWith("process_resident_memory_bytes ") && double.Parse(l.Split(' ')[1]) > 10_000_000);
        Assert.Contains(lines, l => l.StartsWith("dotnet_managed_heap_bytes ") && double.Parse(l.Split(' ')[1]) > 0);
        Assert.Contains(lines, l => l.StartsWith("dotnet_gc_committed_bytes ") && double.Parse(l.Split(' ')[1]) > 0);
        Assert.Contains(lines, l => l.StartsWith("dotnet_gc_fragmented_bytes "));
        Assert.All(lines.Where(l => l.Length > 0 && !l.StartsWith('#')), l => Assert.Matches(@"^[a-z_]+(\{[^}]*\})? [-+0-9.eEInfNa]+$", l));
    }

    [Fact]
    public void BeforeTheFirstCollectionTheGcFiguresAreLeftOutRatherThanReportedAsZero()
    {
        var status = new SystemStatusSnapshot(false, "No GPU (CPU mode)", 0, 0, 0, 0, 0, 1, ModelState.Ready, null, 0, 0, 0, 0,
            new Dictionary<string, long>());
        var metrics = new ApiMetrics(new JobNotifier(NullLogger<JobNotifier>.Instance));

        var lines = OperationsEndpoints.Render(status, metrics, lastCollection: null).Split('\n');

        Assert.Contains("# TYPE dotnet_gc_committed_bytes gauge", lines);
        Assert.DoesNotContain(lines, l => l.StartsWith("dotnet_gc_committed_bytes "));
        Assert.DoesNotContain(lines, l => l.StartsWith("dotnet_gc_fragmented_bytes "));
        Assert.Contains(lines, l => l.StartsWith("dotnet_managed_heap_bytes "));
    }

    [Fact]
    public async Task SystemReportsGpuModelAndQueue()
    {
        var s = await (await factory.ClientFor("sys").GetAsync("/api/v1/system")).JsonAsync();
        Assert.False(s.GetProperty("gpu").GetProperty("present").GetBoolean());
        Assert.Equal("ready", s.GetProperty("model").GetProperty("state").GetString());
        Assert.True(s.GetProperty("queue").GetProperty("workers").GetInt32() >= 1);

        // What the ONNX Runtime library in the app's folder offers, and what Auto picks without CUDA's provider library.
        var providers = s.GetProperty("providers");
        Assert.Equal("Auto", providers.GetProperty("configured").GetString());
        Assert.Contains("CPUExecutionProvider", providers.GetProperty("available").EnumerateArray().Select(p => p.GetString()));
        Assert.Matches(@"^1\.\d+\.\d+$", providers.GetProperty("runtimeVersion").GetString());
        Assert.Equal(JsonValueKind.Null, providers.GetProperty("runtimeProblem").ValueKind);
    }

    [Fact]
    public async Task OpenApiDocumentListsTheApi()
    {
        using var response = await factory.CreateClient().GetAsync("/openapi/v1.json");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var doc = await response.JsonAsync();
        Assert.StartsWith("3.", doc.GetProperty("openapi").GetString());
        var paths = doc.GetProperty("paths");
        foreach (var path in new[] { "/sdapi/v1/txt2img", "/sdapi/v1/progress", "/api/v1/jobs", "/api/v1/jobs/{id}/events", "/api/v1/history", "/metrics" })
            Assert.True(paths.TryGetProperty(path, out _), path);
        Assert.Equal("bearer", doc.GetProperty("components").GetProperty("securitySchemes").GetProperty("bearer").GetProperty("scheme").GetString());
    }

    [Theory]
    [InlineData("/api/v1/images/..%2F..%2Fdata%2Fzimage.db")]
    [InlineData("/api/v1/images/../../etc/passwd")]
    [InlineData("/api/v1/images/1%2F..%2F..%2Fzimage.db/thumb")]
    [InlineData("/api/v1/images/-1")]
    [InlineData("/api/v1/images/999999")]
    public async Task ImageRoutesRefusePathsAndUnknownIds(string url)
    {
        using var response = await factory.ClientFor("probe").GetAsync(url);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.NotEqual("image/png", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task UnknownApiPathAnswersProblem()
    {
        using var response = await factory.ClientFor("probe").GetAsync("/api/v1/nothing-here");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }
}

public sealed class OpenModeIdentityTests(ApiFactory factory) : IClassFixture<ApiFactory>
{
    [Theory]
    [InlineData("X-ZImage-User", "%E5%BC%A0%E4%BC%9F", "张伟")]
    [InlineData("X-ZImage-User", "  Ann   Lee ", "Ann Lee")]
    [InlineData("Cookie", "zimage-user=Bo", "Bo")]
    [InlineData("Cookie", "zi-user=%E6%9D%8E%E5%A8%9C", "李娜")]
    public async Task OpenModeTakesTheNameFromHeaderOrCookieAsTheUiWritesIt(string header, string value, string expected)
    {
        var client = factory.CreateClient();
        client.DefaultRequestHeaders.Add(header, value);
        var me = await (await client.GetAsync("/api/v1/me")).JsonAsync();
        Assert.Equal(expected, me.GetProperty("user").GetString());
        Assert.Equal("open", me.GetProperty("authMode").GetString());
    }

    [Fact]
    public async Task NoNameIsAnonymousAndAnOverlongNameIsRefused()
    {
        var me = await (await factory.CreateClient().GetAsync("/api/v1/me")).JsonAsync();
        Assert.Equal("anonymous", me.GetProperty("user").GetString());

        using var tooLong = await factory.ClientFor(new string('x', 41)).GetAsync("/api/v1/me");
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, tooLong.StatusCode);
        Assert.Contains("1 to 40", (await tooLong.JsonAsync()).GetProperty("errors").GetProperty("X-ZImage-User")[0].GetString());
    }
}

public sealed class SmallGpuTests(SmallGpuApiFactory factory) : IClassFixture<SmallGpuApiFactory>
{
    [Fact]
    public async Task AJobThatCanNeverFitIs413WithTheGuardsReasonAndSystemShowsTheGpu()
    {
        var client = factory.ClientFor("big-dreams");
        using var refused = await client.PostAsync("/api/v1/jobs",
            new StringContent("""{"prompt":"huge","width":2048,"height":2048,"count":4}""", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, refused.StatusCode);
        var problem = await refused.JsonAsync();
        Assert.Contains("GB", problem.GetProperty("detail").GetString());

        var system = await (await client.GetAsync("/api/v1/system")).JsonAsync();
        var gpu = system.GetProperty("gpu");
        Assert.True(gpu.GetProperty("present").GetBoolean());
        Assert.Equal("Test GPU 4GB", gpu.GetProperty("name").GetString());
        Assert.Equal(SmallGpuApiFactory.Total, gpu.GetProperty("vramTotalBytes").GetInt64());

        var metrics = await (await factory.CreateClient().GetAsync("/metrics")).Content.ReadAsStringAsync();
        Assert.Contains($"zimage_vram_total_bytes{{device=\"0\"}} {SmallGpuApiFactory.Total}", metrics.Split('\n'));
        var card = Assert.Single(system.GetProperty("cards").EnumerateArray());
        Assert.Equal((0, "Test GPU 4GB", SmallGpuApiFactory.Total), (card.GetProperty("device").GetInt32(), card.GetProperty("name").GetString(), card.GetProperty("vramTotalBytes").GetInt64()));
    }
}
