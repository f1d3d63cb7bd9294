using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ZImage.Engine.Tests.Models.Install;

/// <summary>
/// A hub on two free loopback ports that serves a small checkpoint-like file set under Hugging Face's and ModelScope's
/// URL and JSON shapes. The first port is the hub; LFS files redirect (302) to the second, a "storage host" that
/// serves Range requests. Faults are armed per file; every request is logged so tests can assert what went over the wire.
/// </summary>
internal sealed class FakeHub : IAsyncDisposable
{
    public const string Owner = "Tongyi-MAI";
    public const string Name = "Z-Image-Turbo";
    public const string Repository = Owner + "/" + Name;

    /// <summary>Listing pages of Hugging Face's tree API hold this many entries, so paging by Link header is exercised.</summary>
    private const int PageSize = 5;

    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, ConcurrentQueue<Fault>> _faults = new();
    private int _inFlight;

    private FakeHub(WebApplication app, IReadOnlyDictionary<string, byte[]> files)
    {
        _app = app;
        Files = files;
    }

    public IReadOnlyDictionary<string, byte[]> Files { get; }

    public Uri Endpoint { get; private set; } = null!;

    public Uri Storage { get; private set; } = null!;

    public ConcurrentQueue<Hit> Log { get; } = new();

    public int MaxConcurrentFileRequests;

    /// <summary>File requests being served now (counted before <see cref="FileDelay"/> and <see cref="BeforeServe"/>).</summary>
    public int FileRequestsInFlight => Volatile.Read(ref _inFlight);

    /// <summary>Each file response waits this long first, so parallel transfers overlap.</summary>
    public TimeSpan FileDelay { get; set; }

    /// <summary>Runs before a file's bytes are served (a test fills the disk here).</summary>
    public Func<string, Task>? BeforeServe { get; set; }

    /// <summary>One request, logged when it arrives; Status and File are filled in before the client sees the response.</summary>
    public sealed record Hit(int Port, string Host, string Path, string Query, string? Range, string? Authorization, DateTime At)
    {
        public volatile int Status;
        public volatile string? File;
    }

    public static bool IsLfs(string path) => path.EndsWith(".safetensors", StringComparison.Ordinal) || path.EndsWith("tokenizer.json", StringComparison.Ordinal);

    /// <summary>A diffusers-layout file set with two transformer shards, plus files an install never needs.</summary>
    public static Dictionary<string, byte[]> CheckpointFiles()
    {
        var random = new Random(18);
        byte[] Bytes(int n)
        {
            var b = new byte[n];
            random.NextBytes(b);
            return b;
        }
        static byte[] Text(string s) => Encoding.UTF8.GetBytes(s);
        return new()
        {
            ["model_index.json"] = Text("""{"_class_name": "ZImagePipeline", "scheduler": ["diffusers", "FlowMatchEulerDiscreteScheduler"]}"""),
            ["scheduler/scheduler_config.json"] = Text("""{"num_train_timesteps": 1000, "shift": 3.0}"""),
            ["transformer/config.json"] = Text("""{"dim": 64}"""),
            ["transformer/diffusion_pytorch_model.safetensors.index.json"] = Text("""{"weight_map": {}}"""),
            ["transformer/diffusion_pytorch_model-00001-of-00002.safetensors"] = Bytes(300_000),
            ["transformer/diffusion_pytorch_model-00002-of-00002.safetensors"] = Bytes(200_000),
            ["text_encoder/config.json"] = Text("""{"hidden_size": 32}"""),
            ["text_encoder/model.safetensors"] = Bytes(120_000),
            ["vae/config.json"] = Text("""{"latent_channels": 16}"""),
            ["vae/diffusion_pytorch_model.safetensors"] = Bytes(80_000),
            ["tokenizer/tokenizer.json"] = Bytes(40_000),
            ["tokenizer/tokenizer_config.json"] = Text("""{"model_max_length": 512}"""),
            ["README.md"] = Text("# Z-Image-Turbo"),
            ["assets/showcase.jpg"] = Bytes(50_000),
            [".gitattributes"] = Text("*.safetensors filter=lfs"),
        };
    }

    public static long NeededBytes(IReadOnlyDictionary<string, byte[]> files) =>
        files.Where(f => ZImage.Engine.Models.Install.Hub.CheckpointFiles.IsNeeded(f.Key)).Sum(f => (long)f.Value.Length);

    public static async Task<FakeHub> StartAsync(IReadOnlyDictionary<string, byte[]>? files = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k =>
        {
            k.Listen(IPAddress.Loopback, 0);
            k.Listen(IPAddress.Loopback, 0);
        });
        var app = builder.Build();
        var hub = new FakeHub(app, files ?? CheckpointFiles());
        app.Run(hub.HandleAsync);
        await app.StartAsync();
        var ports = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Select(a => new Uri(a)).ToList();
        hub.Endpoint = ports[0];
        hub.Storage = ports[1];
        return hub;
    }

    public ValueTask DisposeAsync() => _app.DisposeAsync();

    public static string Sha256(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    // ---- faults -------------------------------------------------------------------------------------------------

    /// <summary>Faults are queued per file: each request for the file takes the next one, then files are served cleanly.</summary>
    private sealed record Fault(string Kind, long Bytes = 0, int Status = 0, TimeSpan RetryAfter = default)
    {
        public TaskCompletionSource Reached { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private Fault Arm(string file, Fault fault)
    {
        _faults.GetOrAdd(file, _ => new()).Enqueue(fault);
        return fault;
    }

    /// <summary>The next response for the file sends this many bytes, then the connection is dropped.</summary>
    public void CutOnce(string file, long afterBytes) => Arm(file, new Fault("cut", afterBytes));

    /// <summary>The next <paramref name="times"/> responses for the file carry one flipped byte.</summary>
    public void Corrupt(string file, int times)
    {
        for (int i = 0; i < times; i++)
            Arm(file, new Fault("corrupt"));
    }

    /// <summary>The next response for the file is the whole file with 200, whatever Range asked.</summary>
    public void IgnoreRangeOnce(string file) => Arm(file, new Fault("ignore-range"));

    public void FailOnce(string file, int status, TimeSpan retryAfter) => Arm(file, new Fault("fail", Status: status, RetryAfter: retryAfter));

    /// <summary>The next response sends this many bytes and then hangs until the client goes away; the task completes when it hangs.</summary>
    public Task StallOnce(string file, long afterBytes) => Arm(file, new Fault("stall", afterBytes)).Reached.Task;

    public IReadOnlyList<Hit> FileRequests(string file) => Log.Where(h => h.File == file && h.Status is 200 or 206).ToList();

    // ---- routing ------------------------------------------------------------------------------------------------

    private async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        string path = Uri.UnescapeDataString(request.Path.Value ?? "");
        var hit = new Hit(context.Connection.LocalPort, request.Host.Value ?? "", path, request.QueryString.Value ?? "", request.Headers.Range.ToString() is { Length: > 0 } r ? r : null,
            request.Headers.Authorization.ToString() is { Length: > 0 } a ? a : null, DateTime.UtcNow);
        context.Response.OnStarting(() =>
        {
            hit.Status = context.Response.StatusCode;
            return Task.CompletedTask;
        });
        Log.Enqueue(hit);
        if (path.StartsWith("/lfs/", StringComparison.Ordinal)) // on any port, so a proxy in front of both hosts works
        {
            string file = hit.File = path["/lfs/".Length..];
            await ServeFileAsync(context, file);
        }
        else if (path == $"/api/models/{Repository}/tree/main")
            await HuggingFaceListingAsync(context);
        else if (path.StartsWith($"/{Repository}/resolve/main/", StringComparison.Ordinal))
        {
            string file = hit.File = path[$"/{Repository}/resolve/main/".Length..];
            if (!Files.ContainsKey(file))
                context.Response.StatusCode = 404;
            else if (IsLfs(file))
            {
                // As huggingface.co does: a redirect to a storage host, with the linked size and etag for clients that HEAD.
                context.Response.Headers["X-Linked-Size"] = Files[file].Length.ToString();
                context.Response.Headers["X-Linked-Etag"] = $"\"{Sha256(Files[file])}\"";
                context.Response.Redirect(new Uri(Storage, "/lfs/" + file).AbsoluteUri);
            }
            else
                await ServeFileAsync(context, file);
        }
        else if (path == $"/api/v1/models/{Repository}/repo/files")
            await ModelScopeListingAsync(context);
        else if (path == $"/api/v1/models/{Repository}/repo")
        {
            string file = hit.File = request.Query["FilePath"].ToString();
            if (request.Query["Revision"] != "master" || !Files.ContainsKey(file))
                context.Response.StatusCode = 404;
            else
                await ServeFileAsync(context, file);
        }
        else
            context.Response.StatusCode = 404;
    }

    private async Task HuggingFaceListingAsync(HttpContext context)
    {
        var entries = new List<object>();
        foreach (var folder in Files.Keys.Where(k => k.Contains('/')).Select(k => k[..k.IndexOf('/')]).Distinct())
            entries.Add(new { type = "directory", oid = "0000", size = 0, path = folder });
        foreach (var (path, bytes) in Files.OrderBy(f => f.Key, StringComparer.Ordinal))
        {
            entries.Add(IsLfs(path)
                ? new { type = "file", oid = "1111", size = bytes.Length, path, lfs = new { oid = Sha256(bytes), size = bytes.Length, pointerSize = 134 } }
                : (object)new { type = "file", oid = "2222", size = bytes.Length, path });
        }
        int cursor = int.TryParse(context.Request.Query["cursor"], out int c) ? c : 0;
        if (context.Request.Query["recursive"] != "true")
        {
            context.Response.StatusCode = 400;
            return;
        }
        if (cursor + PageSize < entries.Count)
            context.Response.Headers["Link"] = $"<{Endpoint}api/models/{Repository}/tree/main?recursive=true&cursor={cursor + PageSize}>; rel=\"next\"";
        await context.Response.WriteAsJsonAsync(entries.Skip(cursor).Take(PageSize));
    }

    private async Task ModelScopeListingAsync(HttpContext context)
    {
        if (context.Request.Query["Revision"] != "master" || context.Request.Query["Recursive"] != "true")
        {
            await context.Response.WriteAsJsonAsync(new { Code = 10010205, Message = "revision not found", Success = false });
            return;
        }
        var files = Files.Keys.Where(k => k.Contains('/')).Select(k => k[..k.IndexOf('/')]).Distinct()
            .Select(folder => (object)new { Name = folder, Path = folder, Size = 0, Sha256 = "", Type = "tree", IsLFS = false })
            .Concat(Files.Select(f => (object)new { Name = f.Key.Split('/')[^1], Path = f.Key, Size = f.Value.Length, Sha256 = Sha256(f.Value), Type = "blob", IsLFS = IsLfs(f.Key) }));
        await context.Response.WriteAsync(JsonSerializer.Serialize(new { Code = 200, Data = new { Files = files }, Message = "success", Success = true }));
    }

    private async Task ServeFileAsync(HttpContext context, string file)
    {
        if (!Files.TryGetValue(file, out var bytes))
        {
            context.Response.StatusCode = 404;
            return;
        }
        int now = Interlocked.Increment(ref _inFlight);
        int seen;
        while ((seen = MaxConcurrentFileRequests) < now && Interlocked.CompareExchange(ref MaxConcurrentFileRequests, now, seen) != seen)
        {
        }
        try
        {
            if (FileDelay > TimeSpan.Zero)
                await Task.Delay(FileDelay, context.RequestAborted);
            if (BeforeServe is { } hook)
                await hook(file);
            var fault = _faults.TryGetValue(file, out var queue) && queue.TryDequeue(out var next) ? next : null;
            var response = context.Response;
            if (fault?.Kind == "fail")
            {
                response.StatusCode = fault.Status;
                response.Headers.RetryAfter = ((int)fault.RetryAfter.TotalSeconds).ToString();
                return;
            }
            if (fault?.Kind == "corrupt")
            {
                bytes = (byte[])bytes.Clone();
                bytes[bytes.Length / 2] ^= 0xFF;
            }

            long from = 0;
            string range = context.Request.Headers.Range.ToString();
            if (range.StartsWith("bytes=", StringComparison.Ordinal) && fault?.Kind != "ignore-range")
            {
                from = long.Parse(range["bytes=".Length..range.IndexOf('-')]);
                if (from >= bytes.Length)
                {
                    response.StatusCode = 416;
                    return;
                }
                response.StatusCode = 206;
                response.Headers.ContentRange = $"bytes {from}-{bytes.Length - 1}/{bytes.Length}";
            }
            response.Headers.AcceptRanges = "bytes";
            response.ContentLength = bytes.Length - from;
            var body = bytes.AsMemory((int)from);
            if (fault?.Kind is "cut" or "stall")
            {
                await response.Body.WriteAsync(body[..(int)fault.Bytes], context.RequestAborted);
                await response.Body.FlushAsync(context.RequestAborted);
                fault.Reached.TrySetResult();
                if (fault.Kind == "stall")
                {
                    await Task.Delay(Timeout.Infinite, context.RequestAborted).ContinueWith(_ => { });
                    return;
                }
                await Task.Delay(200); // let the client read what was sent before the connection drops
                context.Abort();
                return;
            }
            await response.Body.WriteAsync(body, context.RequestAborted);
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }
}
