using System.Globalization;
using Npgsql;
using ZImage.Engine.History;

namespace ZImage.Engine.Jobs;

/// <summary>
/// Jobs, pictures' rows and timings in PostgreSQL, shared by several studio processes (docs/scale-out.md). The same schema
/// as SQLite (<see cref="StoreSchema"/>), times as Unix milliseconds. It is also the queue (<see cref="ISharedJobQueue"/>):
/// fair tags are stored at admission and workers claim with <c>FOR UPDATE SKIP LOCKED</c> under a lease.
/// </summary>
public sealed partial class PostgresJobStore : IJobStore, IPictureStore, ITimingStore, ISharedJobQueue, IPeopleStore
{
    /// <summary>NOTIFY channel: a job changed (payload <c>process|job id|version</c>); the receiver reads the row.</summary>
    public const string Channel = "zimage_jobs";

    /// <summary>NOTIFY channel: a person's choice to share their pictures changed (payload <c>process|name</c>); the receiver reads it.</summary>
    public const string SharingChannel = "zimage_sharing";

    /// <summary>This store's name in signals, so a process skips its own (process ids repeat across machines).</summary>
    private readonly string _instance = Guid.NewGuid().ToString("N")[..12];

    private const string ImageIdsSql = "(SELECT string_agg(id::text, ',' ORDER BY idx) FROM images WHERE job_id = j.id)";

    private readonly NpgsqlDataSource _source;
    private readonly string _outputRoot;

    public PostgresJobStore(string connectionString, string outputRoot)
    {
        _source = NpgsqlDataSource.Create(connectionString);
        _outputRoot = Path.GetFullPath(outputRoot);
    }

    public string ConnectionString => _source.ConnectionString;

    public int SchemaVersion { get; private set; }

    /// <summary>Null when Npgsql accepts the text; else why not (for start-up validation).</summary>
    public static string? CheckConnectionString(string connectionString)
    {
        try
        {
            var b = new NpgsqlConnectionStringBuilder(connectionString);
            return string.IsNullOrWhiteSpace(b.Host) ? "it names no Host (a server name, an address or a socket folder)" : null;
        }
        catch (ArgumentException e)
        {
            return e.Message;
        }
    }

    public async Task InitializeAsync(CancellationToken ct = default)
    {
        await using var c = await _source.OpenConnectionAsync(ct);
        await using var t = await c.BeginTransactionAsync(ct);
        // Several processes may start at once: one migrates, the others wait here and then find nothing to do.
        await ExecAsync(c, t, "SELECT pg_advisory_xact_lock(7860017)", ct);
        await ExecAsync(c, t, "CREATE TABLE IF NOT EXISTS schema_version(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)", ct);
        long current = await ScalarAsync<long>(c, t, "SELECT COALESCE(MAX(version), 0)::bigint FROM schema_version", ct);
        if (current > StoreSchema.Latest)
            throw new InvalidOperationException(StoreSchema.TooNew(current));
        foreach (var m in StoreSchema.Migrations.Where(m => m.Version > current))
        {
            if (m.PostgreSql is not null)
                await ExecAsync(c, t, m.PostgreSql, ct);
            await ExecAsync(c, t, "INSERT INTO schema_version(version, name, applied_at) VALUES (@v, @n, @t)", ct,
                ("v", m.Version), ("n", m.Name), ("t", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()));
        }
        await t.CommitAsync(ct);
        SchemaVersion = StoreSchema.Latest;
    }

    /// <summary>
    /// Other processes may be running jobs right now, so start-up does not touch running rows: only leases that ran out
    /// are re-queued. The queue lives in the database, so there is nothing to hand back for an in-memory queue.
    /// </summary>
    public async Task<IReadOnlyList<JobRecord>> RecoverAsync(DateTimeOffset now, CancellationToken ct = default)
    {
        await RequeueExpiredAsync(now, ct);
        return [];
    }

    public async Task InsertJobAsync(JobRecord job, CancellationToken ct = default)
    {
        await using var c = await _source.OpenConnectionAsync(ct);
        await using var t = await c.BeginTransactionAsync(ct);
        long userId = await EnsureUserAsync(c, t, job.UserName, job.SubmittedAt, ct);
        await InsertRowAsync(c, t, job, userId, null, null, ct);
        await t.CommitAsync(ct);
    }

    public async Task<Admission> AdmitAsync(JobRecord job, int maxQueuedPerUser, int maxQueuedTotal, CancellationToken ct = default)
    {
        await using var c = await _source.OpenConnectionAsync(ct);
        await using var t = await c.BeginTransactionAsync(ct);
        long userId = await EnsureUserAsync(c, t, job.UserName, job.SubmittedAt, ct);
        double lastFinish = await ScalarAsync<double>(c, t, "SELECT last_finish FROM users WHERE id = @u FOR UPDATE", ct, ("u", userId));
        int mine = (int)await ScalarAsync<long>(c, t, "SELECT count(*) FROM jobs WHERE user_id = @u AND status = 'Queued'", ct, ("u", userId));
        if (mine >= maxQueuedPerUser)
            return new Admission(AdmitOutcome.UserQueueFull, mine);
        int total = (int)await ScalarAsync<long>(c, t, "SELECT count(*) FROM jobs WHERE status = 'Queued'", ct);
        if (total >= maxQueuedTotal)
            return new Admission(AdmitOutcome.QueueFull, total);
        double virtualTime = await ScalarAsync<double>(c, t, "SELECT virtual_time FROM queue_clock WHERE id = 1", ct);
        double start = Math.Max(virtualTime, lastFinish), finish = start + job.Request.Cost;
        await InsertRowAsync(c, t, job, userId, start, finish, ct);
        await ExecAsync(c, t, "UPDATE users SET last_finish = @f WHERE id = @u", ct, ("f", finish), ("u", userId));
        await NotifyAsync(c, t, job.Id, ct);
        await t.CommitAsync(ct);
        return new Admission(AdmitOutcome.Admitted, mine + 1);
    }

    public async Task<JobRecord?> ClaimAsync(string worker, DateTimeOffset now, DateTimeOffset leaseUntil, Func<GenerationRequest, bool> canStart, CancellationToken ct = default)
    {
        await using var c = await _source.OpenConnectionAsync(ct);
        await using var t = await c.BeginTransactionAsync(ct);
        // One row at a time in fair order, skipping rows another worker is claiming right now (not waiting for them). A job
        // that does not fit this worker's GPU now stays locked until the end of this claim and is passed over, so it
        // does not block those behind it; a few such passes, then the worker waits for the next poll.
        var passedOver = new List<string>();
        for (int attempt = 0; attempt < 8; attempt++)
        {
            JobRecord? job = null;
            double tag = 0;
            await using (var cmd = Command(c, t, $"""
                SELECT {StoreRows.JobColumns}, NULL::text, j.start_tag FROM jobs j JOIN users u ON u.id = j.user_id
                WHERE j.status = 'Queued' AND NOT (j.id = ANY(@passed)) ORDER BY j.start_tag, j.seq LIMIT 1 FOR UPDATE OF j SKIP LOCKED
                """, ("passed", passedOver.ToArray())))
            await using (var r = await cmd.ExecuteReaderAsync(ct))
            {
                if (await r.ReadAsync(ct))
                    (job, tag) = (StoreRows.ReadJob(r), r.IsDBNull(24) ? 0 : r.GetDouble(24));
            }
            if (job is null)
                break;
            if (!canStart(job.Request))
            {
                passedOver.Add(job.Id);
                continue;
            }
            await ExecAsync(c, t, """
                UPDATE jobs SET status = 'Running', started_at = @now, worker = @w, lease_until = @lease, cancel_requested_by = NULL WHERE id = @id;
                UPDATE queue_clock SET virtual_time = GREATEST(virtual_time, @tag) WHERE id = 1;
                """, ct, ("id", job.Id), ("now", now.ToUnixTimeMilliseconds()), ("w", worker), ("lease", leaseUntil.ToUnixTimeMilliseconds()), ("tag", tag));
            await NotifyAsync(c, t, job.Id, ct);
            await t.CommitAsync(ct);
            return job with { Status = JobStatus.Running, StartedAt = now };
        }
        await t.RollbackAsync(ct);
        return null;
    }

    public async Task<Lease> RenewLeaseAsync(string jobId, string worker, DateTimeOffset leaseUntil, CancellationToken ct = default)
    {
        await using var c = await _source.OpenConnectionAsync(ct);
        await using var cmd = Command(c, null, """
            UPDATE jobs SET lease_until = @lease WHERE id = @id AND worker = @w AND status = 'Running' RETURNING cancel_requested_by
            """, ("id", jobId), ("w", worker), ("lease", leaseUntil.ToUnixTimeMilliseconds()));
        await using var r = await cmd.ExecuteReaderAsync(ct);
        return await r.ReadAsync(ct) ? new Lease(true, r.IsDBNull(0) ? null : r.GetString(0)) : new Lease(false, null);
    }

    public async Task<int> RequeueExpiredAsync(DateTimeOffset now, CancellationToken ct = default)
    {
        await using var c = await _source.OpenConnectionAsync(ct);
        await using var t = await c.BeginTransactionAsync(ct);
        await ExecAsync(c, t, """
            UPDATE jobs SET status = 'Interrupted', finished_at = @now, worker = NULL, lease_until = NULL,
                error = 'The worker running this job stopped answering; it had already been queued again after an earlier stop or card failure, so it was not started again.'
            WHERE status = 'Running' AND lease_until < @now AND restarts >= 1
            """, ct, ("now", now.ToUnixTimeMilliseconds()));
        var ids = new List<string>();
        await using (var cmd = Command(c, t, """
            UPDATE jobs SET status = 'Queued', started_at = NULL, worker = NULL, lease_until = NULL, restarts = restarts + 1,
                notice = 'The worker running this job stopped answering; it was queued again.'
            WHERE status = 'Running' AND lease_until < @now RETURNING id
            """, ("now", now.ToUnixTimeMilliseconds())))
        await using (var r = await cmd.ExecuteReaderAsync(ct))
        {
            while (await r.ReadAsync(ct))
                ids.Add(r.GetString(0));
        }
        foreach (var id in ids)
            await NotifyAsync(c, t, id, ct);
        await t.CommitAsync(ct);
        return ids.Count;
    }

    public Task<long> AddClaimedImageAsync(string jobId, string worker, NewImage image, CancellationToken ct = default) =>
        AddImageAsync(jobId, worker, image, ct);

    public Task<long> AddImageAsync(string jobId, NewImage image, CancellationToken ct = default) => AddImageAsync(jobId, null, image, ct);

    /// <summary>A picture's row while its job runs (only while <paramref name="worker"/>, when given, holds the job), and a signal.</summary>
    private async Task<long> AddImageAsync(string jobId, string? worker, NewImage image, CancellationToken ct)
    {
        await using var c = await _source.OpenConnectionAsync(ct);
        await using var t = await c.BeginTransactionAsync(ct);
        if (worker is not null)
        {
            // The same row lock as the completion: a worker whose lease ran out adds nothing to a job another worker runs.
            string? holder = await ScalarOrNullAsync<string>(c, t, "SELECT worker FROM jobs WHERE id = @id AND status = 'Running' FOR UPDATE", ct, ("id", jobId));
            if (holder != worker)
                throw new LeaseLostException(jobId);
        }
        var id = await InsertImageAsync(c, t, jobId, image, ct);
        // Other processes relay the picture to their watchers (on any signal of a job they read its pictures).
        await NotifyAsync(c, t, jobId, ct);
        await t.CommitAsync(ct);
        return id;
    }

    public async Task<IReadOnlyList<long>> CompleteClaimedAsync(string jobId, string worker, DateTimeOffset at, string? notice, IReadOnlyList<NewImage> images, TimeSpan gpuTime, CancellationToken ct = default)
    {
        await using var c = await _source.OpenConnectionAsync(ct);
        await using var t = await c.BeginTransactionAsync(ct);
        // The row lock makes the check and the write one step: a worker whose lease ran out cannot finish a job twice.
        string? holder = await ScalarOrNullAsync<string>(c, t, "SELECT worker FROM jobs WHERE id = @id AND status = 'Running' FOR UPDATE", ct, ("id", jobId));
        if (holder != worker)
            throw new LeaseLostException(jobId);
        var ids = await CompleteCoreAsync(c, t, jobId, at, notice, images, gpuTime, ct);
        await t.CommitAsync(ct);
        return ids;
    }

    public async Task<IReadOnlyList<long>> CompleteJobAsync(string jobId, DateTimeOffset at, string? notice, IReadOnlyList<NewImage> images, TimeSpan gpuTime, CancellationToken ct = default)
    {
        await using var c = await _source.OpenConnectionAsync(ct);
        await using var t = await c.BeginTransactionAsync(ct);
        var ids = await CompleteCoreAsync(c, t, jobId, at, notice, images, gpuTime, ct);
        await t.CommitAsync(ct);
        return ids;
    }

    private async Task<IReadOnlyList<long>> CompleteCoreAsync(NpgsqlConnection c, NpgsqlTransaction t, string jobId, DateTimeOffset at, string? notice,
        IReadOnlyList<NewImage> images, TimeSpan gpuTime, CancellationToken ct)
    {
        foreach (var image in images)
            await InsertImageAsync(c, t, jobId, image, ct);
        await ExecAsync(c, t, """
            UPDATE jobs SET status = 'Succeeded', finished_at = @at, notice = COALESCE(@notice, notice), error = NULL, worker = NULL, lease_until = NULL,
                gpu_ms = @gpu
            WHERE id = @id
            """, ct, ("id", jobId), ("at", at.ToUnixTimeMilliseconds()), ("notice", notice), ("gpu", StoreRows.StoredMilliseconds(gpuTime)));
        var ids = new List<long>(images.Count);
        await using (var cmd = Command(c, t, "SELECT id FROM images WHERE job_id = @job ORDER BY idx", ("job", jobId)))
        await using (var r = await cmd.ExecuteReaderAsync(ct))
        {
            while (await r.ReadAsync(ct))
                ids.Add(r.GetInt64(0));
        }
        await ExecAsync(c, t, "DELETE FROM job_progress WHERE job_id = @id", ct, ("id", jobId));
        await NotifyAsync(c, t, jobId, ct);
        return ids;
    }

    /// <summary>A re-run after a restart makes the same picture again: it replaces the earlier run's row.</summary>
    private static async Task<long> InsertImageAsync(NpgsqlConnection c, NpgsqlTransaction t, string jobId, NewImage image, CancellationToken ct)
    {
        await ExecAsync(c, t, "DELETE FROM images WHERE job_id = @job AND idx = @idx", ct, ("job", jobId), ("idx", image.Index));
        return await ScalarAsync<long>(c, t, """
            INSERT INTO images(job_id, user_id, idx, path, thumb_path, width, height, seed, created_at, model)
            SELECT id, user_id, @idx, @path, @thumb, @w, @h, @seed, @created, @model FROM jobs WHERE id = @job RETURNING id
            """, ct,
            ("job", jobId), ("idx", image.Index), ("path", image.RelativePath), ("thumb", image.RelativeThumbnailPath),
            ("w", image.Width), ("h", image.Height), ("seed", image.Seed), ("created", image.CreatedAt.ToUnixTimeMilliseconds()), ("model", image.Model));
    }

    public async Task<bool> FinishClaimedAsync(string jobId, string worker, JobStatus status, DateTimeOffset at, string? error, string? notice, TimeSpan gpuTime, CancellationToken ct = default)
    {
        await using var c = await _source.OpenConnectionAsync(ct);
        await using var t = await c.BeginTransactionAsync(ct);
        int changed = await ExecAsync(c, t, """
            UPDATE jobs SET status = @status, finished_at = @at, error = @error, notice = COALESCE(@notice, notice), worker = NULL, lease_until = NULL,
                gpu_ms = @gpu
            WHERE id = @id AND worker = @w AND status = 'Running'
            """, ct, ("id", jobId), ("w", worker), ("status", status.ToString()), ("at", at.ToUnixTimeMilliseconds()), ("error", error), ("notice", notice),
            ("gpu", StoreRows.StoredMilliseconds(gpuTime)));
        if (changed > 0)
        {
            await ExecAsync(c, t, "DELETE FROM job_progress WHERE job_id = @id", ct, ("id", jobId));
            await NotifyAsync(c, t, jobId, ct);
        }
        await t.CommitAsync(ct);
        return changed > 0;
    }

    public async Task FinishJobAsync(string jobId, JobStatus status, DateTimeOffset at, string? error, string? notice, TimeSpan gpuTime, CancellationToken ct = default)
    {
        await using var c = await _source.OpenConnectionAsync(ct);
        await using var t = await c.BeginTransactionAsync(ct);
        await ExecAsync(c, t, """
            UPDATE jobs SET status = @status, finished_at = @at, error = @error, notice = COALESCE(@notice, notice), worker = NULL, lease_until = NULL,
                gpu_ms = @gpu WHERE id = @id
            """, ct, ("id", jobId), ("status", status.ToString()), ("at", at.ToUnixTimeMilliseconds()), ("error", error), ("notice", notice),
            ("gpu", StoreRows.StoredMilliseconds(gpuTime)));
        await NotifyAsync(c, t, jobId, ct);
        await t.CommitAsync(ct);
    }

    public async Task ReleaseAsync(string jobId, string worker, CancellationToken ct = default)
    {
        await using var c = await _source.OpenConnectionAsync(ct);
        await using var t = await c.BeginTransactionAsync(ct);
        await ExecAsync(c, t, "UPDATE jobs SET status = 'Queued', started_at = NULL, worker = NULL, lease_until = NULL WHERE id = @id AND worker = @w AND status = 'Running'",
            ct, ("id", jobId), ("w", worker));
        await NotifyAsync(c, t, jobId, ct);
        await t.CommitAsync(ct);
    }

    public async Task<bool> ReleaseAfterCardFaultAsync(string jobId, string worker, string notice, CancellationToken ct = default)
    {
        await using var c = await _source.OpenConnectionAsync(ct);
        await using var t = await c.BeginTransactionAsync(ct);
        // The tags stay, so the job keeps its turn; the lease check makes a worker that lost the job change nothing.
        int changed = await ExecAsync(c, t, """
            UPDATE jobs SET status = 'Queued', started_at = NULL, worker = NULL, lease_until = NULL, restarts = restarts + 1, notice = @notice
            WHERE id = @id AND worker = @w AND status = 'Running'
            """, ct, ("id", jobId), ("w", worker), ("notice", notice));
        if (changed == 0)
            return false;
        await NotifyAsync(c, t, jobId, ct);
        await t.CommitAsync(ct);
        return true;
    }

    public async Task MarkStartedAsync(string jobId, DateTimeOffset at, CancellationToken ct = default)
    {
        await using var c = await _source.OpenConnectionAsync(ct);
        await ExecAsync(c, null, "UPDATE jobs SET status = 'Running', started_at = @at WHERE id = @id", ct, ("id", jobId), ("at", at.ToUnixTimeMilliseconds()));
    }

    public async Task RequeueAsync(string jobId, CancellationToken ct = default)
    {
        await using var c = await _source.OpenConnectionAsync(ct);
        await ExecAsync(c, null, "UPDATE jobs SET status = 'Queued', started_at = NULL, worker = NULL, lease_until = NULL WHERE id = @id AND status = 'Running'", ct, ("id", jobId));
    }

    public async Task RequeueAfterCardFaultAsync(string jobId, string notice, CancellationToken ct = default)
    {
        await using var c = await _source.OpenConnectionAsync(ct);
        await ExecAsync(c, null, """
            UPDATE jobs SET status = 'Queued', started_at = NULL, worker = NULL, lease_until = NULL, restarts = restarts + 1, notice = @notice
            WHERE id = @id AND status = 'Running'
            """, ct, ("id", jobId), ("notice", notice));
    }

    public async Task<SharedCancel> CancelAsync(string jobId, string by, DateTimeOffset at, CancellationToken ct = default)
    {
        await using var c = await _source.OpenConnectionAsync(ct);
        await using var t = await c.BeginTransactionAsync(ct);
        await using var cmd = Command(c, t, "SELECT status, user_id, start_tag, finish_tag, j.user_id FROM jobs j WHERE id = @id FOR UPDATE", ("id", jobId));
        string status;
        long userId;
        double? startTag, finishTag;
        await using (var r = await cmd.ExecuteReaderAsync(ct))
        {
            if (!await r.ReadAsync(ct))
                return SharedCancel.NotFound;
            status = r.GetString(0);
            userId = r.GetInt64(1);
            startTag = r.IsDBNull(2) ? null : r.GetDouble(2);
            finishTag = r.IsDBNull(3) ? null : r.GetDouble(3);
        }
        SharedCancel outcome;
        if (status == nameof(JobStatus.Queued))
        {
            string owner = await ScalarAsync<string>(c, t, "SELECT name FROM users WHERE id = @u", ct, ("u", userId));
            await ExecAsync(c, t, "UPDATE jobs SET status = 'Cancelled', finished_at = @at, error = @error WHERE id = @id", ct,
                ("id", jobId), ("at", at.ToUnixTimeMilliseconds()), ("error", Caller.NameComparer.Equals(owner, by) ? "Cancelled." : $"Cancelled by {by}."));
            // As in the in-memory queue: a withdrawn job that was its owner's latest does not count against them.
            if (startTag is { } s && finishTag is { } f)
                await ExecAsync(c, t, "UPDATE users SET last_finish = @s WHERE id = @u AND last_finish = @f", ct, ("s", s), ("f", f), ("u", userId));
            outcome = SharedCancel.Cancelled;
        }
        else if (status == nameof(JobStatus.Running))
        {
            await ExecAsync(c, t, "UPDATE jobs SET cancel_requested_by = @by WHERE id = @id", ct, ("id", jobId), ("by", by));
            outcome = SharedCancel.StopRequested;
        }
        else
        {
            outcome = SharedCancel.AlreadyFinished;
        }
        await NotifyAsync(c, t, jobId, ct);
        await t.CommitAsync(ct);
        return outcome;
    }

    public async Task<int?> PositionAsync(string jobId, CancellationToken ct = default)
    {
        await using var c = await _source.OpenConnectionAsync(ct);
        long? ahead = await ScalarOrNullAsync<long?>(c, null, """
            SELECT (SELECT count(*) FROM jobs o WHERE o.status = 'Queued' AND (o.start_tag, o.seq) < (j.start_tag, j.seq))
            FROM jobs j WHERE j.id = @id AND j.status = 'Queued'
            """, ct, ("id", jobId));
        return ahead is { } n ? (int)n + 1 : null;
    }

    public async Task<(int Queued, int Running)> CountAsync(CancellationToken ct = default)
    {
        await using var c = await _source.OpenConnectionAsync(ct);
        await using var cmd = Command(c, null, "SELECT count(*) FILTER (WHERE status = 'Queued'), count(*) FILTER (WHERE status = 'Running') FROM jobs");
        await using var r = await cmd.ExecuteReaderAsync(ct);
        await r.ReadAsync(ct);
        return ((int)r.GetInt64(0), (int)r.GetInt64(1));
    }

    public async Task<IReadOnlyList<RunningJob>> ListRunningAsync(CancellationToken ct = default)
    {
        await using var c = await _source.OpenConnectionAsync(ct);
        await using var cmd = Command(c, null, $"""
            SELECT {StoreRows.JobColumns}, {ImageIdsSql}, j.worker, p.image_index, p.image_count, p.step, p.steps, u.shares_pictures
            FROM jobs j JOIN users u ON u.id = j.user_id LEFT JOIN job_progress p ON p.job_id = j.id
            WHERE j.status = 'Running' ORDER BY j.started_at, j.seq
            """);
        await using var r = await cmd.ExecuteReaderAsync(ct);
        var list = new List<RunningJob>();
        while (await r.ReadAsync(ct))
        {
            var progress = r.IsDBNull(25) ? null : new JobProgress(r.GetInt32(25), r.GetInt32(26), r.GetInt32(27), r.GetInt32(28), null);
            list.Add(new RunningJob(StoreRows.ReadJob(r), r.IsDBNull(24) ? "" : r.GetString(24), progress, r.IsDBNull(29) ? null : r.GetInt32(29) != 0));
        }
        return list;
    }

    public async Task<JobRecord?> FindByIdempotencyKeyAsync(string userName, string key, DateTimeOffset notBefore, CancellationToken ct = default) =>
        (await ReadJobsAsync("WHERE lower(u.name) = lower(@user) AND j.idempotency_key = @key AND j.submitted_at >= @since", ct,
            ("user", userName), ("key", key), ("since", notBefore.ToUnixTimeMilliseconds()))).FirstOrDefault();

    public async Task<JobRecord?> GetJobAsync(string jobId, CancellationToken ct = default) =>
        (await ReadJobsAsync("WHERE j.id = @id", ct, ("id", jobId))).FirstOrDefault();

    public Task<IReadOnlyList<JobRecord>> ListJobsAsync(string userName, int limit, CancellationToken ct = default) =>
        ReadJobsAsync("WHERE lower(u.name) = lower(@user) ORDER BY j.submitted_at DESC, j.seq DESC LIMIT @limit", ct, ("user", userName), ("limit", limit));

    public async Task<IReadOnlyList<UsageDay>> QueryUsageAsync(DateTimeOffset from, DateTimeOffset to, string? userName, CancellationToken ct = default)
    {
        await using var c = await _source.OpenConnectionAsync(ct);
        await using var cmd = Command(c, null, $"""
            SELECT u.name, to_char(to_timestamp(j.finished_at / 1000.0) AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, count(*)::bigint,
                sum(CASE WHEN j.status = 'Succeeded' THEN j.count ELSE 0 END)::bigint, sum(j.gpu_ms)::bigint
            FROM jobs j JOIN users u ON u.id = j.user_id
            WHERE j.finished_at >= @from AND j.finished_at < @to {(userName is null ? "" : "AND lower(u.name) = lower(@user)")}
            GROUP BY u.name, day ORDER BY day, u.name
            """, ("from", from.ToUnixTimeMilliseconds()), ("to", to.ToUnixTimeMilliseconds()), ("user", userName));
        await using var r = await cmd.ExecuteReaderAsync(ct);
        var list = new List<UsageDay>();
        while (await r.ReadAsync(ct))
            list.Add(new UsageDay(r.GetString(0), DateOnly.ParseExact(r.GetString(1), "yyyy-MM-dd", CultureInfo.InvariantCulture),
                (int)r.GetInt64(2), (int)r.GetInt64(3), TimeSpan.FromMilliseconds(r.GetInt64(4))));
        return list;
    }

    public async Task<IReadOnlyList<StepTiming>> LoadStepTimingsAsync(CancellationToken ct = default)
    {
        await using var c = await _source.OpenConnectionAsync(ct);
        await using var cmd = Command(c, null, "SELECT width, height, guided, samples, seconds_per_step, fixed_seconds FROM step_timings");
        await using var r = await cmd.ExecuteReaderAsync(ct);
        var list = new List<StepTiming>();
        while (await r.ReadAsync(ct))
            list.Add(new StepTiming(r.GetInt32(0), r.GetInt32(1), r.GetInt32(2) != 0, r.GetInt32(3), r.GetDouble(4), r.GetDouble(5)));
        return list;
    }

    public async Task SaveStepTimingAsync(StepTiming timing, CancellationToken ct = default)
    {
        await using var c = await _source.OpenConnectionAsync(ct);
        await ExecAsync(c, null, """
            INSERT INTO step_timings(width, height, guided, samples, seconds_per_step, fixed_seconds) VALUES (@w, @h, @g, @n, @sps, @fixed)
            ON CONFLICT(width, height, guided) DO UPDATE SET samples = @n, seconds_per_step = @sps, fixed_seconds = @fixed
            """, ct, ("w", timing.Width), ("h", timing.Height), ("g", timing.Guided ? 1 : 0), ("n", timing.Samples),
            ("sps", timing.SecondsPerStep), ("fixed", timing.FixedSecondsPerImage));
    }

    public async Task<HistoryPage> QueryImagesAsync(HistoryQuery query, CancellationToken ct = default)
    {
        int pageSize = Math.Clamp(query.PageSize, 1, 500);
        int page = Math.Max(0, query.Page);
        // Every word must appear (in any order), like the SQLite FTS prefix query; CJK text matches as a substring.
        var (where, args) = StoreRows.HistoryFilter(query, '@', arg => $"lower(u.name) = lower(@{arg})", text =>
        {
            var words = text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            return (string.Join(" AND ", words.Select((_, i) => $"j.prompt ILIKE @like{i} ESCAPE '\\'")),
                [.. words.Select((word, i) => ($"@like{i}", (object?)("%" + StoreRows.EscapeLike(word) + "%")))]);
        });

        await using var c = await _source.OpenConnectionAsync(ct);
        int total = (int)await ScalarAsync<long>(c, null, $"SELECT count(*) FROM images i JOIN jobs j ON j.id = i.job_id JOIN users u ON u.id = i.user_id {where}", ct, [.. args]);
        args.Add(("@take", pageSize));
        args.Add(("@skip", page * pageSize));
        var items = await ReadImagesAsync(c, $"{where} ORDER BY i.created_at DESC, i.id DESC LIMIT @take OFFSET @skip", ct, [.. args]);
        return new HistoryPage(items, total, page, pageSize);
    }

    public async Task<ImageRecord?> GetImageAsync(long imageId, CancellationToken ct = default)
    {
        await using var c = await _source.OpenConnectionAsync(ct);
        return (await ReadImagesAsync(c, "WHERE i.id = @id", ct, ("id", imageId))).FirstOrDefault();
    }

    public async Task<bool> SetFavouriteAsync(long imageId, bool favourite, CancellationToken ct = default)
    {
        await using var c = await _source.OpenConnectionAsync(ct);
        return await ExecAsync(c, null, "UPDATE images SET favourite = @f WHERE id = @id", ct, ("id", imageId), ("f", favourite ? 1 : 0)) > 0;
    }

    public async Task<bool> DeleteImageRowAsync(long imageId, CancellationToken ct = default)
    {
        await using var c = await _source.OpenConnectionAsync(ct);
        return await ExecAsync(c, null, "DELETE FROM images WHERE id = @id", ct, ("id", imageId)) > 0;
    }

    public async Task<IReadOnlyList<ImageRecord>> ListImagesCreatedBeforeAsync(DateTimeOffset cutoff, int limit, CancellationToken ct = default)
    {
        await using var c = await _source.OpenConnectionAsync(ct);
        return await ReadImagesAsync(c, "WHERE i.created_at < @cutoff AND i.favourite = 0 ORDER BY i.created_at LIMIT @limit", ct,
            ("cutoff", cutoff.ToUnixTimeMilliseconds()), ("limit", limit));
    }

    public async Task<IReadOnlyList<StoredImagePaths>> ListImagePathsAsync(CancellationToken ct = default)
    {
        await using var c = await _source.OpenConnectionAsync(ct);
        await using var cmd = Command(c, null, "SELECT id, path, thumb_path FROM images");
        await using var r = await cmd.ExecuteReaderAsync(ct);
        var list = new List<StoredImagePaths>();
        while (await r.ReadAsync(ct))
            list.Add(new StoredImagePaths(r.GetInt64(0), r.GetString(1), r.GetString(2)));
        return list;
    }

    public async Task<PictureOwner?> FindOwnerAsync(string userName, CancellationToken ct = default)
    {
        await using var c = await _source.OpenConnectionAsync(ct);
        await using var cmd = Command(c, null, "SELECT name, shares_pictures FROM users WHERE lower(name) = lower(@n)", ("n", userName));
        await using var r = await cmd.ExecuteReaderAsync(ct);
        return await r.ReadAsync(ct) ? new PictureOwner(r.GetString(0), r.IsDBNull(1) ? null : r.GetInt32(1) != 0) : null;
    }

    public async Task SetSharingAsync(string userName, bool shares, CancellationToken ct = default)
    {
        await using var c = await _source.OpenConnectionAsync(ct);
        await using var t = await c.BeginTransactionAsync(ct);
        await ExecAsync(c, t, """
            INSERT INTO users(name, created_at, shares_pictures) VALUES (@n, @t, @s)
            ON CONFLICT ((lower(name))) DO UPDATE SET shares_pictures = EXCLUDED.shares_pictures
            """, ct, ("n", userName), ("t", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()), ("s", shares ? 1 : 0));
        // Other processes' queues show this person's prompts by the choice they last read: they read it again at commit.
        await ExecAsync(c, t, "SELECT pg_notify(@channel, @payload)", ct, ("channel", SharingChannel), ("payload", $"{_instance}|{userName}"));
        await t.CommitAsync(ct);
    }

    public ValueTask DisposeAsync() => _source.DisposeAsync();

    /// <summary>A connection of its own, for LISTEN (it must stay open, outside the pool's turnover).</summary>
    internal NpgsqlConnection CreateConnection() => _source.CreateConnection();

    private async Task<IReadOnlyList<JobRecord>> ReadJobsAsync(string tail, CancellationToken ct, params (string, object?)[] args)
    {
        await using var c = await _source.OpenConnectionAsync(ct);
        await using var cmd = Command(c, null, $"SELECT {StoreRows.JobColumns}, {ImageIdsSql} FROM jobs j JOIN users u ON u.id = j.user_id {tail}", args);
        await using var r = await cmd.ExecuteReaderAsync(ct);
        var list = new List<JobRecord>();
        while (await r.ReadAsync(ct))
            list.Add(StoreRows.ReadJob(r));
        return list;
    }

    private async Task<IReadOnlyList<ImageRecord>> ReadImagesAsync(NpgsqlConnection c, string tail, CancellationToken ct, params (string, object?)[] args)
    {
        await using var cmd = Command(c, null, $"SELECT {StoreRows.ImageColumns} FROM images i JOIN jobs j ON j.id = i.job_id JOIN users u ON u.id = i.user_id {tail}", args);
        await using var r = await cmd.ExecuteReaderAsync(ct);
        var list = new List<ImageRecord>();
        while (await r.ReadAsync(ct))
            list.Add(StoreRows.ReadImage(r, _outputRoot));
        return list;
    }

    private static async Task InsertRowAsync(NpgsqlConnection c, NpgsqlTransaction t, JobRecord job, long userId, double? startTag, double? finishTag, CancellationToken ct)
    {
        try
        {
            await ExecAsync(c, t, """
                INSERT INTO jobs(id, user_id, status, prompt, negative_prompt, width, height, steps, cfg, cfg_truncation,
                    cfg_normalization, seed, seed_policy, count, idempotency_key, submitted_at, started_at, finished_at, error, notice, restarts,
                    start_tag, finish_tag, style)
                VALUES (@id, @user, @status, @prompt, @neg, @w, @h, @steps, @cfg, @trunc, @norm, @seed, @policy, @count, @key,
                    @submitted, @started, @finished, @error, @notice, @restarts, @start_tag, @finish_tag, @style)
                """, ct,
                ("id", job.Id), ("user", userId), ("status", job.Status.ToString()), ("prompt", job.Request.Prompt),
                ("neg", job.Request.NegativePrompt), ("w", job.Request.Width), ("h", job.Request.Height), ("steps", job.Request.Steps),
                ("cfg", (double)job.Request.Cfg), ("trunc", (double)job.Request.CfgTruncation), ("norm", (double)job.Request.CfgNormalization),
                ("seed", job.Request.Seed), ("policy", job.SeedPolicy.ToString()), ("count", job.Request.Count),
                ("key", job.IdempotencyKey), ("submitted", job.SubmittedAt.ToUnixTimeMilliseconds()),
                ("started", job.StartedAt?.ToUnixTimeMilliseconds()), ("finished", job.FinishedAt?.ToUnixTimeMilliseconds()),
                ("error", job.Error), ("notice", job.Notice), ("restarts", job.Restarts), ("start_tag", startTag), ("finish_tag", finishTag), ("style", job.Request.Style ?? ""));
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation && e.ConstraintName == "ix_jobs_idempotency" && job.IdempotencyKey is not null)
        {
            throw new DuplicateIdempotencyKeyException(job.IdempotencyKey);
        }
    }

    private static async Task<long> EnsureUserAsync(NpgsqlConnection c, NpgsqlTransaction t, string name, DateTimeOffset at, CancellationToken ct)
    {
        await ExecAsync(c, t, "INSERT INTO users(name, created_at) VALUES (@n, @t) ON CONFLICT ((lower(name))) DO NOTHING", ct, ("n", name), ("t", at.ToUnixTimeMilliseconds()));
        return await ScalarAsync<long>(c, t, "SELECT id FROM users WHERE lower(name) = lower(@n)", ct, ("n", name));
    }

    /// <summary>Sent at commit, so a listener that reads the row sees this change.</summary>
    private Task NotifyAsync(NpgsqlConnection c, NpgsqlTransaction? t, string jobId, CancellationToken ct) =>
        ExecAsync(c, t, "SELECT pg_notify(@channel, @prefix || nextval('job_events'))", ct, ("channel", Channel), ("prefix", $"{_instance}|{jobId}|"));

    public async Task SaveProgressAsync(string jobId, JobProgress progress, byte[]? previewPng, CancellationToken ct = default)
    {
        await using var c = await _source.OpenConnectionAsync(ct);
        await using var t = await c.BeginTransactionAsync(ct);
        int changed = await ExecAsync(c, t, """
            INSERT INTO job_progress(job_id, version, image_index, image_count, step, steps, preview)
            SELECT id, nextval('job_events'), @i, @n, @s, @steps, @png FROM jobs WHERE id = @id AND status = 'Running'
            ON CONFLICT (job_id) DO UPDATE SET version = excluded.version, image_index = excluded.image_index, image_count = excluded.image_count,
                step = excluded.step, steps = excluded.steps, preview = COALESCE(excluded.preview, job_progress.preview)
            """, ct, ("id", jobId), ("i", progress.ImageIndex), ("n", progress.ImageCount), ("s", progress.Step), ("steps", progress.TotalSteps),
            ("png", previewPng));
        if (changed > 0)
            await NotifyAsync(c, t, jobId, ct);
        await t.CommitAsync(ct);
    }

    public async Task<(JobProgress Progress, byte[]? PreviewPng)?> ReadProgressAsync(string jobId, CancellationToken ct = default)
    {
        await using var c = await _source.OpenConnectionAsync(ct);
        await using var cmd = Command(c, null, "SELECT image_index, image_count, step, steps, preview FROM job_progress WHERE job_id = @id", ("id", jobId));
        await using var r = await cmd.ExecuteReaderAsync(ct);
        if (!await r.ReadAsync(ct))
            return null;
        return (new JobProgress(r.GetInt32(0), r.GetInt32(1), r.GetInt32(2), r.GetInt32(3), null), r.IsDBNull(4) ? null : (byte[])r.GetValue(4));
    }

    private readonly TaskCompletionSource _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes once <see cref="ListenAsync"/> receives signals (tests wait for it before causing any).</summary>
    internal Task Listening => _listening.Task;

    public async Task ListenAsync(Func<string, long, Task> onJobSignal, Func<string, Task> onSharingSignal, CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await using var c = _source.CreateConnection();
                // A job's signal carries its version; a sharing signal (no version) the person's name.
                var signals = System.Threading.Channels.Channel.CreateUnbounded<(string Key, long? Version)>();
                c.Notification += (_, e) =>
                {
                    int cut = e.Payload.IndexOf('|');
                    if (cut < 0 || e.Payload.AsSpan(0, cut).SequenceEqual(_instance))
                        return;
                    string rest = e.Payload[(cut + 1)..];
                    if (e.Channel == SharingChannel)
                        signals.Writer.TryWrite((rest, null));
                    else if (rest.LastIndexOf('|') is > 0 and var bar && long.TryParse(rest.AsSpan(bar + 1), out long version))
                        signals.Writer.TryWrite((rest[..bar], version));
                };
                await c.OpenAsync(ct);
                await using (var listen = new NpgsqlCommand($"LISTEN {Channel}; LISTEN {SharingChannel}", c))
                    await listen.ExecuteNonQueryAsync(ct);
                _listening.TrySetResult();
                // Handlers run outside the connection's callback, which must not issue commands on it.
                var handling = Task.Run(async () =>
                {
                    await foreach (var (key, version) in signals.Reader.ReadAllAsync(CancellationToken.None))
                        await (version is { } v ? onJobSignal(key, v) : onSharingSignal(key));
                }, CancellationToken.None);
                try
                {
                    while (!ct.IsCancellationRequested)
                        await c.WaitAsync(ct);
                }
                finally
                {
                    signals.Writer.TryComplete();
                    await handling;
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is NpgsqlException or System.Net.Sockets.SocketException or IOException)
            {
                // The database restarted or the network blinked: listen again shortly; claims keep polling meanwhile.
                await Task.Delay(TimeSpan.FromSeconds(1), ct);
            }
        }
    }

    private static NpgsqlCommand Command(NpgsqlConnection c, NpgsqlTransaction? t, string sql, params (string Name, object? Value)[] args)
    {
        var cmd = new NpgsqlCommand(sql, c, t);
        foreach (var (name, value) in args)
            cmd.Parameters.AddWithValue(name, value ?? DBNull.Value);
        return cmd;
    }

    private static async Task<int> ExecAsync(NpgsqlConnection c, NpgsqlTransaction? t, string sql, CancellationToken ct, params (string Name, object? Value)[] args)
    {
        await using var cmd = Command(c, t, sql, args);
        return await cmd.ExecuteNonQueryAsync(ct);
    }

    private static async Task<T> ScalarAsync<T>(NpgsqlConnection c, NpgsqlTransaction? t, string sql, CancellationToken ct, params (string Name, object? Value)[] args)
    {
        await using var cmd = Command(c, t, sql, args);
        return (T)Convert.ChangeType((await cmd.ExecuteScalarAsync(ct))!, typeof(T), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static async Task<T?> ScalarOrNullAsync<T>(NpgsqlConnection c, NpgsqlTransaction? t, string sql, CancellationToken ct, params (string Name, object? Value)[] args)
    {
        await using var cmd = Command(c, t, sql, args);
        var value = await cmd.ExecuteScalarAsync(ct);
        return value is null or DBNull ? default : (T)value;
    }
}
