using System.Globalization;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Options;
using ZImage.Engine.Imaging;
using ZImage.Engine.Jobs;
using ZImage.Engine.Models;
using ZImage.Engine.Pipeline;
using ZImage.Engine.Sampling;

namespace ZImage.Web.Api.Sdapi;

/// <summary>
/// The read endpoints AUTOMATIC1111 clients call before generating (webuiapi's get_samplers, get_schedulers, get_sd_vae,
/// get_upscalers, get_loras, get_cmd_flags, get_embeddings, get_memory, get_scripts), in A1111's shapes
/// (modules/api/models.py) and with what is true here: one sampler (flow-match Euler), one schedule, the model folder's
/// own VAE, and empty lists for what ZImage does not have. No answer names a path on the server.
/// </summary>
public static class SdapiReadEndpoints
{
    public const string SchedulerName = "flow_match";

    public static RouteGroupBuilder MapSdapiReadEndpoints(this RouteGroupBuilder sdapi)
    {
        sdapi.MapGet("/samplers", () => TypedResults.Ok(new[] { new SamplerItem(SdapiEndpoints.SamplerName, ["euler", "flow_match_euler"], new Dictionary<string, object?>()) }))
            .WithSummary("The one sampler: flow-match Euler (A1111's 'Euler' is accepted as sampler_name).");
        sdapi.MapGet("/schedulers", () => TypedResults.Ok(new[] { new SchedulerItem(SchedulerName, $"Flow match (shift {FlowMatchEulerSchedule.DefaultShift.ToString(CultureInfo.InvariantCulture)})", null, null, false) }))
            .WithSummary("The one noise schedule: Z-Image's shifted flow-match sigmas.");
        sdapi.MapGet("/sd-vae", (IModelCatalog catalog) => TypedResults.Ok(LoadedModel.Read(catalog) is { } model
                ? new[] { new SdVaeItem($"{model.Name} VAE", model.Folder + "/vae_decoder") }
                : []))
            .WithSummary("The VAE decoder inside the loaded model folder (none when no model is installed).");
        sdapi.MapGet("/upscalers", () => TypedResults.Ok(new[] { new UpscalerItem("None", null, null, null, null) }))
            .WithSummary("A1111 always lists 'None'; ZImage has no upscalers.");
        sdapi.MapGet("/loras", () => TypedResults.Ok(Array.Empty<LoraItem>())).WithSummary("Always empty: ZImage loads no LoRAs.");
        sdapi.MapGet("/embeddings", () => TypedResults.Ok(new EmbeddingsResponse(new Dictionary<string, object>(), new Dictionary<string, object>())))
            .WithSummary("Always empty: ZImage loads no textual-inversion embeddings.");
        sdapi.MapGet("/scripts", () => TypedResults.Ok(new ScriptsList([], [])))
            .WithSummary("Always empty: ZImage runs no A1111 scripts.");
        sdapi.MapGet("/cmd-flags", (HttpContext http) => TypedResults.Ok(new Dictionary<string, object?>
            {
                ["api"] = true,
                ["nowebui"] = false,
                ["listen"] = !(http.Connection.LocalIpAddress is { } local && System.Net.IPAddress.IsLoopback(local)),
                ["port"] = http.Connection.LocalPort,
            }))
            .WithSummary("The few A1111 command-line flags that mean something here.");
        sdapi.MapGet("/memory", (ISystemStatus status) => TypedResults.Ok(Memory(status.GetStatus())))
            .WithSummary("System memory and GPU memory in bytes, in A1111's shape; cuda.error when there is no GPU.");
        return sdapi;
    }

    private static MemoryResponse Memory(SystemStatusSnapshot s)
    {
        var (total, available) = SystemMemory();
        var ram = new Dictionary<string, object?> { ["free"] = available, ["used"] = total - available, ["total"] = total };
        if (!s.HasGpu)
            return new(ram, new Dictionary<string, object?> { ["error"] = "No GPU: the engine runs on the processor." });
        var free = s.VramTotalBytes - s.VramUsedBytes;
        // ONNX Runtime does not report torch's allocator figures (active, reserved, inactive); the device's own use stands in for them.
        var device = new Dictionary<string, object?> { ["current"] = s.VramUsedBytes, ["peak"] = s.VramUsedBytes };
        return new(ram, new Dictionary<string, object?>
        {
            ["system"] = new Dictionary<string, object?> { ["free"] = free, ["used"] = s.VramUsedBytes, ["total"] = s.VramTotalBytes },
            ["active"] = device,
            ["allocated"] = device,
            ["reserved"] = device,
            ["inactive"] = new Dictionary<string, object?> { ["current"] = 0L, ["peak"] = 0L },
            ["events"] = new Dictionary<string, object?> { ["retries"] = 0L, ["oom"] = s.OutOfMemoryCount },
        });
    }

    /// <summary>Total and available bytes from /proc/meminfo on Linux; elsewhere what the runtime knows.</summary>
    private static (long Total, long Available) SystemMemory()
    {
        try
        {
            long total = 0, available = 0;
            foreach (var line in File.ReadLines("/proc/meminfo"))
            {
                var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (parts.Length >= 2 && long.TryParse(parts[1], CultureInfo.InvariantCulture, out var kib))
                {
                    if (parts[0] == "MemTotal:")
                        total = kib * 1024;
                    else if (parts[0] == "MemAvailable:")
                        available = kib * 1024;
                }
            }
            if (total > 0)
                return (total, available);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
        var info = GC.GetGCMemoryInfo();
        return (info.TotalAvailableMemoryBytes, Math.Max(0, info.TotalAvailableMemoryBytes - Environment.WorkingSet));
    }
}

/// <summary>The model folder the engine is set to, as clients may see it: its manifest's name and the folder's own name, never its path.</summary>
public sealed record LoadedModel(string Name, string Folder)
{
    /// <summary>From the catalog's reading, so a relative folder resolves as everywhere else (against the content root).</summary>
    public static LoadedModel? Read(IModelCatalog catalog)
    {
        var model = catalog.Current;
        if (model is not { Directory: { } directory, Manifest: { } manifest })
            return null;
        var name = string.IsNullOrWhiteSpace(manifest.ModelName) ? ImageSettings.DefaultModel : manifest.ModelName;
        return new(name, Path.GetFileName(Path.TrimEndingDirectorySeparator(directory)));
    }
}

public sealed record SamplerItem(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("aliases")] IReadOnlyList<string> Aliases,
    [property: JsonPropertyName("options")] IReadOnlyDictionary<string, object?> Options);

public sealed record SchedulerItem(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("label")] string Label,
    [property: JsonPropertyName("aliases")] IReadOnlyList<string>? Aliases,
    [property: JsonPropertyName("default_rho")] double? DefaultRho,
    [property: JsonPropertyName("need_inner_model")] bool? NeedInnerModel);

public sealed record SdVaeItem(
    [property: JsonPropertyName("model_name")] string ModelName,
    [property: JsonPropertyName("filename")] string Filename);

public sealed record UpscalerItem(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("model_name")] string? ModelName,
    [property: JsonPropertyName("model_path")] string? ModelPath,
    [property: JsonPropertyName("model_url")] string? ModelUrl,
    [property: JsonPropertyName("scale")] double? Scale);

public sealed record LoraItem(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("alias")] string Alias,
    [property: JsonPropertyName("path")] string Path,
    [property: JsonPropertyName("metadata")] IReadOnlyDictionary<string, object?> Metadata);

public sealed record EmbeddingsResponse(
    [property: JsonPropertyName("loaded")] IReadOnlyDictionary<string, object> Loaded,
    [property: JsonPropertyName("skipped")] IReadOnlyDictionary<string, object> Skipped);

public sealed record ScriptsList(
    [property: JsonPropertyName("txt2img")] IReadOnlyList<string> Txt2Img,
    [property: JsonPropertyName("img2img")] IReadOnlyList<string> Img2Img);

public sealed record MemoryResponse(
    [property: JsonPropertyName("ram")] IReadOnlyDictionary<string, object?> Ram,
    [property: JsonPropertyName("cuda")] IReadOnlyDictionary<string, object?> Cuda);
