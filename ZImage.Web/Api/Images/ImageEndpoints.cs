using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using ZImage.Engine.History;
using ZImage.Engine.Jobs;
using ZImage.Web.Api.Auth;
using ZImage.Web.Api.Jobs;

namespace ZImage.Web.Api.Images;

/// <summary>
/// Image files and the history gallery. Routes take numeric ids only (a path can never be smuggled in), and
/// the file served is the store's path, checked once more to lie under the output folder.
/// Who sees a picture is the engine's rule (<see cref="Caller.CanSee"/>): its owner, an admin, and everyone else when the
/// owner shares their pictures with the team (by default in open mode, by choice in accounts mode).
/// </summary>
public static class ImageEndpoints
{
    public const int MaxPageSize = 200;

    public static RouteGroupBuilder MapImageEndpoints(this RouteGroupBuilder api)
    {
        var images = api.MapGroup("/images").WithTags("Images");
        images.MapGet("/{id:long}", (long id, HttpContext http, IHistoryService history, ImageFiles files) =>
                ServeAsync(id, thumb: false, http, history, files))
            .Produces(StatusCodes.Status200OK, contentType: "image/png")
            .ProducesProblem(StatusCodes.Status404NotFound);
        images.MapGet("/{id:long}/thumb", (long id, HttpContext http, IHistoryService history, ImageFiles files) =>
                ServeAsync(id, thumb: true, http, history, files))
            .Produces(StatusCodes.Status200OK, contentType: "image/png")
            .ProducesProblem(StatusCodes.Status404NotFound);
        images.MapGet("/{id:long}/info", async Task<IResult> (long id, HttpContext http, IHistoryService history) =>
                await VisibleAsync(id, http, history) is { } record ? TypedResults.Ok(ImageDto.From(record)) : NotFound(id))
            .Produces<ImageDto>()
            .ProducesProblem(StatusCodes.Status404NotFound);
        images.MapPut("/{id:long}/favourite", SetFavourite)
            .Accepts<FavouriteRequest>("application/json")
            .Produces<ImageDto>()
            .ProducesProblem(StatusCodes.Status404NotFound);
        images.MapDelete("/{id:long}", async Task<IResult> (long id, HttpContext http, IHistoryService history) =>
            {
                if (await VisibleAsync(id, http, history) is null)
                    return NotFound(id);
                return await history.DeleteImageAsync(id, http.Caller(), http.RequestAborted)
                    ? TypedResults.NoContent()
                    : ApiProblems.Status(StatusCodes.Status403Forbidden, $"Image {id} belongs to another user; only its owner or an admin may delete it.");
            })
            .Produces(StatusCodes.Status204NoContent)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound);

        api.MapGet("/history", History)
            .WithTags("Images")
            .WithMetadata(
                new DocumentedQuery("user", Microsoft.OpenApi.JsonSchemaType.String, "mine (default), everyone (or *), or a user name. Others' pictures are listed only where their owner shares them with the team (administrators: all)."),
                new DocumentedQuery("text", Microsoft.OpenApi.JsonSchemaType.String, "Words the prompt contains (at most 500 characters)."),
                new DocumentedQuery("from", Microsoft.OpenApi.JsonSchemaType.String, "ISO 8601 date or time; pictures made at or after it."),
                new DocumentedQuery("to", Microsoft.OpenApi.JsonSchemaType.String, "ISO 8601 date or time, exclusive; after from."),
                new DocumentedQuery("size", Microsoft.OpenApi.JsonSchemaType.String, "WIDTHxHEIGHT, e.g. 1024x768."),
                new DocumentedQuery("width", Microsoft.OpenApi.JsonSchemaType.Integer, "Picture width.", 1, 100_000),
                new DocumentedQuery("height", Microsoft.OpenApi.JsonSchemaType.Integer, "Picture height.", 1, 100_000),
                new DocumentedQuery("favourites", Microsoft.OpenApi.JsonSchemaType.Boolean, "true: favourite pictures only."),
                new DocumentedQuery("page", Microsoft.OpenApi.JsonSchemaType.Integer, "0-based page.", 0, int.MaxValue),
                new DocumentedQuery("pageSize", Microsoft.OpenApi.JsonSchemaType.Integer, "Pictures per page (default 48).", 1, MaxPageSize))
            .Produces<HistoryPageDto>()
            .ProducesValidationProblem()
            .WithSummary("Images newest first. user=mine|everyone|<name>, text, from, to (ISO 8601; to exclusive), size=WxH or width/height, favourites=true, page (0-based), pageSize (1-200).");
        return api;
    }

    private static async Task<IResult> ServeAsync(long id, bool thumb, HttpContext http, IHistoryService history, ImageFiles files)
    {
        var record = await VisibleAsync(id, http, history);
        if (record is null)
            return NotFound(id);
        var path = Path.GetFullPath(thumb ? record.ThumbnailPath : record.FilePath);
        // The engine's picture folder: the output folder, or the shared one with PostgreSQL (docs/scale-out.md).
        var root = files.OutputRoot;
        if (!path.StartsWith(Path.TrimEndingDirectorySeparator(root) + Path.DirectorySeparatorChar, StringComparison.Ordinal) || !File.Exists(path))
            return NotFound(id);
        var name = $"zimage-{record.Id}{(thumb ? "-thumb" : "")}.png";
        return TypedResults.PhysicalFile(path, "image/png", name, lastModified: record.CreatedAt,
            entityTag: new EntityTagHeaderValue($"\"{record.Id}{(thumb ? "t" : "")}\""), enableRangeProcessing: true);
    }

    /// <summary>The record if the caller may see it; pictures they may not see look missing, so ids cannot be probed.</summary>
    private static async Task<ImageRecord?> VisibleAsync(long id, HttpContext http, IHistoryService history)
    {
        var record = await history.GetImageAsync(id, http.RequestAborted);
        if (record is null)
            return null;
        return record.VisibleTo(http.Caller()) ? record : null;
    }

    private static async Task<IResult> SetFavourite(long id, HttpContext http, IHistoryService history)
    {
        var body = await ApiJson.ReadAsync<FavouriteRequest>(http);
        if (body.Error is not null)
            return body.Error;
        if (body.Value!.Favourite is not { } favourite)
            return ApiProblems.Invalid("favourite", "favourite is required (true or false).");
        if (await VisibleAsync(id, http, history) is null)
            return NotFound(id);
        if (!await history.SetFavouriteAsync(id, favourite, http.Caller(), http.RequestAborted))
            return ApiProblems.Status(StatusCodes.Status403Forbidden, $"Image {id} belongs to another user; only its owner or an admin may mark it as a favourite.");
        return await history.GetImageAsync(id, http.RequestAborted) is { } updated ? TypedResults.Ok(ImageDto.From(updated)) : NotFound(id);
    }

    private static async Task<IResult> History(HttpContext http, IHistoryService history)
    {
        var caller = http.Caller();
        var q = new ApiQuery(http.Request);
        var user = q.String("user") ?? "mine";
        var text = q.String("text");
        var from = q.Date("from");
        var to = q.Date("to");
        var width = q.Int("width", 1, 100_000);
        var height = q.Int("height", 1, 100_000);
        var favourites = q.Bool("favourites");
        var page = q.Int("page", 0, int.MaxValue);
        var pageSize = q.Int("pageSize", 1, MaxPageSize);
        if (q.String("size") is { } size)
        {
            var parts = size.Split('x', 'X');
            if (parts.Length == 2 && int.TryParse(parts[0], out var w) && int.TryParse(parts[1], out var h) && w is >= 1 and <= 100_000 && h is >= 1 and <= 100_000)
                (width, height) = (w, h);
            else
                q.Fail("size", $"size must look like 1024x768 (got '{size}').");
        }
        if (from is not null && to is not null && from >= to)
            q.Fail("to", $"to ({to:O}) must be after from ({from:O}).");
        if (text is { Length: > 500 })
            q.Fail("text", $"text must be at most 500 characters (got {text.Length}).");
        if (q.Error is not null)
            return q.Error;

        string? userName = user switch
        {
            _ when user.Equals("mine", StringComparison.OrdinalIgnoreCase) => caller.UserName,
            _ when user.Equals("everyone", StringComparison.OrdinalIgnoreCase) || user == "*" => null,
            _ => user,
        };
        var query = new HistoryQuery
        {
            Viewer = caller,
            UserName = userName,
            Text = string.IsNullOrWhiteSpace(text) ? null : text.Trim(),
            From = from,
            To = to,
            Width = width,
            Height = height,
            FavouritesOnly = favourites ?? false,
            Page = page ?? 0,
            PageSize = pageSize ?? new HistoryQuery().PageSize,
        };
        var result = await history.QueryAsync(query, http.RequestAborted);
        return TypedResults.Ok(new HistoryPageDto([.. result.Items.Select(ImageDto.From)], result.TotalCount, result.Page, result.PageSize));
    }

    private static IResult NotFound(long id) => ApiProblems.Status(StatusCodes.Status404NotFound, $"No image {id} that you can see.");
}
