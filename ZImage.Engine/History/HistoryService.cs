namespace ZImage.Engine.History;

/// <summary>Pictures only: reads and changes image rows and files; jobs are the queue's business.</summary>
public sealed class HistoryService(IPictureStore store, PictureSharing sharing) : IHistoryService
{
    public Task<HistoryPage> QueryAsync(HistoryQuery query, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        return store.QueryImagesAsync(query, ct);
    }

    public Task<ImageRecord?> GetImageAsync(long imageId, CancellationToken ct = default) => store.GetImageAsync(imageId, ct);

    public async Task<bool> SetFavouriteAsync(long imageId, bool favourite, Caller caller, CancellationToken ct = default)
    {
        var image = await store.GetImageAsync(imageId, ct);
        if (image is null || !caller.CanManage(image.UserName))
            return false;
        return await store.SetFavouriteAsync(imageId, favourite, ct);
    }

    public async Task<bool> DeleteImageAsync(long imageId, Caller caller, CancellationToken ct = default)
    {
        var image = await store.GetImageAsync(imageId, ct);
        if (image is null || !caller.CanManage(image.UserName))
            return false;
        return await DeleteAsync(store, image, ct);
    }

    public async Task<bool> SharesAsync(Caller person, CancellationToken ct = default)
    {
        return person.Shares(await sharing.ReadAsync(person.UserName, ct));
    }

    public async Task SetSharingAsync(Caller person, bool shares, CancellationToken ct = default)
    {
        await sharing.SetAsync(person.UserName, shares, ct);
    }

    public event Action<string> SharingChanged
    {
        add => sharing.Changed += value;
        remove => sharing.Changed -= value;
    }

    public async Task<bool> IsNameInUseAsync(string userName, CancellationToken ct = default)
    {
        return await store.FindOwnerAsync(userName, ct) is not null;
    }

    /// <summary>Row first, then files: a crash in between leaves files that start-up reconciliation removes.</summary>
    internal static async Task<bool> DeleteAsync(IPictureStore store, ImageRecord image, CancellationToken ct)
    {
        if (!await store.DeleteImageRowAsync(image.Id, ct))
            return false;
        ImageFiles.DeleteQuietly(image.FilePath, image.ThumbnailPath);
        return true;
    }
}
