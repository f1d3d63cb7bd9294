using ZImage.Engine.Imaging;
using ZImage.Engine.Jobs;
using ZImage.Engine.Pipeline;

namespace ZImage.Engine.History;

/// <summary>
/// The gallery: every image with its parameters. Who sees a picture is <see cref="Caller.CanSee"/>: a query with a
/// <see cref="HistoryQuery.Viewer"/> lists only what that person may see, and one picture is checked with
/// <see cref="ImageRecord.VisibleTo"/>. Changes need the owner or an admin.
/// </summary>
public interface IHistoryService
{
    Task<HistoryPage> QueryAsync(HistoryQuery query, CancellationToken ct = default);

    Task<ImageRecord?> GetImageAsync(long imageId, CancellationToken ct = default);

    /// <summary>False when the image does not exist or the caller may not change it.</summary>
    Task<bool> SetFavouriteAsync(long imageId, bool favourite, Caller caller, CancellationToken ct = default);

    /// <summary>Deletes the image's row, file and thumbnail. False when missing or not allowed.</summary>
    Task<bool> DeleteImageAsync(long imageId, Caller caller, CancellationToken ct = default);

    /// <summary>Whether the person shares their pictures with the team: their own choice, else the studio's default.</summary>
    Task<bool> SharesAsync(Caller person, CancellationToken ct = default);

    /// <summary>Records the person's choice; History, the picture files and the queue follow it from the next request.</summary>
    Task SetSharingAsync(Caller person, bool shares, CancellationToken ct = default);

    /// <summary>
    /// Someone's choice to share changed, here or (PostgreSQL) in another studio process: their name. A page showing the
    /// queue draws it again (a shared prompt appears or goes). Raised on the thread that learnt it; be quick.
    /// </summary>
    event Action<string> SharingChanged;

    /// <summary>Whether anyone has made a job under this name here (compared as <see cref="Caller.NameComparer"/>).</summary>
    Task<bool> IsNameInUseAsync(string userName, CancellationToken ct = default);
}

/// <summary>
/// Filters combine with AND. <see cref="Text"/> searches prompts (FTS5 word-prefix match where the
/// SQLite build has it, else a substring match). Dates are inclusive of <see cref="From"/>, exclusive of <see cref="To"/>.
/// </summary>
public sealed record HistoryQuery
{
    /// <summary>
    /// Who is looking: only the pictures <see cref="Caller.CanSee"/> lets them see are listed (their own, every picture for
    /// an admin, others' where the owner shares). Null: no one's rule, every picture (the studio's own upkeep, benches).
    /// </summary>
    public Caller? Viewer { get; init; }
    /// <summary>Only this person's pictures (still within what <see cref="Viewer"/> may see).</summary>
    public string? UserName { get; init; }
    public string? Text { get; init; }
    public DateTimeOffset? From { get; init; }
    public DateTimeOffset? To { get; init; }
    public int? Width { get; init; }
    public int? Height { get; init; }
    public bool FavouritesOnly { get; init; }
    /// <summary>0-based.</summary>
    public int Page { get; init; }
    public int PageSize { get; init; } = 48;
}

/// <summary>Newest first.</summary>
public sealed record HistoryPage(IReadOnlyList<ImageRecord> Items, int TotalCount, int Page, int PageSize);

/// <summary>
/// One stored image. <see cref="FilePath"/> and <see cref="ThumbnailPath"/> are absolute and always
/// under the output folder (the store builds them; a request never supplies a path).
/// <see cref="Parameters"/> has the image's own seed (job seed + index) and Count = 1, ready for "reuse settings".
/// </summary>
public sealed record ImageRecord(
    long Id,
    string JobId,
    string UserName,
    int Index,
    string FilePath,
    string ThumbnailPath,
    int Width,
    int Height,
    long Seed,
    bool Favourite,
    DateTimeOffset CreatedAt,
    GenerationRequest Parameters)
{
    /// <summary>The model that made the picture, as its PNG says; the default name for pictures stored before it was kept.</summary>
    public string Model { get; init; } = ImageSettings.DefaultModel;

    /// <summary>The GPU time of the job that made the picture (zero before it was measured), read with the picture so a
    /// page of history costs one query, not one job lookup per card.</summary>
    public TimeSpan JobGpuTime { get; init; }

    /// <summary>How many stored pictures that job made: the job's time is shared out over them.</summary>
    public int JobPictureCount { get; init; }

    /// <summary>The owner's choice to share their pictures with the team; null when they never chose.</summary>
    public bool? OwnerShares { get; init; }

    /// <summary>The one picture rule (<see cref="Caller.CanSee"/>) applied to this picture.</summary>
    public bool VisibleTo(Caller caller) => caller.CanSee(UserName, OwnerShares);
}
