using System.Data.Common;
using System.Globalization;
using System.Text.Json;
using ZImage.Engine.Jobs.Batches;

namespace ZImage.Engine.Jobs;

/// <summary>
/// The batch statements and row mapping both stores share (<see cref="IBatchStore"/>). Parameters are written <c>@name</c>,
/// which SQLite and PostgreSQL both accept; only taking over a batch differs (see the stores).
/// </summary>
internal static class BatchRows
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public const string InsertBatch = """
        INSERT INTO batches(id, user_name, name, status, cancel_requested, created_at, finished_at, error, runner, lease_until)
        VALUES (@id, @user, @name, @status, @cancel, @created, @finished, @error, @runner, @lease)
        """;

    public const string InsertItem = """
        INSERT INTO batch_items(batch_id, idx, line, settings, seed_policy, state, job_id, image_ids, error)
        VALUES (@batch, @idx, @line, @settings, @policy, @state, @job, @images, @error)
        """;

    public const string SaveItem = "UPDATE batch_items SET state = @state, job_id = @job, image_ids = @images, error = @error WHERE batch_id = @batch AND idx = @idx";

    /// <summary>Items never submitted (the batch was cancelled, or stopped) end as cancelled with it.</summary>
    public const string Finish = """
        UPDATE batch_items SET state = 'Cancelled' WHERE batch_id = @id AND state = 'Pending';
        UPDATE batches SET status = @status, finished_at = @at, error = @error, runner = NULL, lease_until = NULL WHERE id = @id;
        """;

    public const string RequestCancel = "UPDATE batches SET cancel_requested = 1 WHERE id = @id AND status = 'Running'";

    public const string SelectBatch = "SELECT id, user_name, name, status, cancel_requested, created_at, finished_at, error FROM batches WHERE id = @id";

    public const string SelectItems = "SELECT idx, line, settings, seed_policy, state, job_id, image_ids, error FROM batch_items WHERE batch_id = @id ORDER BY idx";

    public const string ListIds = "SELECT id FROM batches WHERE lower(user_name) = lower(@user) ORDER BY created_at DESC, id DESC LIMIT @limit";

    public const string Renew = "UPDATE batches SET lease_until = @lease WHERE id = @id AND runner = @runner AND status = 'Running' RETURNING cancel_requested";

    public const string Release = "UPDATE batches SET runner = NULL, lease_until = NULL WHERE id = @id AND runner = @runner";

    public static (string, object?)[] BatchArgs(StoredBatch b, string runner, DateTimeOffset leaseUntil) =>
    [
        ("@id", b.Id), ("@user", b.UserName), ("@name", b.Name), ("@status", b.Status.ToString()), ("@cancel", b.CancelRequested ? 1 : 0),
        ("@created", b.CreatedAt.ToUnixTimeMilliseconds()), ("@finished", b.FinishedAt?.ToUnixTimeMilliseconds()), ("@error", b.Error),
        ("@runner", runner), ("@lease", leaseUntil.ToUnixTimeMilliseconds()),
    ];

    /// <summary>The whole item, for <see cref="InsertItem"/>.</summary>
    public static (string, object?)[] ItemArgs(string batchId, StoredBatchItem i) =>
    [
        .. StateArgs(batchId, i), ("@line", i.Item.Line), ("@settings", JsonSerializer.Serialize(i.Item.Settings, Json)), ("@policy", i.Item.SeedPolicy.ToString()),
    ];

    /// <summary>What changes as the batch runs, for <see cref="SaveItem"/>.</summary>
    public static (string, object?)[] StateArgs(string batchId, StoredBatchItem i) =>
    [
        ("@batch", batchId), ("@idx", i.Index), ("@state", i.State.ToString()), ("@job", i.JobId),
        ("@images", i.ImageIds is null ? null : string.Join(',', i.ImageIds.Select(id => id.ToString(CultureInfo.InvariantCulture)))), ("@error", i.Error),
    ];

    public static (string, object?)[] FinishArgs(string batchId, BatchStatus status, DateTimeOffset at, string? error) =>
        [("@id", batchId), ("@status", status.ToString()), ("@at", at.ToUnixTimeMilliseconds()), ("@error", error)];

    public static (string, object?)[] LeaseArgs(string batchId, string runner, DateTimeOffset leaseUntil) =>
        [("@id", batchId), ("@runner", runner), ("@lease", leaseUntil.ToUnixTimeMilliseconds())];

    public static StoredBatchItem ReadItem(DbDataReader r) => new(
        Convert.ToInt32(r.GetValue(0)),
        new BatchItem(Convert.ToInt32(r.GetValue(1)), JsonSerializer.Deserialize<GenerationRequest>(r.GetString(2), Json)!, Enum.Parse<SeedPolicy>(r.GetString(3))),
        Enum.Parse<BatchItemState>(r.GetString(4)),
        r.IsDBNull(5) ? null : r.GetString(5),
        r.IsDBNull(6) ? null : [.. r.GetString(6).Split(',', StringSplitOptions.RemoveEmptyEntries).Select(s => long.Parse(s, CultureInfo.InvariantCulture))],
        r.IsDBNull(7) ? null : r.GetString(7));

    /// <summary>The batch row of <see cref="SelectBatch"/> with its items.</summary>
    public static StoredBatch ReadBatch(DbDataReader r, IReadOnlyList<StoredBatchItem> items) => new(
        r.GetString(0), r.GetString(1), r.GetString(2), Enum.Parse<BatchStatus>(r.GetString(3)), Convert.ToInt64(r.GetValue(4)) != 0,
        StoreRows.FromMs(r.GetInt64(5)), r.IsDBNull(6) ? null : StoreRows.FromMs(r.GetInt64(6)), r.IsDBNull(7) ? null : r.GetString(7), items);
}
