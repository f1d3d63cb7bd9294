using ZImage.Engine.History;
using ZImage.Engine.Jobs;
using ZImage.Web.Ui.Identity;

namespace ZImage.Web.Ui.History;

public enum HistoryOwner
{
    Mine,
    Everyone,
}

public enum HistoryPeriod
{
    AnyTime,
    Today,
    Last7Days,
    Last30Days,
}

/// <summary>The History tab's filters, page and selection, turned into one <see cref="HistoryQuery"/>.</summary>
public sealed class HistoryBrowser
{
    public const int PageSize = 24;

    private readonly IHistoryService _history;
    private readonly UiUser _user;
    private readonly TimeProvider _clock;
    private readonly HashSet<long> _selected = [];

    public HistoryBrowser(IHistoryService history, UiUser user, TimeProvider clock)
    {
        _history = history;
        _user = user;
        _clock = clock;
    }

    public string Search { get; set; } = "";
    /// <summary>
    /// Mine, or everyone's that this person may see: the query carries the person as its viewer, so the engine's one rule
    /// (<see cref="Caller.CanSee"/>) decides which of others' pictures are listed (those whose owner shares them).
    /// </summary>
    public HistoryOwner Owner { get; set; } = HistoryOwner.Mine;
    public HistoryPeriod Period { get; set; } = HistoryPeriod.AnyTime;
    /// <summary>"1024x1024" or null for any size.</summary>
    public string? Size { get; set; }
    public bool FavouritesOnly { get; set; }
    public int Page { get; private set; }

    public HistoryPage? Current { get; private set; }
    public string? FailureDetail { get; private set; }

    public int PageCount => Current is null ? 0 : Math.Max(1, (Current.TotalCount + PageSize - 1) / PageSize);

    public IReadOnlyCollection<long> Selected => _selected;

    /// <summary>
    /// How long the picture took: its job's GPU time shared out over the job's pictures. Shown to those who may manage the
    /// job (its owner, an admin), as the job itself is; nothing before the time was measured.
    /// </summary>
    public PictureTimeShare? TimeOf(ImageRecord image) =>
        image.JobGpuTime > TimeSpan.Zero && _user.Caller.CanManage(image.UserName)
            ? new PictureTimeShare(image.JobGpuTime, Math.Max(1, image.JobPictureCount))
            : null;

    public HistoryQuery BuildQuery()
    {
        var today = new DateTimeOffset(_clock.GetLocalNow().Date, _clock.GetLocalNow().Offset);
        var (width, height) = ParseSize(Size);
        return new HistoryQuery
        {
            Viewer = _user.Viewer,
            UserName = Owner == HistoryOwner.Mine ? _user.Name : null,
            Text = string.IsNullOrWhiteSpace(Search) ? null : Search.Trim(),
            From = Period switch
            {
                HistoryPeriod.Today => today,
                HistoryPeriod.Last7Days => today.AddDays(-6),
                HistoryPeriod.Last30Days => today.AddDays(-29),
                _ => null,
            },
            Width = width,
            Height = height,
            FavouritesOnly = FavouritesOnly,
            Page = Page,
            PageSize = PageSize,
        };
    }

    /// <summary>Filters changed: back to the first page.</summary>
    public Task ApplyAsync(CancellationToken ct = default)
    {
        Page = 0;
        return LoadAsync(ct);
    }

    public Task GoToAsync(int page, CancellationToken ct = default)
    {
        Page = Math.Clamp(page, 0, Math.Max(0, PageCount - 1));
        return LoadAsync(ct);
    }

    public async Task LoadAsync(CancellationToken ct = default)
    {
        try
        {
            Current = await _history.QueryAsync(BuildQuery(), ct);
            FailureDetail = null;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            FailureDetail = e.Message;
        }
    }

    public void ToggleSelected(long id)
    {
        if (!_selected.Remove(id))
            _selected.Add(id);
    }

    public void ClearSelection() => _selected.Clear();

    public void SelectPage()
    {
        foreach (var image in Current?.Items ?? [])
            _selected.Add(image.Id);
    }

    /// <summary>Makes a picture a favourite, or a favourite an ordinary picture again; false when it is gone or not the person's to change.</summary>
    public async Task<bool> ToggleStarAsync(ImageRecord image, CancellationToken ct = default)
    {
        var changed = await _history.SetFavouriteAsync(image.Id, !image.Favourite, _user.Caller, ct);
        await LoadAsync(ct);
        return changed;
    }

    /// <summary>
    /// Adds every selected picture the person may change to their favourites, or takes it out (<paramref name="favourite"/>
    /// false); idempotent, so pictures already in that state stay as they are. Returns how many the person could change.
    /// </summary>
    public async Task<int> FavouriteSelectedAsync(bool favourite = true, CancellationToken ct = default)
    {
        var changed = 0;
        foreach (var id in _selected.ToList())
            changed += await _history.SetFavouriteAsync(id, favourite, _user.Caller, ct) ? 1 : 0;
        await LoadAsync(ct);
        return changed;
    }

    public async Task<bool> DeleteAsync(long id, CancellationToken ct = default) => await DeleteManyAsync([id], ct) == 1;

    /// <summary>Deletes exactly the selected pictures (those the person may delete) and clears the selection.</summary>
    public Task<int> DeleteSelectedAsync(CancellationToken ct = default) => DeleteManyAsync(_selected.ToList(), ct);

    private async Task<int> DeleteManyAsync(IReadOnlyList<long> ids, CancellationToken ct)
    {
        var deleted = 0;
        foreach (var id in ids)
        {
            deleted += await _history.DeleteImageAsync(id, _user.Caller, ct) ? 1 : 0;
            _selected.Remove(id);
        }
        await LoadAsync(ct);
        if (Current is { Items.Count: 0 } && Page > 0)
            await GoToAsync(Page - 1, ct);
        return deleted;
    }

    public static (int? Width, int? Height) ParseSize(string? size)
    {
        var parts = (size ?? "").Split('x');
        return parts.Length == 2 && int.TryParse(parts[0], out var w) && int.TryParse(parts[1], out var h) ? (w, h) : (null, null);
    }
}

/// <summary>A job's GPU time shared out over its pictures: what one picture took is the job's time divided by the count.</summary>
public sealed record PictureTimeShare(TimeSpan JobGpuTime, int Pictures)
{
    public TimeSpan PerPicture => JobGpuTime / Pictures;
}
