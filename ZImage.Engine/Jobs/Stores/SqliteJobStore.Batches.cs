using Microsoft.Data.Sqlite;
using ZImage.Engine.Jobs.Batches;

namespace ZImage.Engine.Jobs;

/// <summary>Batches in the studio's SQLite file (<see cref="IBatchStore"/>).</summary>
public sealed partial class SqliteJobStore : IBatchStore
{
    public Task InsertBatchAsync(StoredBatch batch, string runner, DateTimeOffset leaseUntil, CancellationToken ct = default) => WriteAsync(c =>
    {
        using var t = c.BeginTransaction();
        Exec(c, t, BatchRows.InsertBatch, BatchRows.BatchArgs(batch, runner, leaseUntil));
        foreach (var item in batch.Items)
            Exec(c, t, BatchRows.InsertItem, BatchRows.ItemArgs(batch.Id, item));
        t.Commit();
    }, ct);

    public Task SaveBatchItemAsync(string batchId, StoredBatchItem item, CancellationToken ct = default) => WriteAsync(c =>
        Exec(c, null, BatchRows.SaveItem, BatchRows.StateArgs(batchId, item)), ct);

    /// <summary>Its two statements in one transaction (SQLite commits each statement of a command on its own otherwise).</summary>
    public Task FinishBatchAsync(string batchId, BatchStatus status, DateTimeOffset at, string? error, CancellationToken ct = default) => WriteAsync(c =>
    {
        using var t = c.BeginTransaction();
        Exec(c, t, BatchRows.Finish, BatchRows.FinishArgs(batchId, status, at, error));
        t.Commit();
    }, ct);

    public async Task<bool> RequestBatchCancelAsync(string batchId, CancellationToken ct = default)
    {
        int changed = 0;
        await WriteAsync(c => changed = Exec(c, null, BatchRows.RequestCancel, ("@id", batchId)), ct);
        return changed == 1;
    }

    public Task<StoredBatch?> GetBatchAsync(string batchId, CancellationToken ct = default)
    {
        using var c = Open();
        return Task.FromResult(ReadBatch(c, batchId));
    }

    public Task<IReadOnlyList<string>> ListBatchIdsAsync(string userName, int limit, CancellationToken ct = default)
    {
        using var c = Open();
        using var cmd = Command(c, null, BatchRows.ListIds, ("@user", userName), ("@limit", limit));
        using var r = cmd.ExecuteReader();
        var ids = new List<string>();
        while (r.Read())
            ids.Add(r.GetString(0));
        return Task.FromResult<IReadOnlyList<string>>(ids);
    }

    /// <summary>One process per SQLite file: every running batch was fed by this process's predecessor, whatever its lease says.</summary>
    public async Task<IReadOnlyList<StoredBatch>> TakeOverBatchesAsync(string runner, DateTimeOffset now, DateTimeOffset leaseUntil, CancellationToken ct = default)
    {
        var ids = new List<string>();
        await WriteAsync(c =>
        {
            using var cmd = Command(c, null, "UPDATE batches SET runner = @runner, lease_until = @lease WHERE status = 'Running' RETURNING id",
                ("@runner", runner), ("@lease", leaseUntil.ToUnixTimeMilliseconds()));
            using var r = cmd.ExecuteReader();
            while (r.Read())
                ids.Add(r.GetString(0));
        }, ct);
        using var read = Open();
        return [.. ids.Select(id => ReadBatch(read, id)).OfType<StoredBatch>().OrderBy(b => b.CreatedAt)];
    }

    public async Task<BatchLease> RenewBatchAsync(string batchId, string runner, DateTimeOffset leaseUntil, CancellationToken ct = default)
    {
        var lease = new BatchLease(false, false);
        await WriteAsync(c =>
        {
            using var cmd = Command(c, null, BatchRows.Renew, BatchRows.LeaseArgs(batchId, runner, leaseUntil));
            using var r = cmd.ExecuteReader();
            if (r.Read())
                lease = new BatchLease(true, r.GetInt64(0) != 0);
        }, ct);
        return lease;
    }

    public Task ReleaseBatchAsync(string batchId, string runner, CancellationToken ct = default) => WriteAsync(c =>
        Exec(c, null, BatchRows.Release, ("@id", batchId), ("@runner", runner)), ct);

    /// <summary>
    /// The items and the batch row from one snapshot (a deferred transaction reads one WAL snapshot from its first read),
    /// so a finish written between the two reads cannot show an ended batch whose items are still pending.
    /// </summary>
    private static StoredBatch? ReadBatch(SqliteConnection c, string batchId)
    {
        using var t = c.BeginTransaction(deferred: true);
        var items = new List<StoredBatchItem>();
        using (var cmd = Command(c, t, BatchRows.SelectItems, ("@id", batchId)))
        using (var r = cmd.ExecuteReader())
        {
            while (r.Read())
                items.Add(BatchRows.ReadItem(r));
        }
        using var batch = Command(c, t, BatchRows.SelectBatch, ("@id", batchId));
        using var b = batch.ExecuteReader();
        return b.Read() ? BatchRows.ReadBatch(b, items) : null;
    }
}
