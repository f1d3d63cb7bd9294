using Microsoft.Data.Sqlite;
using Npgsql;

namespace ZImage.Engine.Jobs;

/// <summary>
/// Moves a studio's SQLite history to an empty PostgreSQL database (the <c>migrate-store</c> command word): people, jobs,
/// pictures' rows, measured timings, accounts (password hashes, stamps), API tokens (hashed), preferences and batches,
/// ids kept, in one PostgreSQL transaction, so a failure leaves the target empty. (An older studio's people.db is taken
/// into its SQLite file first, when the source is opened.) A batch still running is let go, so the first PostgreSQL
/// studio to start takes it over.
/// Jobs that were waiting get their fair tags as if they had been submitted in order; a job found running (the studio
/// stopped mid-run) goes back to waiting with a notice, as a restart would do. The picture files are not moved: they
/// must be in the folder the PostgreSQL studios use (ZImage:Store:SharedPictureFolder), under the same relative paths.
/// </summary>
public static class StoreCopier
{
    public sealed record Copied(int Users, int Jobs, int Images, int StepTimings, int Requeued, int Accounts = 0, int Tokens = 0, int Batches = 0);

    public static async Task<Copied> CopySqliteToPostgresAsync(string sqliteFile, string postgresConnectionString, CancellationToken ct = default)
    {
        if (!File.Exists(sqliteFile))
            throw new StoreCopyException($"There is no SQLite database at {sqliteFile}; pass the studio's data folder (ZImage:Jobs:DataDirectory) with --data.");

        // Brings the source to the latest schema first, so both sides have the same columns.
        await using (var source = new SqliteJobStore(sqliteFile, Path.GetTempPath(), legacyPeopleFolder: Path.GetDirectoryName(Path.GetFullPath(sqliteFile))))
            await source.InitializeAsync(ct);
        await using (var target = new PostgresJobStore(postgresConnectionString, Path.GetTempPath()))
            await target.InitializeAsync(ct);

        await using var s = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = sqliteFile, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        await s.OpenAsync(ct);
        await using var p = new NpgsqlConnection(postgresConnectionString);
        await p.OpenAsync(ct);
        await using var t = await p.BeginTransactionAsync(ct);

        await using (var check = new NpgsqlCommand("SELECT (SELECT count(*) FROM users) + (SELECT count(*) FROM jobs) + (SELECT count(*) FROM step_timings) + (SELECT count(*) FROM accounts) + (SELECT count(*) FROM api_tokens) + (SELECT count(*) FROM batches)", p, t))
        {
            if ((long)(await check.ExecuteScalarAsync(ct))! > 0)
                throw new StoreCopyException("The PostgreSQL database already has people, jobs, timings, accounts, tokens or batches; migrate-store only fills an empty database " +
                    "(so running it twice never doubles a history). Point --db at a new database, or empty this one first.");
        }

        int users = await CopyAsync(s, p, t, "SELECT id, name, created_at, shares_pictures FROM users ORDER BY id",
            "INSERT INTO users(id, name, created_at, shares_pictures) VALUES (@p0, @p1, @p2, @p3)", new HashSet<int> { 3 }, ct);

        // Waiting jobs, in submission order, tagged as the fair queue would tag them.
        var lastFinish = new Dictionary<long, double>();
        int jobs = 0, requeued = 0;
        await using (var read = new SqliteCommand("""
            SELECT id, user_id, status, prompt, negative_prompt, width, height, steps, cfg, cfg_truncation, cfg_normalization, seed, seed_policy,
                count, idempotency_key, submitted_at, started_at, finished_at, error, notice, restarts, style, gpu_ms
            FROM jobs ORDER BY submitted_at, rowid
            """, s))
        await using (var r = await read.ExecuteReaderAsync(ct))
        {
            while (await r.ReadAsync(ct))
            {
                var values = new object?[21];
                for (int i = 0; i < values.Length; i++)
                    values[i] = r.IsDBNull(i) ? null : r.GetValue(i);
                double? start = null, finish = null;
                if (values[2] is "Running")
                {
                    values[2] = nameof(JobStatus.Queued);
                    values[16] = null;
                    values[19] = "The studio stopped while this job was running; it was queued again when the history moved to PostgreSQL.";
                    values[20] = Convert.ToInt64(values[20]) + 1;
                    requeued++;
                }
                if (values[2] is "Queued")
                {
                    long user = Convert.ToInt64(values[1]);
                    double cost = Convert.ToDouble(values[5]) * Convert.ToDouble(values[6]) * Convert.ToDouble(values[7]) * Convert.ToDouble(values[13]) / (1024.0 * 1024 * 8);
                    start = lastFinish.GetValueOrDefault(user);
                    finish = start + cost;
                    lastFinish[user] = finish.Value;
                }
                await using var write = new NpgsqlCommand("""
                    INSERT INTO jobs(id, user_id, status, prompt, negative_prompt, width, height, steps, cfg, cfg_truncation, cfg_normalization, seed,
                        seed_policy, count, idempotency_key, submitted_at, started_at, finished_at, error, notice, restarts, start_tag, finish_tag,
                        style, gpu_ms)
                    VALUES (@p0, @p1, @p2, @p3, @p4, @p5, @p6, @p7, @p8, @p9, @p10, @p11, @p12, @p13, @p14, @p15, @p16, @p17, @p18, @p19, @p20, @p21, @p22,
                        @p23, @p24)
                    """, p, t);
                for (int i = 0; i < values.Length; i++)
                    write.Parameters.AddWithValue($"p{i}", PostgresValue(IntegerJobColumns, i, values[i]));
                write.Parameters.AddWithValue("p21", (object?)start ?? DBNull.Value);
                write.Parameters.AddWithValue("p22", (object?)finish ?? DBNull.Value);
                write.Parameters.AddWithValue("p23", r.GetString(21));
                write.Parameters.AddWithValue("p24", r.GetInt64(22));
                await write.ExecuteNonQueryAsync(ct);
                jobs++;
            }
        }
        foreach (var (user, finish) in lastFinish)
        {
            await using var tag = new NpgsqlCommand("UPDATE users SET last_finish = @f WHERE id = @u", p, t);
            tag.Parameters.AddWithValue("f", finish);
            tag.Parameters.AddWithValue("u", user);
            await tag.ExecuteNonQueryAsync(ct);
        }

        int images = await CopyAsync(s, p, t, """
            SELECT id, job_id, user_id, idx, path, thumb_path, width, height, seed, favourite, created_at, model FROM images ORDER BY id
            """, """
            INSERT INTO images(id, job_id, user_id, idx, path, thumb_path, width, height, seed, favourite, created_at, model)
            VALUES (@p0, @p1, @p2, @p3, @p4, @p5, @p6, @p7, @p8, @p9, @p10, @p11)
            """, IntegerImageColumns, ct);
        int timings = await CopyAsync(s, p, t, "SELECT width, height, guided, samples, seconds_per_step, fixed_seconds FROM step_timings",
            "INSERT INTO step_timings(width, height, guided, samples, seconds_per_step, fixed_seconds) VALUES (@p0, @p1, @p2, @p3, @p4, @p5)", IntegerTimingColumns, ct);

        int accounts = await CopyAsync(s, p, t, "SELECT name, password_hash, is_admin, stamp, stamped_at FROM accounts",
            "INSERT INTO accounts(name, password_hash, is_admin, stamp, stamped_at) VALUES (@p0, @p1, @p2, @p3, @p4)", [2], ct);
        int tokens = await CopyAsync(s, p, t, "SELECT id, user_name, name, prefix, hash, is_admin, created_at, last_used_at, revoked_at FROM api_tokens ORDER BY id", """
            INSERT INTO api_tokens(id, user_name, name, prefix, hash, is_admin, created_at, last_used_at, revoked_at)
            VALUES (@p0, @p1, @p2, @p3, @p4, @p5, @p6, @p7, @p8)
            """, [5], ct);
        await CopyAsync(s, p, t, "SELECT name, key, value FROM person_preferences",
            "INSERT INTO person_preferences(name, key, value) VALUES (@p0, @p1, @p2)", [], ct);
        int batches = await CopyAsync(s, p, t, "SELECT id, user_name, name, status, cancel_requested, created_at, finished_at, error FROM batches", """
            INSERT INTO batches(id, user_name, name, status, cancel_requested, created_at, finished_at, error)
            VALUES (@p0, @p1, @p2, @p3, @p4, @p5, @p6, @p7)
            """, [4], ct);
        await CopyAsync(s, p, t, "SELECT batch_id, idx, line, settings, seed_policy, state, job_id, image_ids, error FROM batch_items", """
            INSERT INTO batch_items(batch_id, idx, line, settings, seed_policy, state, job_id, image_ids, error)
            VALUES (@p0, @p1, @p2, @p3, @p4, @p5, @p6, @p7, @p8)
            """, [1, 2], ct);

        // Kept ids: the identity columns continue after the highest one.
        await using (var ids = new NpgsqlCommand("""
            SELECT setval(pg_get_serial_sequence('users', 'id'), GREATEST((SELECT max(id) FROM users), 1));
            SELECT setval(pg_get_serial_sequence('images', 'id'), GREATEST((SELECT max(id) FROM images), 1));
            SELECT setval(pg_get_serial_sequence('api_tokens', 'id'), GREATEST((SELECT max(id) FROM api_tokens), 1));
            """, p, t))
            await ids.ExecuteNonQueryAsync(ct);
        await t.CommitAsync(ct);
        return new Copied(users, jobs, images, timings, requeued, accounts, tokens, batches);
    }

    // SQLite hands back every integer as 64 bits; the columns PostgreSQL keeps as INTEGER (by select position) want 32.
    private static readonly HashSet<int> IntegerJobColumns = [5, 6, 7, 13, 20];
    private static readonly HashSet<int> IntegerImageColumns = [3, 6, 7, 9];
    private static readonly HashSet<int> IntegerTimingColumns = [0, 1, 2, 3];

    private static object PostgresValue(IReadOnlySet<int> integerColumns, int column, object? value) => value switch
    {
        null => DBNull.Value,
        long l when integerColumns.Contains(column) => (int)l,
        _ => value,
    };

    private static async Task<int> CopyAsync(SqliteConnection s, NpgsqlConnection p, NpgsqlTransaction t, string select, string insert,
        HashSet<int> integerColumns, CancellationToken ct)
    {
        await using var read = new SqliteCommand(select, s);
        await using var r = await read.ExecuteReaderAsync(ct);
        int n = 0;
        while (await r.ReadAsync(ct))
        {
            await using var write = new NpgsqlCommand(insert, p, t);
            for (int i = 0; i < r.FieldCount; i++)
            {
                object? value = r.IsDBNull(i) ? null : r.GetValue(i);
                write.Parameters.AddWithValue($"p{i}", PostgresValue(integerColumns, i, value));
            }
            await write.ExecuteNonQueryAsync(ct);
            n++;
        }
        return n;
    }
}

public sealed class StoreCopyException(string message) : Exception(message);
