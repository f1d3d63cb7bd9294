using System.Globalization;
using Microsoft.Data.Sqlite;
using ZImage.Engine.History;
using ZImage.Engine.Pipeline;

namespace ZImage.Engine.Jobs;

/// <summary>
/// Jobs, images, users and timings in one SQLite file (WAL: readers never wait for the writer).
/// A connection per call from the pool; writes go through one gate because SQLite has one writer
/// and waiting in-process is cheaper than SQLITE_BUSY retries. Times are stored as Unix milliseconds.
/// </summary>
public sealed partial class SqliteJobStore : IJobStore, IPictureStore, ITimingStore, IPeopleStore
{
    private readonly string _connectionString;
    private readonly string _outputRoot;
    private readonly string? _legacyPeopleFolder;
    private readonly SemaphoreSlim _writeGate = new(1, 1);
    private bool _hasFts;

    /// <param name="legacyPeopleFolder">
    /// The studio's data folder, where earlier builds kept people in their own files (imported at start-up, see
    /// <c>ImportLegacyPeople</c>); null: look nowhere (a database that is not a studio's, e.g. in tests).
    /// </param>
    public SqliteJobStore(string databasePath, string outputRoot, string? legacyPeopleFolder = null)
    {
        _legacyPeopleFolder = legacyPeopleFolder is null ? null : Path.GetFullPath(legacyPeopleFolder);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(databasePath))!);
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = databasePath,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString();
        _outputRoot = Path.GetFullPath(outputRoot);
    }

    /// <summary>True when prompt search uses FTS5 (else substring matching).</summary>
    public bool HasFullTextSearch => _hasFts;

    public int SchemaVersion { get; private set; }

    public async Task InitializeAsync(CancellationToken ct = default)
    {
        await _writeGate.WaitAsync(ct);
        try
        {
            using var c = Open();
            // WAL is a property of the file: set once, every later connection uses it.
            Exec(c, null, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;");
            Exec(c, null, "CREATE TABLE IF NOT EXISTS schema_version(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL);");
            long current = Scalar<long>(c, null, "SELECT COALESCE(MAX(version), 0) FROM schema_version");
            if (current > StoreSchema.Latest)
                throw new InvalidOperationException(StoreSchema.TooNew(current));
            foreach (var m in StoreSchema.Migrations.Where(m => m.Version > current))
            {
                using var t = c.BeginTransaction();
                // Builds without FTS5 keep working with substring search; the flag is re-read at start-up.
                if (m.Sqlite is not null && (!m.SqliteNeedsFts5 || FtsAvailable(c, t)))
                    Exec(c, t, m.Sqlite);
                Exec(c, t, "INSERT INTO schema_version(version, name, applied_at) VALUES ($v, $n, $t)",
                    ("$v", m.Version), ("$n", m.Name), ("$t", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()));
                t.Commit();
            }
            SchemaVersion = (int)Scalar<long>(c, null, "SELECT MAX(version) FROM schema_version");
            _hasFts = Scalar<long>(c, null, "SELECT count(*) FROM sqlite_master WHERE name = 'jobs_fts'") > 0;
            ImportLegacyPeople(c);
        }
        finally
        {
            _writeGate.Release();
        }
    }

    public async Task<IReadOnlyList<JobRecord>> RecoverAsync(DateTimeOffset now, CancellationToken ct = default)
    {
        await WriteAsync(c =>
        {
            using var t = c.BeginTransaction();
            Exec(c, t, """
                UPDATE jobs SET status = 'Interrupted', finished_at = $now,
                    error = 'The server stopped while this job was running; it had already been queued again after an earlier stop or card failure, so it was not started again.'
                WHERE status = 'Running' AND restarts >= 1;
                UPDATE jobs SET status = 'Queued', started_at = NULL, restarts = restarts + 1,
                    notice = 'The server stopped while this job was running; it was queued again.'
                WHERE status = 'Running';
                """, ("$now", now.ToUnixTimeMilliseconds()));
            t.Commit();
        }, ct);
        using var c = Open();
        return ReadJobs(c, "WHERE j.status = 'Queued' ORDER BY j.submitted_at, j.rowid", []);
    }

    public Task InsertJobAsync(JobRecord job, CancellationToken ct = default) => WriteAsync(c =>
    {
        using var t = c.BeginTransaction();
        long userId = EnsureUser(c, t, job.UserName, job.SubmittedAt);
        try
        {
            Exec(c, t, """
                INSERT INTO jobs(id, user_id, status, prompt, negative_prompt, width, height, steps, cfg, cfg_truncation,
                    cfg_normalization, seed, seed_policy, count, idempotency_key, submitted_at, started_at, finished_at, error, notice, restarts, style)
                VALUES ($id, $user, $status, $prompt, $neg, $w, $h, $steps, $cfg, $trunc, $norm, $seed, $policy, $count, $key,
                    $submitted, $started, $finished, $error, $notice, $restarts, $style)
                """,
                ("$id", job.Id), ("$user", userId), ("$status", job.Status.ToString()), ("$prompt", job.Request.Prompt),
                ("$neg", job.Request.NegativePrompt), ("$w", job.Request.Width), ("$h", job.Request.Height), ("$steps", job.Request.Steps),
                ("$cfg", job.Request.Cfg), ("$trunc", job.Request.CfgTruncation), ("$norm", job.Request.CfgNormalization),
                ("$seed", job.Request.Seed), ("$policy", job.SeedPolicy.ToString()), ("$count", job.Request.Count),
                ("$key", job.IdempotencyKey), ("$submitted", job.SubmittedAt.ToUnixTimeMilliseconds()),
                ("$started", job.StartedAt?.ToUnixTimeMilliseconds()), ("$finished", job.FinishedAt?.ToUnixTimeMilliseconds()),
                ("$error", job.Error), ("$notice", job.Notice), ("$restarts", job.Restarts), ("$style", job.Request.Style ?? ""));
        }
        catch (SqliteException e) when (e.SqliteErrorCode == 19 && job.IdempotencyKey is not null) // SQLITE_CONSTRAINT
        {
            throw new DuplicateIdempotencyKeyException(job.IdempotencyKey);
        }
        if (_hasFts)
            Exec(c, t, "INSERT INTO jobs_fts(rowid, prompt) SELECT rowid, prompt FROM jobs WHERE id = $id", ("$id", job.Id));
        t.Commit();
    }, ct);

    public Task<JobRecord?> FindByIdempotencyKeyAsync(string userName, string key, DateTimeOffset notBefore, CancellationToken ct = default)
    {
        using var c = Open();
        var found = ReadJobs(c, "WHERE u.name = $user AND j.idempotency_key = $key AND j.submitted_at >= $since",
            [("$user", userName), ("$key", key), ("$since", notBefore.ToUnixTimeMilliseconds())]);
        return Task.FromResult(found.FirstOrDefault());
    }

    public Task<JobRecord?> GetJobAsync(string jobId, CancellationToken ct = default)
    {
        using var c = Open();
        return Task.FromResult(ReadJobs(c, "WHERE j.id = $id", [("$id", jobId)]).FirstOrDefault());
    }

    public Task<IReadOnlyList<JobRecord>> ListJobsAsync(string userName, int limit, CancellationToken ct = default)
    {
        using var c = Open();
        return Task.FromResult(ReadJobs(c, "WHERE u.name = $user ORDER BY j.submitted_at DESC, j.rowid DESC LIMIT $limit",
            [("$user", userName), ("$limit", limit)]));
    }

    public Task MarkStartedAsync(string jobId, DateTimeOffset at, CancellationToken ct = default) => WriteAsync(c =>
        Exec(c, null, "UPDATE jobs SET status = 'Running', started_at = $at WHERE id = $id",
            ("$id", jobId), ("$at", at.ToUnixTimeMilliseconds())), ct);

    public Task RequeueAsync(string jobId, CancellationToken ct = default) => WriteAsync(c =>
        Exec(c, null, "UPDATE jobs SET status = 'Queued', started_at = NULL WHERE id = $id AND status = 'Running'", ("$id", jobId)), ct);

    public Task RequeueAfterCardFaultAsync(string jobId, string notice, CancellationToken ct = default) => WriteAsync(c =>
        Exec(c, null, "UPDATE jobs SET status = 'Queued', started_at = NULL, restarts = restarts + 1, notice = $notice WHERE id = $id AND status = 'Running'",
            ("$id", jobId), ("$notice", notice)), ct);

    public async Task<long> AddImageAsync(string jobId, NewImage image, CancellationToken ct = default)
    {
        long id = 0;
        await WriteAsync(c =>
        {
            using var t = c.BeginTransaction();
            id = InsertImage(c, t, jobId, image);
            t.Commit();
        }, ct);
        return id;
    }

    public async Task<IReadOnlyList<long>> CompleteJobAsync(string jobId, DateTimeOffset at, string? notice, IReadOnlyList<NewImage> images, TimeSpan gpuTime, CancellationToken ct = default)
    {
        var ids = new List<long>(images.Count);
        await WriteAsync(c =>
        {
            using var t = c.BeginTransaction();
            foreach (var image in images)
                InsertImage(c, t, jobId, image);
            Exec(c, t, "UPDATE jobs SET status = 'Succeeded', finished_at = $at, notice = COALESCE($notice, notice), error = NULL, gpu_ms = $gpu WHERE id = $id",
                ("$id", jobId), ("$at", at.ToUnixTimeMilliseconds()), ("$notice", notice), ("$gpu", StoreRows.StoredMilliseconds(gpuTime)));
            using (var cmd = Command(c, t, "SELECT id FROM images WHERE job_id = $job ORDER BY idx", ("$job", jobId)))
            using (var r = cmd.ExecuteReader())
            {
                while (r.Read())
                    ids.Add(r.GetInt64(0));
            }
            t.Commit();
        }, ct);
        return ids;
    }

    /// <summary>A re-run after a restart makes the same picture again: it replaces the earlier run's row.</summary>
    private static long InsertImage(SqliteConnection c, SqliteTransaction t, string jobId, NewImage image)
    {
        Exec(c, t, "DELETE FROM images WHERE job_id = $job AND idx = $idx", ("$job", jobId), ("$idx", image.Index));
        return Scalar<long>(c, t, """
            INSERT INTO images(job_id, user_id, idx, path, thumb_path, width, height, seed, created_at, model)
            SELECT id, user_id, $idx, $path, $thumb, $w, $h, $seed, $created, $model FROM jobs WHERE id = $job;
            SELECT last_insert_rowid();
            """,
            ("$job", jobId), ("$idx", image.Index), ("$path", image.RelativePath), ("$thumb", image.RelativeThumbnailPath),
            ("$w", image.Width), ("$h", image.Height), ("$seed", image.Seed), ("$created", image.CreatedAt.ToUnixTimeMilliseconds()), ("$model", image.Model));
    }

    public Task FinishJobAsync(string jobId, JobStatus status, DateTimeOffset at, string? error, string? notice, TimeSpan gpuTime, CancellationToken ct = default) => WriteAsync(c =>
        Exec(c, null, "UPDATE jobs SET status = $status, finished_at = $at, error = $error, notice = COALESCE($notice, notice), gpu_ms = $gpu WHERE id = $id",
            ("$id", jobId), ("$status", status.ToString()), ("$at", at.ToUnixTimeMilliseconds()), ("$error", error), ("$notice", notice),
            ("$gpu", StoreRows.StoredMilliseconds(gpuTime))), ct);

    public Task<IReadOnlyList<UsageDay>> QueryUsageAsync(DateTimeOffset from, DateTimeOffset to, string? userName, CancellationToken ct = default)
    {
        using var c = Open();
        using var cmd = Command(c, null, $"""
            SELECT u.name, date(j.finished_at / 1000, 'unixepoch') AS day, count(*),
                sum(CASE WHEN j.status = 'Succeeded' THEN j.count ELSE 0 END), sum(j.gpu_ms)
            FROM jobs j JOIN users u ON u.id = j.user_id
            WHERE j.finished_at >= $from AND j.finished_at < $to {(userName is null ? "" : "AND u.name = $user")}
            GROUP BY u.name, day ORDER BY day, u.name
            """, ("$from", from.ToUnixTimeMilliseconds()), ("$to", to.ToUnixTimeMilliseconds()), ("$user", userName));
        using var r = cmd.ExecuteReader();
        var list = new List<UsageDay>();
        while (r.Read())
            list.Add(new UsageDay(r.GetString(0), DateOnly.ParseExact(r.GetString(1), "yyyy-MM-dd", CultureInfo.InvariantCulture),
                r.GetInt32(2), r.GetInt32(3), TimeSpan.FromMilliseconds(r.GetInt64(4))));
        return Task.FromResult<IReadOnlyList<UsageDay>>(list);
    }

    public Task<IReadOnlyList<StepTiming>> LoadStepTimingsAsync(CancellationToken ct = default)
    {
        using var c = Open();
        using var cmd = Command(c, null, "SELECT width, height, guided, samples, seconds_per_step, fixed_seconds FROM step_timings");
        using var r = cmd.ExecuteReader();
        var list = new List<StepTiming>();
        while (r.Read())
            list.Add(new StepTiming(r.GetInt32(0), r.GetInt32(1), r.GetInt64(2) != 0, r.GetInt32(3), r.GetDouble(4), r.GetDouble(5)));
        return Task.FromResult<IReadOnlyList<StepTiming>>(list);
    }

    public Task SaveStepTimingAsync(StepTiming timing, CancellationToken ct = default) => WriteAsync(c =>
        Exec(c, null, """
            INSERT INTO step_timings(width, height, guided, samples, seconds_per_step, fixed_seconds) VALUES ($w, $h, $g, $n, $sps, $fixed)
            ON CONFLICT(width, height, guided) DO UPDATE SET samples = $n, seconds_per_step = $sps, fixed_seconds = $fixed
            """,
            ("$w", timing.Width), ("$h", timing.Height), ("$g", timing.Guided ? 1 : 0), ("$n", timing.Samples),
            ("$sps", timing.SecondsPerStep), ("$fixed", timing.FixedSecondsPerImage)), ct);

    public Task<HistoryPage> QueryImagesAsync(HistoryQuery query, CancellationToken ct = default)
    {
        int pageSize = Math.Clamp(query.PageSize, 1, 500);
        int page = Math.Max(0, query.Page);
        var (where, args) = StoreRows.HistoryFilter(query, '$', arg => $"u.name = ${arg}", text =>
            _hasFts && FtsQuery(text) is { } match
                ? ("j.rowid IN (SELECT rowid FROM jobs_fts WHERE jobs_fts MATCH $match)", [("$match", match)])
                : ("j.prompt LIKE $like ESCAPE '\\'", [("$like", "%" + StoreRows.EscapeLike(text) + "%")]));

        using var c = Open();
        int total = (int)Scalar<long>(c, null, $"SELECT count(*) FROM images i JOIN jobs j ON j.id = i.job_id JOIN users u ON u.id = i.user_id {where}", [.. args]);
        args.Add(("$take", pageSize));
        args.Add(("$skip", page * pageSize));
        var items = ReadImages(c, $"{where} ORDER BY i.created_at DESC, i.id DESC LIMIT $take OFFSET $skip", args);
        return Task.FromResult(new HistoryPage(items, total, page, pageSize));
    }

    public Task<ImageRecord?> GetImageAsync(long imageId, CancellationToken ct = default)
    {
        using var c = Open();
        return Task.FromResult(ReadImages(c, "WHERE i.id = $id", [("$id", imageId)]).FirstOrDefault());
    }

    public async Task<bool> SetFavouriteAsync(long imageId, bool favourite, CancellationToken ct = default)
    {
        int changed = 0;
        await WriteAsync(c => changed = Exec(c, null, "UPDATE images SET favourite = $f WHERE id = $id", ("$id", imageId), ("$f", favourite ? 1 : 0)), ct);
        return changed > 0;
    }

    public async Task<bool> DeleteImageRowAsync(long imageId, CancellationToken ct = default)
    {
        int changed = 0;
        await WriteAsync(c => changed = Exec(c, null, "DELETE FROM images WHERE id = $id", ("$id", imageId)), ct);
        return changed > 0;
    }

    public Task<IReadOnlyList<ImageRecord>> ListImagesCreatedBeforeAsync(DateTimeOffset cutoff, int limit, CancellationToken ct = default)
    {
        using var c = Open();
        return Task.FromResult(ReadImages(c, "WHERE i.created_at < $cutoff AND i.favourite = 0 ORDER BY i.created_at LIMIT $limit",
            [("$cutoff", cutoff.ToUnixTimeMilliseconds()), ("$limit", limit)]));
    }

    public Task<IReadOnlyList<StoredImagePaths>> ListImagePathsAsync(CancellationToken ct = default)
    {
        using var c = Open();
        using var cmd = Command(c, null, "SELECT id, path, thumb_path FROM images");
        using var r = cmd.ExecuteReader();
        var list = new List<StoredImagePaths>();
        while (r.Read())
            list.Add(new StoredImagePaths(r.GetInt64(0), r.GetString(1), r.GetString(2)));
        return Task.FromResult<IReadOnlyList<StoredImagePaths>>(list);
    }

    public ValueTask DisposeAsync()
    {
        // Pooled connections keep the file open; release them so a test (or a restart) can reopen it.
        using (var c = new SqliteConnection(_connectionString))
            SqliteConnection.ClearPool(c);
        _writeGate.Dispose();
        return ValueTask.CompletedTask;
    }

    /// <summary>Each word becomes a quoted prefix term, so user text can never be FTS syntax. Null: use substring search.</summary>
    internal static string? FtsQuery(string text)
    {
        var words = text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        // unicode61 keeps a run of Chinese characters as one token, so a Chinese word inside it is only found by substring.
        if (words.Length == 0 || words.Any(w => w.Any(ch => ch > 0x2E7F)))
            return null;
        var terms = words
            .Select(w => new string(w.Where(char.IsLetterOrDigit).ToArray()))
            .Where(w => w.Length > 0)
            .Select(w => $"\"{w}\"*")
            .ToArray();
        return terms.Length == 0 ? null : string.Join(' ', terms);
    }

    private static IReadOnlyList<JobRecord> ReadJobs(SqliteConnection c, string tail, IReadOnlyList<(string, object?)> args)
    {
        using var cmd = Command(c, null, $"""
            SELECT {StoreRows.JobColumns},
                (SELECT group_concat(id) FROM (SELECT id FROM images WHERE job_id = j.id ORDER BY idx))
            FROM jobs j JOIN users u ON u.id = j.user_id {tail}
            """, [.. args]);
        using var r = cmd.ExecuteReader();
        var list = new List<JobRecord>();
        while (r.Read())
            list.Add(StoreRows.ReadJob(r));
        return list;
    }

    public Task<PictureOwner?> FindOwnerAsync(string userName, CancellationToken ct = default)
    {
        using var c = Open();
        using var cmd = Command(c, null, "SELECT name, shares_pictures FROM users WHERE name = $n", ("$n", userName));
        using var r = cmd.ExecuteReader();
        return Task.FromResult(r.Read() ? new PictureOwner(r.GetString(0), r.IsDBNull(1) ? null : r.GetInt64(1) != 0) : null);
    }

    public Task SetSharingAsync(string userName, bool shares, CancellationToken ct = default) => WriteAsync(c =>
        Exec(c, null, """
            INSERT INTO users(name, created_at, shares_pictures) VALUES ($n, $t, $s)
            ON CONFLICT(name) DO UPDATE SET shares_pictures = excluded.shares_pictures
            """, ("$n", userName), ("$t", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()), ("$s", shares ? 1 : 0)), ct);

    private IReadOnlyList<ImageRecord> ReadImages(SqliteConnection c, string tail, IReadOnlyList<(string, object?)> args)
    {
        using var cmd = Command(c, null, $"SELECT {StoreRows.ImageColumns} FROM images i JOIN jobs j ON j.id = i.job_id JOIN users u ON u.id = i.user_id {tail}", [.. args]);
        using var r = cmd.ExecuteReader();
        var list = new List<ImageRecord>();
        while (r.Read())
            list.Add(StoreRows.ReadImage(r, _outputRoot));
        return list;
    }

    private static long EnsureUser(SqliteConnection c, SqliteTransaction t, string name, DateTimeOffset at)
    {
        Exec(c, t, "INSERT INTO users(name, created_at) VALUES ($n, $t) ON CONFLICT(name) DO NOTHING", ("$n", name), ("$t", at.ToUnixTimeMilliseconds()));
        return Scalar<long>(c, t, "SELECT id FROM users WHERE name = $n", ("$n", name));
    }

    private static bool FtsAvailable(SqliteConnection c, SqliteTransaction t) =>
        Scalar<long>(c, t, "SELECT sqlite_compileoption_used('ENABLE_FTS5')") == 1;

    private async Task WriteAsync(Action<SqliteConnection> write, CancellationToken ct)
    {
        await _writeGate.WaitAsync(ct);
        try
        {
            using var c = Open();
            write(c);
        }
        finally
        {
            _writeGate.Release();
        }
    }

    private SqliteConnection Open()
    {
        var c = new SqliteConnection(_connectionString);
        c.Open();
        Exec(c, null, "PRAGMA foreign_keys = ON;");
        return c;
    }

    private static SqliteCommand Command(SqliteConnection c, SqliteTransaction? t, string sql, params (string Name, object? Value)[] args)
    {
        var cmd = c.CreateCommand();
        cmd.Transaction = t;
        cmd.CommandText = sql;
        foreach (var (name, value) in args)
            cmd.Parameters.AddWithValue(name, value ?? DBNull.Value);
        return cmd;
    }

    private static int Exec(SqliteConnection c, SqliteTransaction? t, string sql, params (string Name, object? Value)[] args)
    {
        using var cmd = Command(c, t, sql, args);
        return cmd.ExecuteNonQuery();
    }

    private static T Scalar<T>(SqliteConnection c, SqliteTransaction? t, string sql, params (string Name, object? Value)[] args)
    {
        using var cmd = Command(c, t, sql, args);
        return (T)Convert.ChangeType(cmd.ExecuteScalar()!, typeof(T), CultureInfo.InvariantCulture);
    }
}
