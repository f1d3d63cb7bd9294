using System.IO.Compression;
using ZImage.Engine.History;
using ZImage.Web.Api.Auth;

namespace ZImage.Web.Ui.Images;

/// <summary>
/// Pictures for the pages (the API's are Api/Images/ImageEndpoints): the browser loads thumbnails and full images by id.
/// Who may see one is the engine's rule (<see cref="Caller.CanSee"/>), for a caller resolved the way
/// the API resolves one: the sign-in cookie in accounts mode, the name cookie in open mode. Paths come from the history
/// store (always under the output folder); a request never names a file.
/// </summary>
public static class PageImageEndpoints
{
    public const int MaxZipImages = 500;

    public static string Thumbnail(long id) => $"ui/images/{id}/thumb";
    public static string Full(long id) => $"ui/images/{id}";
    public static string Download(long id) => $"ui/images/{id}/download";
    public static string Zip(IEnumerable<long> ids) => $"ui/images/zip?ids={string.Join(',', ids)}";

    public static IEndpointConventionBuilder MapZImageImages(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/ui/images").WithMetadata(new SignedInBrowserMayCall());
        group.MapGet("/{id:long}", (long id, HttpContext http, IHistoryService history, CancellationToken ct) => Serve(id, http, history, thumbnail: false, download: false, ct));
        group.MapGet("/{id:long}/thumb", (long id, HttpContext http, IHistoryService history, CancellationToken ct) => Serve(id, http, history, thumbnail: true, download: false, ct));
        group.MapGet("/{id:long}/download", (long id, HttpContext http, IHistoryService history, CancellationToken ct) => Serve(id, http, history, thumbnail: false, download: true, ct));
        group.MapGet("/zip", ZipAsync);
        return group;
    }

    private static async Task<IResult> Serve(long id, HttpContext http, IHistoryService history, bool thumbnail, bool download, CancellationToken ct)
    {
        var image = await VisibleAsync(id, http, history, ct);
        var path = image is null ? null : thumbnail ? image.ThumbnailPath : image.FilePath;
        if (image is null || path is null || !File.Exists(path))
            return Results.NotFound();
        return Results.File(path, "image/png", download ? FileName(image) : null, enableRangeProcessing: false);
    }

    private static async Task ZipAsync(HttpContext http, IHistoryService history, string? ids, CancellationToken ct)
    {
        var wanted = (ids ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries)
            .Select(s => long.TryParse(s, out var v) ? v : -1).Where(v => v > 0).Distinct().Take(MaxZipImages + 1).ToList();
        if (wanted.Count is 0 or > MaxZipImages)
        {
            http.Response.StatusCode = StatusCodes.Status400BadRequest;
            await http.Response.WriteAsync($"ids: give between 1 and {MaxZipImages} image ids, separated by commas.", ct);
            return;
        }
        // Built in a temporary file first: ZipArchive writes synchronously, which Kestrel refuses on the response
        // body, and a person's selection can be larger than we want in memory. PNGs are already compressed.
        await using var temporary = new FileStream(Path.GetTempFileName(), FileMode.Create, FileAccess.ReadWrite, FileShare.None, 81920, FileOptions.DeleteOnClose);
        using (var zip = new ZipArchive(temporary, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var id in wanted)
            {
                if (await VisibleAsync(id, http, history, ct) is { } image && File.Exists(image.FilePath))
                    zip.CreateEntryFromFile(image.FilePath, FileName(image), CompressionLevel.NoCompression);
            }
        }
        temporary.Position = 0;
        http.Response.ContentType = "application/zip";
        http.Response.ContentLength = temporary.Length;
        http.Response.Headers.ContentDisposition = $"attachment; filename=\"zimage-{DateTime.Now:yyyyMMdd-HHmmss}.zip\"";
        await temporary.CopyToAsync(http.Response.Body, ct);
    }

    /// <summary>Someone else's picture that the caller may not see answers as missing, so ids cannot be probed.</summary>
    private static async Task<ImageRecord?> VisibleAsync(long id, HttpContext http, IHistoryService history, CancellationToken ct)
    {
        var caller = (await http.RequestServices.GetRequiredService<CallerResolver>().ResolveAsync(http)).Caller;
        var image = caller is null ? null : await history.GetImageAsync(id, ct);
        return image is not null && image.VisibleTo(caller!) ? image : null;
    }

    public static string FileName(ImageRecord image) => $"zimage-{image.CreatedAt:yyyyMMdd-HHmmss}-{image.Id}-seed{image.Seed}.png";
}
