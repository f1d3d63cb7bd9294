using System.Data;
using Npgsql;
using ZImage.Engine.Jobs.Batches;

namespace ZImage.Engine.Jobs;

/// <summary>
/// Batches in PostgreSQL (<see cref="IBatchStore"/>): any process answers for any batch; the one that feeds it holds a
/// lease, and when that process stops answering another takes the batch over.
/// </summary>
public sealed partial class PostgresJobStore : IBatchStore
{
    public async Task InsertBatchAsync(StoredBatch batch, string runner, DateTimeOffset leaseUntil, CancellationToken ct = default)
    {
        await using var c = await _source.OpenConnectionAsync(ct);
        await using var t = await c.BeginTransactionAsync(ct);
        await ExecAsync(c, t, BatchRows.InsertBatch, ct, BatchRows.BatchArgs(batch, runner, leaseUntil));
        // One round trip for all items: a batch may hold 10,000.
        var insert = new NpgsqlBatch(c, t);
        foreach (var item in batch.Items)
        {
            var command = new NpgsqlBatchCommand(BatchRows.InsertItem);
            foreach (var (name, value) in BatchRows.ItemArgs(batch.Id, item))
                command.Parameters.AddWithValue(name, value ?? DBNull.Value);
            insert.BatchCommands.Add(command);
        }
        await using (insert)
            await insert.ExecuteNonQueryAsync(ct);
        await t.CommitAsync(ct);
    }

    public async Task SaveBatchItemAsync(string batchId, StoredBatchItem item, CancellationToken ct = default)
    {
        await using var c = await _source.OpenConnectionAsync(ct);
        await ExecAsync(c, null, BatchRows.SaveItem, ct, BatchRows.StateArgs(batchId, item));
    }

    public async Task FinishBatchAsync(string batchId, BatchStatus status, DateTimeOffset at, string? error, CancellationToken ct = default)
    {
        await using var c = await _source.OpenConnectionAsync(ct);
        await ExecAsync(c, null, BatchRows.Finish, ct, BatchRows.FinishArgs(batchId, status, at, error));
    }

    public async Task<bool> RequestBatchCancelAsync(string batchId, CancellationToken ct = default)
    {
        await using var c = await _source.OpenConnectionAsync(ct);
        return await ExecAsync(c, null, BatchRows.RequestCancel, ct, ("@id", batchId)) == 1;
    }

    public async Task<StoredBatch?> GetBatchAsync(string batchId, CancellationToken ct = default)
    {
        await using var c = await _source.OpenConnectionAsync(ct);
        return await ReadBatchAsync(c, batchId, ct);
    }

    public async Task<IReadOnlyList<string>> ListBatchIdsAsync(string userName, int limit, CancellationToken ct = default)
    {
        await using var c = await _source.OpenConnectionAsync(ct);
        await using var cmd = Command(c, null, BatchRows.ListIds, ("@user", userName), ("@limit", limit));
        await using var r = await cmd.ExecuteReaderAsync(ct);
        var ids = new List<string>();
        while (await r.ReadAsync(ct))
            ids.Add(r.GetString(0));
        return ids;
    }

    /// <summary>Only batches whose runner let go (shutdown) or stopped renewing: the others are being fed by a live process.</summary>
    public async Task<IReadOnlyList<StoredBatch>> TakeOverBatchesAsync(string runner, DateTimeOffset now, DateTimeOffset leaseUntil, CancellationToken ct = default)
    {
        await using var c = await _source.OpenConnectionAsync(ct);
        var ids = new List<string>();
        await using (var cmd = Command(c, null, """
            UPDATE batches SET runner = @runner, lease_until = @lease
            WHERE status = 'Running' AND (runner IS NULL OR lease_until < @now) RETURNING id
            """, ("@runner", runner), ("@lease", leaseUntil.ToUnixTimeMilliseconds()), ("@now", now.ToUnixTimeMilliseconds())))
        await using (var r = await cmd.ExecuteReaderAsync(ct))
        {
            while (await r.ReadAsync(ct))
                ids.Add(r.GetString(0));
        }
        var batches = new List<StoredBatch>();
        foreach (var id in ids)
        {
            if (await ReadBatchAsync(c, id, ct) is { } batch)
                batches.Add(batch);
        }
        return [.. batches.OrderBy(b => b.CreatedAt)];
    }

    public async Task<BatchLease> RenewBatchAsync(string batchId, string runner, DateTimeOffset leaseUntil, CancellationToken ct = default)
    {
        await using var c = await _source.OpenConnectionAsync(ct);
        await using var cmd = Command(c, null, BatchRows.Renew, BatchRows.LeaseArgs(batchId, runner, leaseUntil));
        await using var r = await cmd.ExecuteReaderAsync(ct);
        return await r.ReadAsync(ct) ? new BatchLease(true, r.GetInt32(0) != 0) : new BatchLease(false, false);
    }

    public async Task ReleaseBatchAsync(string batchId, string runner, CancellationToken ct = default)
    {
        await using var c = await _source.OpenConnectionAsync(ct);
        await ExecAsync(c, null, BatchRows.Release, ct, ("@id", batchId), ("@runner", runner));
    }

    /// <summary>
    /// The items and the batch row from one snapshot. Read apart, a finish committed between the two reads (it marks the
    /// pending items cancelled and the batch ended in one go) showed an ended batch whose items were still pending.
    /// </summary>
    private static async Task<StoredBatch?> ReadBatchAsync(NpgsqlConnection c, string batchId, CancellationToken ct)
    {
        await using var t = await c.BeginTransactionAsync(IsolationLevel.RepeatableRead, ct);
        var items = new List<StoredBatchItem>();
        await using (var cmd = Command(c, t, BatchRows.SelectItems, ("@id", batchId)))
        await using (var r = await cmd.ExecuteReaderAsync(ct))
        {
            while (await r.ReadAsync(ct))
                items.Add(BatchRows.ReadItem(r));
        }
        StoredBatch? batch = null;
        await using (var cmd = Command(c, t, BatchRows.SelectBatch, ("@id", batchId)))
        await using (var b = await cmd.ExecuteReaderAsync(ct))
        {
            if (await b.ReadAsync(ct))
                batch = BatchRows.ReadBatch(b, items);
        }
        await t.CommitAsync(ct);
        return batch;
    }
}
