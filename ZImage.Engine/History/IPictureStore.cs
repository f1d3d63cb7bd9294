namespace ZImage.Engine.History;

/// <summary>
/// The pictures' rows: what history reads and changes. The jobs' store implements it (a job's pictures go in with its
/// success, in one transaction); history never sees jobs.
/// </summary>
public interface IPictureStore
{
    Task<HistoryPage> QueryImagesAsync(HistoryQuery query, CancellationToken ct = default);

    Task<ImageRecord?> GetImageAsync(long imageId, CancellationToken ct = default);

    Task<bool> SetFavouriteAsync(long imageId, bool favourite, CancellationToken ct = default);

    /// <summary>Removes the row only; the caller deletes files after (a file without a row is cleaned at start-up).</summary>
    Task<bool> DeleteImageRowAsync(long imageId, CancellationToken ct = default);

    /// <summary>Oldest first, favourites excluded.</summary>
    Task<IReadOnlyList<ImageRecord>> ListImagesCreatedBeforeAsync(DateTimeOffset cutoff, int limit, CancellationToken ct = default);

    /// <summary>Every image's paths relative to the output folder (start-up reconciliation).</summary>
    Task<IReadOnlyList<StoredImagePaths>> ListImagePathsAsync(CancellationToken ct = default);

    /// <summary>A person known to the store (someone made a job under the name); null when the name is new here.</summary>
    Task<PictureOwner?> FindOwnerAsync(string userName, CancellationToken ct = default);

    /// <summary>Records the person's choice to share their pictures, adding the name when it is new.</summary>
    Task SetSharingAsync(string userName, bool shares, CancellationToken ct = default);
}

/// <summary>A name pictures belong to, as stored; <see cref="Shares"/> is their choice, null when they never made one.</summary>
public sealed record PictureOwner(string Name, bool? Shares);

/// <summary>
/// A picture's row. Paths are relative to the output folder, with forward slashes. Model: the manifest's model name
/// (the self-test model says so); null when unknown.
/// </summary>
public sealed record NewImage(int Index, string RelativePath, string RelativeThumbnailPath, int Width, int Height, long Seed, DateTimeOffset CreatedAt,
    string? Model = null);

public sealed record StoredImagePaths(long Id, string RelativePath, string RelativeThumbnailPath);
