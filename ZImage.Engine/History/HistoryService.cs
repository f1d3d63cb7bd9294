using ZImage.Engine.Jobs;

namespace ZImage.Engine.History;

public sealed class HistoryService(JobService jobs) : IHistoryService
{
    public async Task<HistoryPage> QueryAsync(HistoryQuery query, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        await jobs.EnsureInitializedAsync();
        return await jobs.Store.QueryImagesAsync(query, ct);
    }

    public async Task<ImageRecord?> GetImageAsync(long imageId, CancellationToken ct = default)
    {
        await jobs.EnsureInitializedAsync();
        return await jobs.Store.GetImageAsync(imageId, ct);
    }

    public async Task<bool> SetFavouriteAsync(long imageId, bool favourite, Caller caller, CancellationToken ct = default)
    {
        await jobs.EnsureInitializedAsync();
        var image = await jobs.Store.GetImageAsync(imageId, ct);
        if (image is null || !caller.CanManage(image.UserName))
            return false;
        return await jobs.Store.SetFavouriteAsync(imageId, favourite, ct);
    }

    public async Task<bool> DeleteImageAsync(long imageId, Caller caller, CancellationToken ct = default)
    {
        await jobs.EnsureInitializedAsync();
        var image = await jobs.Store.GetImageAsync(imageId, ct);
        if (image is null || !caller.CanManage(image.UserName))
            return false;
        return await DeleteAsync(jobs, image, ct);
    }

    /// <summary>Row first, then files: a crash in between leaves files that start-up reconciliation removes.</summary>
    internal static async Task<bool> DeleteAsync(JobService jobs, ImageRecord image, CancellationToken ct)
    {
        if (!await jobs.Store.DeleteImageRowAsync(image.Id, ct))
            return false;
        ImageFiles.DeleteQuietly(image.FilePath, image.ThumbnailPath);
        return true;
    }
}
