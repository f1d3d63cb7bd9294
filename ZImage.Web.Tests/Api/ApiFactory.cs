using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using ZImage.Engine.Jobs;
using ZImage.Engine.Pipeline;
using ZImage.Web.Api;
using ZImage.Web.Api.Auth;

namespace ZImage.Web.Tests.Api;

/// <summary>
/// The whole app over an in-memory server, with the fake pipeline in place of the model and its data and
/// outputs in a fresh temporary folder. One per test class; tests in a class use distinct user names.
/// </summary>
public class ApiFactory : WebApplicationFactory<Program>
{
    public FakePipeline Pipeline { get; } = new();
    public FakeModelStatus Model { get; } = new();
    public ManualClock PreviewClock { get; } = new();
    public string Root { get; } = Directory.CreateTempSubdirectory("zimage-api-tests-").FullName;

    protected virtual ApiAuthMode Mode => ApiAuthMode.Open;
    protected virtual int MaxQueuedPerUser => 10;
    protected virtual string UiMode => "Open";
    /// <summary>False: the real pipeline host runs the model named by <see cref="ConfigureEngine"/> instead of the fake.</summary>
    protected virtual bool UsesFakePipeline => true;

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Development");
        builder.UseSetting("ZImage:Jobs:DataDirectory", Path.Combine(Root, "data"));
        builder.UseSetting("ZImage:Jobs:OutputDirectory", Path.Combine(Root, "outputs"));
        builder.UseSetting("ZImage:Jobs:MaxQueuedPerUser", MaxQueuedPerUser.ToString());
        builder.UseSetting("ZImage:Api:AuthMode", Mode.ToString());
        builder.UseSetting(ApiSetup.UiModeKey, UiMode);
        builder.UseSetting("ZImage:Api:MaxRequestBodyBytes", (1024 * 1024).ToString());
        ConfigureEngine(builder);
        builder.ConfigureTestServices(services =>
        {
            if (UsesFakePipeline)
            {
                services.RemoveAll<IImagePipeline>();
                services.AddSingleton<IImagePipeline>(Pipeline);
                services.RemoveAll<IModelStatus>();
                services.AddSingleton<IModelStatus>(Model);
            }
            services.RemoveAllKeyed<TimeProvider>(ApiSetup.PreviewClock);
            services.AddKeyedSingleton<TimeProvider>(ApiSetup.PreviewClock, PreviewClock);
        });
    }

    protected virtual void ConfigureEngine(IWebHostBuilder builder)
    {
    }

    public HttpClient ClientFor(string user)
    {
        var client = CreateClient();
        client.DefaultRequestHeaders.Add(CallerResolver.UserHeader, Uri.EscapeDataString(user));
        return client;
    }

    public HttpClient ClientWithToken(string token)
    {
        var client = CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    protected override void Dispose(bool disposing)
    {
        Pipeline.Unhold();
        base.Dispose(disposing);
        if (disposing)
        {
            try
            {
                Directory.Delete(Root, recursive: true);
            }
            catch (IOException)
            {
                // A file still open by a finishing background write; the OS temp cleaner gets it.
            }
        }
    }
}

/// <summary>
/// The real engine: PipelineHost running the committed self-test model (random weights, pictures are noise) on the CPU,
/// the same ONNX Runtime and model files as production. Tests keep sizes and steps small: the CI machine has 2 cores.
/// </summary>
public sealed class TinyModelApiFactory : ApiFactory
{
    public static string ModelDirectory => Path.Combine(AppContext.BaseDirectory, "models", "self-test-tiny");

    protected override bool UsesFakePipeline => false;

    protected override void ConfigureEngine(IWebHostBuilder builder)
    {
        builder.UseSetting("ZImage:Engine:ModelDirectory", ModelDirectory);
        builder.UseSetting("ZImage:Engine:Provider", "Cpu");
    }
}

/// <summary>The fake pipeline, with the engine set to the committed self-test model folder (what the A1111 model endpoints read).</summary>
public sealed class SelfTestFolderApiFactory : ApiFactory
{
    protected override void ConfigureEngine(IWebHostBuilder builder) =>
        builder.UseSetting("ZImage:Engine:ModelDirectory", TinyModelApiFactory.ModelDirectory);
}

public sealed class AccountsApiFactory : ApiFactory
{
    protected override ApiAuthMode Mode => ApiAuthMode.Accounts;
}

public sealed class CappedApiFactory : ApiFactory
{
    protected override int MaxQueuedPerUser => 2;
}

/// <summary>The pages in accounts mode while the API's own setting still says open.</summary>
public sealed class UiAccountsApiFactory : ApiFactory
{
    protected override string UiMode => "Accounts";
}

public sealed class FakeModelStatus : IModelStatus
{
    public volatile ModelState Current = ModelState.Ready;
    public ModelState State => Current;
    public string? Detail => Current == ModelState.Ready ? "fake pipeline" : "loading";
}

public static class ApiTestExtensions
{
    // Generous: the tiny-model tests run the real engine on a shared 2-core CI machine.
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    public static async Task<JsonElement> JsonAsync(this HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    public static async Task<JsonElement> PostJobAsync(this HttpClient client, object body, string? idempotencyKey = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/jobs") { Content = JsonContent.Create(body) };
        if (idempotencyKey is not null)
            request.Headers.Add("Idempotency-Key", idempotencyKey);
        using var response = await client.SendAsync(request);
        Assert.Equal(System.Net.HttpStatusCode.Accepted, response.StatusCode);
        return await response.JsonAsync();
    }

    /// <summary>Polls the job until <paramref name="done"/> holds or the deadline passes.</summary>
    public static async Task<JsonElement> WaitForJobAsync(this HttpClient client, string id, Func<JsonElement, bool> done)
    {
        var until = DateTime.UtcNow + Deadline;
        while (true)
        {
            var job = await (await client.GetAsync($"/api/v1/jobs/{id}")).JsonAsync();
            if (done(job))
                return job;
            if (DateTime.UtcNow > until)
                throw new TimeoutException($"job {id} never reached the expected state; last: {job}");
            await Task.Delay(20);
        }
    }

    public static Task<JsonElement> WaitForStatusAsync(this HttpClient client, string id, string status) =>
        client.WaitForJobAsync(id, j => j.GetProperty("status").GetString() == status);

    public static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        var until = DateTime.UtcNow + Deadline;
        while (!await condition())
        {
            if (DateTime.UtcNow > until)
                throw new TimeoutException($"never happened: {what}");
            await Task.Delay(10);
        }
    }

    public static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var until = DateTime.UtcNow + Deadline;
        while (!condition())
        {
            if (DateTime.UtcNow > until)
                throw new TimeoutException($"never happened: {what}");
            await Task.Delay(10);
        }
    }
}

/// <summary>A 4 GiB GPU: too small for the model in any residency, so every job is refused before queueing.</summary>
public sealed class SmallGpuApiFactory : ApiFactory
{
    public const long Total = 4L << 30;

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        builder.ConfigureTestServices(services =>
        {
            services.RemoveAll<ZImage.Engine.Memory.IGpuMemoryProbe>();
            services.AddSingleton<ZImage.Engine.Memory.IGpuMemoryProbe>(new FixedGpu());
        });
    }

    private sealed class FixedGpu : ZImage.Engine.Memory.IGpuMemoryProbe
    {
        public ZImage.Engine.Memory.GpuMemoryInfo? Read() => new("Test GPU 4GB", Total, Total - (1L << 30), 1L << 30);
    }
}

/// <summary>A studio whose Settings saved other "defaults for new pictures" than the built-in ones.</summary>
public sealed class SavedDefaultsApiFactory : ApiFactory
{
    protected override void ConfigureEngine(IWebHostBuilder builder)
    {
        builder.UseSetting("ZImage:Web:Defaults:Steps", "3");
        builder.UseSetting("ZImage:Web:Defaults:Cfg", "2.5");
        builder.UseSetting("ZImage:Web:Defaults:Width", "512");
        builder.UseSetting("ZImage:Web:Defaults:Height", "768");
        builder.UseSetting("ZImage:Web:Defaults:Count", "2");
        builder.UseSetting("ZImage:Web:Defaults:NegativePrompt", "blurry");
    }
}
