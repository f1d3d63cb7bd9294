using ZImage.Engine.Models;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Options;
using ZImage.Engine.History;
using ZImage.Engine.Imaging;
using ZImage.Engine.Jobs;
using ZImage.Engine.Memory;
using ZImage.Engine.Pipeline;
using ZImage.Engine.Sampling;
using ZImage.Web.Api.Auth;
using ZImage.Web.Api.Jobs;
using ZImage.Web.Ui.Settings;

namespace ZImage.Web.Api.Sdapi;

/// <summary>
/// The AUTOMATIC1111-compatible subset under /sdapi/v1, so existing scripts and clients work unchanged.
/// Where A1111's defaults make no sense for Z-Image-Turbo, absent fields take the defaults for new pictures from
/// Settings (out of the box 8 steps, CFG 0, 1024x1024); fields a client does send are honoured or refused with the
/// allowed range, never silently changed.
/// Unlike A1111, progress and interrupt are per caller: a designer sees and stops only their own job.
/// </summary>
public static class SdapiEndpoints
{
    public const string SamplerName = "Euler";

    public static RouteGroupBuilder MapSdapiEndpoints(this RouteGroupBuilder sdapi)
    {
        sdapi.WithTags("AUTOMATIC1111 compatible");
        sdapi.MapPost("/txt2img", Txt2Img)
            .Accepts<Txt2ImgRequest>("application/json")
            .Produces<Txt2ImgResponse>()
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
            .ProducesProblem(StatusCodes.Status500InternalServerError)
            .WithSummary("Queue a job and wait for it; answers with base64 PNGs carrying the parameters chunk.");
        sdapi.MapGet("/progress", Progress)
            .Produces<ProgressResponse>()
            .WithMetadata(new DocumentedQuery("skip_current_image", Microsoft.OpenApi.JsonSchemaType.Boolean, "true: leave the preview out (current_image is null)."))
            .WithSummary("The caller's running job (or next queued one): progress 0..1, ETA in seconds, latest preview.");
        sdapi.MapPost("/interrupt", Interrupt)
            .WithSummary("Stops the caller's own running job; other users' jobs are never touched.");
        sdapi.MapPost("/png-info", (Delegate)PngInfo)
            .Accepts<PngInfoRequest>("application/json")
            .Produces<PngInfoResponse>()
            .ProducesValidationProblem();
        sdapi.MapGet("/options", (IModelCatalog catalog) => TypedResults.Ok(CurrentOptions(LoadedModel.Read(catalog))));
        sdapi.MapPost("/options", (Delegate)SetOptions)
            .Accepts<Dictionary<string, JsonElement>>("application/json")
            .Produces<SetOptionsResponse>()
            .ProducesValidationProblem()
            .WithSummary("Accepts the body webuiapi's set_options sends. Nothing is changed: an option that already holds is listed "
                + "as accepted, the rest as ignored; asking for another checkpoint is refused (400).");
        // The model the engine is set to, by its manifest's name; the folder's name only, never where it lies on the server.
        sdapi.MapGet("/sd-models", (IModelCatalog catalog) => TypedResults.Ok(LoadedModel.Read(catalog) is { } model
            ? new[] { new SdModelItem(model.Name, model.Name, null, null, model.Folder, null) }
            : []));
        sdapi.MapSdapiReadEndpoints();
        return sdapi;
    }

    /// <summary>What GET /options reports: the A1111 options whose meaning ZImage shares, with ZImage's fixed values.</summary>
    public static Dictionary<string, object?> CurrentOptions(LoadedModel? model) => new()
    {
        ["sd_model_checkpoint"] = model?.Name,
        ["sd_checkpoint_hash"] = null,
        ["samples_format"] = "png",
        ["CLIP_stop_at_last_layers"] = 1,
        ["eta_noise_seed_delta"] = 0,
        ["live_previews_enable"] = true,
        ["show_progress_every_n_steps"] = 1,
        ["enable_pnginfo"] = true,
    };

    /// <summary>
    /// A1111 writes these into its global config. ZImage's settings are the admin's, in Settings, and none of A1111's
    /// options has a counterpart there that a script should flip for everyone; so nothing is applied. Answering 200
    /// (not 405) keeps scripts that call set_options before generating working, and the body says exactly what was
    /// ignored. The one refusal is another checkpoint: the pictures would not be from the model the script asked for.
    /// </summary>
    private static async Task<IResult> SetOptions(HttpContext http, IModelCatalog catalog)
    {
        var body = await ApiJson.ReadAsync<Dictionary<string, JsonElement>>(http);
        if (body.Error is not null)
            return body.Error;
        var model = LoadedModel.Read(catalog);
        var current = CurrentOptions(model);
        var accepted = new List<string>();
        var ignored = new List<string>();
        foreach (var (key, value) in body.Value!.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            if (key == "sd_model_checkpoint")
            {
                if (model is null)
                    return ApiProblems.Invalid(key, "No model is installed on this server; an administrator chooses one in Settings.");
                if (value.ValueKind != JsonValueKind.String || !string.Equals(value.GetString(), model.Name, StringComparison.OrdinalIgnoreCase))
                    return ApiProblems.Invalid(key, $"sd_model_checkpoint must be '{model.Name}', the only model this server has (got {value.GetRawText()}).");
                accepted.Add(key);
            }
            else if (current.TryGetValue(key, out var ours) && JsonSerializer.Serialize(ours) == value.GetRawText())
                accepted.Add(key);
            else
                ignored.Add(key);
        }
        return TypedResults.Ok(new SetOptionsResponse(accepted, ignored, ignored.Count == 0
            ? "Every option already holds on this server."
            : $"ZImage keeps its settings in Settings; these options have no counterpart here and were not applied: {string.Join(", ", ignored)}."));
    }

    private static async Task<IResult> Txt2Img(HttpContext http, IJobService service, IHistoryService history,
        NewPictureDefaults newPictures, IOptions<ApiOptions> options, IModelCatalog catalog, TimeProvider clock)
    {
        var body = await ApiJson.ReadAsync<Txt2ImgRequest>(http);
        if (body.Error is not null)
            return body.Error;
        var req = body.Value!;
        var batchSize = req.BatchSize ?? 1;
        var nIter = req.NIter ?? 1;
        // In long: 3 x 1431655766 wraps to 2 in int.
        if (batchSize < 1 || nIter < 1 || (long)batchSize * nIter > GenerationLimits.MaxCount)
            return ApiProblems.Invalid("batch_size",
                $"batch_size x n_iter must be between {GenerationLimits.MinCount} and {GenerationLimits.MaxCount} images (got {batchSize} x {nIter}).");
        if (req.Seed is < -1)
            return ApiProblems.Invalid("seed", $"seed must be -1 (random) or between {GenerationLimits.MinSeed} and {GenerationLimits.MaxSeed} (got {req.Seed}).");

        var random = req.Seed is null or -1;
        var jobRequest = new JobRequest
        {
            Settings = req.ToSettings(newPictures.Current) with { Count = batchSize * nIter },
            SeedPolicy = random ? SeedPolicy.Random : SeedPolicy.Fixed,
            IdempotencyKey = http.Request.Headers[JobEndpoints.IdempotencyHeader].ToString() is { Length: > 0 and <= JobEndpoints.MaxIdempotencyKeyLength } key ? key : null,
        };

        var caller = http.Caller();
        var submitted = await service.SubmitAsync(jobRequest, caller, http.RequestAborted);
        if (!submitted.Accepted)
            return ApiProblems.Refusal(submitted, ToA1111Field);

        var job = await WaitForFinalAsync(submitted.Job!.Id, caller, service, TimeSpan.FromSeconds(options.Value.SyncTimeoutSeconds), clock, http.RequestAborted);
        if (job is null)
            return ApiProblems.Status(StatusCodes.Status504GatewayTimeout,
                $"Job {submitted.Job.Id} did not finish within {options.Value.SyncTimeoutSeconds} s; it stays queued. Follow it at {ApiRoutes.Job(submitted.Job.Id)}.");
        if (job.Status is JobStatus.Failed or JobStatus.Interrupted)
            return ApiProblems.Status(StatusCodes.Status500InternalServerError, job.Error ?? $"Job {job.Id} failed.");

        var images = new List<string>();
        var infotexts = new List<string>();
        string? madeBy = null;
        foreach (var imageId in job.ImageIds)
        {
            var record = await history.GetImageAsync(imageId, http.RequestAborted);
            if (record is null)
                continue;
            madeBy ??= record.Model;
            var png = await File.ReadAllBytesAsync(record.FilePath, http.RequestAborted);
            if (req.SendImages ?? true)
                images.Add(Convert.ToBase64String(png));
            // The text embedded in the file, so infotexts and png-info of the same image always agree.
            infotexts.Add(PngParameters.ReadTextChunks(png)?.GetValueOrDefault(PngParameters.ParametersKey)
                ?? ImageSettings.FromRequest(record.Parameters, 0, record.Model, FlowMatchEulerSchedule.DefaultShift).ToParameters().ToA1111Text());
        }

        var ignored = (req.Other?.Keys ?? Enumerable.Empty<string>())
            .Concat(req.SamplerName is null ? [] : ["sampler_name"])
            .Order(StringComparer.Ordinal)
            .ToList();
        var r = job.Request;
        var seeds = Enumerable.Range(0, r.Count).Select(i => r.Seed + i).ToList();
        var info = new Dictionary<string, object?>
        {
            ["prompt"] = r.Prompt,
            ["all_prompts"] = Enumerable.Repeat(r.Prompt, r.Count).ToList(),
            ["negative_prompt"] = r.NegativePrompt,
            ["all_negative_prompts"] = Enumerable.Repeat(r.NegativePrompt, r.Count).ToList(),
            ["seed"] = r.Seed,
            ["all_seeds"] = seeds,
            ["subseed"] = -1,
            ["all_subseeds"] = Enumerable.Repeat(-1, r.Count).ToList(),
            ["subseed_strength"] = 0,
            ["width"] = r.Width,
            ["height"] = r.Height,
            ["sampler_name"] = SamplerName,
            ["cfg_scale"] = r.Cfg,
            ["steps"] = r.Steps,
            ["batch_size"] = batchSize,
            ["restore_faces"] = false,
            ["face_restoration_model"] = null,
            // The model that made these pictures (history keeps it per picture), not a fixed name.
            ["sd_model_name"] = madeBy ?? LoadedModel.Read(catalog)?.Name,
            ["sd_model_hash"] = null,
            ["sd_vae_name"] = null,
            ["sd_vae_hash"] = null,
            ["seed_resize_from_w"] = -1,
            ["seed_resize_from_h"] = -1,
            ["denoising_strength"] = null,
            ["extra_generation_params"] = new Dictionary<string, object>(),
            ["index_of_first_image"] = 0,
            ["infotexts"] = infotexts,
            ["styles"] = new List<string>(),
            ["job_timestamp"] = (job.StartedAt ?? job.SubmittedAt).ToString("yyyyMMddHHmmss", CultureInfo.InvariantCulture),
            ["clip_skip"] = 1,
            ["is_using_inpainting_conditioning"] = false,
            ["version"] = "ZImage",
            ["job_id"] = job.Id,
            ["image_ids"] = job.ImageIds,
            ["interrupted"] = job.Status == JobStatus.Cancelled,
            ["ignored_fields"] = ignored,
            ["notice"] = job.Notice,
        };

        var echo = new Dictionary<string, object?>
        {
            ["prompt"] = req.Prompt ?? "",
            ["negative_prompt"] = jobRequest.Settings.NegativePrompt,
            ["width"] = jobRequest.Settings.Width,
            ["height"] = jobRequest.Settings.Height,
            ["steps"] = jobRequest.Settings.Steps,
            ["cfg_scale"] = jobRequest.Settings.Cfg,
            ["seed"] = req.Seed ?? -1,
            ["batch_size"] = batchSize,
            ["n_iter"] = nIter,
            ["sampler_name"] = req.SamplerName,
            ["send_images"] = req.SendImages ?? true,
        };
        foreach (var (k, v) in req.Other ?? [])
            echo.TryAdd(k, v);

        return TypedResults.Ok(new Txt2ImgResponse(images, echo, JsonSerializer.Serialize(info)));
    }

    /// <summary>
    /// Waits for the job to end. A client that hangs up stops its job: a synchronous call's result has nowhere
    /// to go, and the GPU is shared. Null when the wait timed out (the job keeps its place).
    /// </summary>
    private static async Task<JobSnapshot?> WaitForFinalAsync(string jobId, Caller caller, IJobService service,
        TimeSpan timeout, TimeProvider clock, CancellationToken aborted)
    {
        using var watching = CancellationTokenSource.CreateLinkedTokenSource(aborted);
        var final = FinalAsync();
        try
        {
            await final.WaitAsync(timeout, clock, aborted);
        }
        catch (TimeoutException)
        {
            return null;
        }
        catch (OperationCanceledException) when (aborted.IsCancellationRequested)
        {
            await service.CancelAsync(jobId, caller, CancellationToken.None);
            throw;
        }
        finally
        {
            await watching.CancelAsync();
        }
        return await service.GetAsync(jobId, caller, CancellationToken.None);

        async Task FinalAsync()
        {
            await foreach (var update in service.WatchJobAsync(jobId, caller, watching.Token))
            {
                if (update.IsFinal)
                    return;
            }
        }
    }

    private static async Task<IResult> Progress(HttpContext http, IJobService service, PreviewEncoder previews)
    {
        var skipImage = new ApiQuery(http.Request).Bool("skip_current_image") ?? false;
        var mine = await service.ListMineAsync(http.Caller(), 50, http.RequestAborted);
        var running = mine.FirstOrDefault(j => j.Status == JobStatus.Running);
        var next = running ?? mine.Where(j => j.Status == JobStatus.Queued).MinBy(j => j.Position ?? int.MaxValue);
        if (next is null)
            return TypedResults.Ok(new ProgressResponse(0, 0, new ProgressState(false, false, false, "", 0, "0", 0, 0, 0), null, null));

        var p = next.Progress;
        var state = new ProgressState(
            Skipped: false,
            Interrupted: false,
            StoppingGeneration: false,
            Job: next.Id,
            JobCount: next.Request.Count,
            JobTimestamp: (next.StartedAt ?? next.SubmittedAt).ToString("yyyyMMddHHmmss", CultureInfo.InvariantCulture),
            JobNo: p?.ImageIndex ?? 0,
            SamplingStep: p?.Step ?? 0,
            SamplingSteps: p?.TotalSteps ?? next.Request.Steps);
        var image = !skipImage && p?.Preview is { } preview ? Convert.ToBase64String(previews.EncodePng(preview.Image)) : null;
        var text = next.Status == JobStatus.Queued ? $"Queued: position {next.Position}" : next.Notice;
        return TypedResults.Ok(new ProgressResponse(p?.Fraction ?? 0, next.EtaFinish?.TotalSeconds ?? 0, state, image, text));
    }

    private static async Task<IResult> Interrupt(HttpContext http, IJobService service)
    {
        var caller = http.Caller();
        var mine = await service.ListMineAsync(caller, 50, http.RequestAborted);
        foreach (var job in mine.Where(j => j.Status == JobStatus.Running))
            await service.CancelAsync(job.Id, caller, http.RequestAborted);
        return TypedResults.Ok(new Dictionary<string, object>());
    }

    private static async Task<IResult> PngInfo(HttpContext http)
    {
        var body = await ApiJson.ReadAsync<PngInfoRequest>(http);
        if (body.Error is not null)
            return body.Error;
        var text = body.Value!.Image?.Trim() ?? "";
        if (text.Length == 0)
            return ApiProblems.Invalid("image", "image is required: a base64 PNG, with or without a data:image/png;base64, prefix.");
        var comma = text.StartsWith("data:", StringComparison.OrdinalIgnoreCase) ? text.IndexOf(',') : -1;
        byte[] bytes;
        try
        {
            bytes = Convert.FromBase64String(comma >= 0 ? text[(comma + 1)..] : text);
        }
        catch (FormatException)
        {
            return ApiProblems.Invalid("image", "image is not valid base64.");
        }
        var chunks = PngParameters.ReadTextChunks(bytes);
        if (chunks is null)
            return ApiProblems.Invalid("image", "image is not a PNG file (its signature or chunk structure is wrong).");
        var info = chunks.GetValueOrDefault(PngParameters.ParametersKey) ?? "";
        return TypedResults.Ok(new PngInfoResponse(info, chunks, PngParameters.Parse(info)));
    }

    /// <summary>The engine names fields the C# way; A1111 clients sent snake_case.</summary>
    internal static string ToA1111Field(string field) => field switch
    {
        "cfg" => "cfg_scale",
        "negativePrompt" => "negative_prompt",
        "count" => "batch_size",
        _ => field,
    };
}
