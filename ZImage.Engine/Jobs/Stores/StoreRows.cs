using System.Data.Common;
using System.Globalization;
using System.Text;
using ZImage.Engine.History;
using ZImage.Engine.Imaging;

namespace ZImage.Engine.Jobs;

/// <summary>
/// The rows both stores read, in the same column order: the select lists (only the image-id aggregate differs by dialect)
/// and the mapping from a data reader to <see cref="JobRecord"/> and <see cref="ImageRecord"/>.
/// </summary>
internal static class StoreRows
{
    public const string JobColumns = """
        j.id, u.name, j.status, j.prompt, j.negative_prompt, j.width, j.height, j.steps, j.cfg, j.cfg_truncation,
        j.cfg_normalization, j.seed, j.seed_policy, j.count, j.idempotency_key, j.submitted_at, j.started_at, j.finished_at,
        j.error, j.notice, j.restarts, j.style, j.gpu_ms
        """;

    public const string ImageColumns = """
        i.id, i.job_id, u.name, i.idx, i.path, i.thumb_path, i.width, i.height, i.seed, i.favourite, i.created_at,
        j.prompt, j.negative_prompt, j.steps, j.cfg, j.cfg_truncation, j.cfg_normalization, i.model, j.style,
        j.gpu_ms, (SELECT COUNT(*) FROM images x WHERE x.job_id = i.job_id), u.shares_pictures
        """;

    /// <summary>Reads <see cref="JobColumns"/> followed by the job's image ids as one comma-separated text (or NULL).</summary>
    public static JobRecord ReadJob(DbDataReader r) => new()
    {
        Id = r.GetString(0),
        UserName = r.GetString(1),
        Status = Enum.Parse<JobStatus>(r.GetString(2)),
        Request = new GenerationRequest
        {
            Prompt = r.GetString(3),
            NegativePrompt = r.GetString(4),
            Width = r.GetInt32(5),
            Height = r.GetInt32(6),
            Steps = r.GetInt32(7),
            Cfg = (float)r.GetDouble(8),
            CfgTruncation = (float)r.GetDouble(9),
            CfgNormalization = (float)r.GetDouble(10),
            Seed = r.GetInt64(11),
            Count = r.GetInt32(13),
            Style = r.GetString(21),
        },
        SeedPolicy = Enum.Parse<SeedPolicy>(r.GetString(12)),
        IdempotencyKey = r.IsDBNull(14) ? null : r.GetString(14),
        SubmittedAt = FromMs(r.GetInt64(15)),
        StartedAt = r.IsDBNull(16) ? null : FromMs(r.GetInt64(16)),
        FinishedAt = r.IsDBNull(17) ? null : FromMs(r.GetInt64(17)),
        Error = r.IsDBNull(18) ? null : r.GetString(18),
        Notice = r.IsDBNull(19) ? null : r.GetString(19),
        Restarts = r.GetInt32(20),
        GpuTime = TimeSpan.FromMilliseconds(r.GetInt64(22)),
        ImageIds = r.IsDBNull(23) ? [] : r.GetString(23).Split(',').Select(s => long.Parse(s, CultureInfo.InvariantCulture)).ToArray(),
    };

    public static ImageRecord ReadImage(DbDataReader r, string outputRoot)
    {
        int width = r.GetInt32(6), height = r.GetInt32(7);
        long seed = r.GetInt64(8);
        return new ImageRecord(
            r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetInt32(3),
            Absolute(outputRoot, r.GetString(4)), Absolute(outputRoot, r.GetString(5)), width, height, seed,
            r.GetInt32(9) != 0, FromMs(r.GetInt64(10)),
            new GenerationRequest
            {
                Prompt = r.GetString(11),
                NegativePrompt = r.GetString(12),
                Width = width,
                Height = height,
                Steps = r.GetInt32(13),
                Cfg = (float)r.GetDouble(14),
                CfgTruncation = (float)r.GetDouble(15),
                CfgNormalization = (float)r.GetDouble(16),
                Seed = seed,
                Count = 1,
                Style = r.GetString(18),
            })
        {
            Model = r.IsDBNull(17) ? ImageSettings.DefaultModel : r.GetString(17),
            JobGpuTime = TimeSpan.FromMilliseconds(r.GetInt64(19)),
            JobPictureCount = Convert.ToInt32(r.GetValue(20)),
            OwnerShares = r.IsDBNull(21) ? null : Convert.ToInt32(r.GetValue(21)) != 0,
        };
    }

    /// <summary>
    /// The WHERE clause of a history query and its arguments, named with <paramref name="p"/> (<c>$</c> for SQLite,
    /// <c>@</c> for PostgreSQL). Only the comparison of a person's name (<paramref name="nameIs"/>: the condition that
    /// <c>u.name</c> equals the named argument) and the prompt text differ by dialect: the caller's conditions.
    /// The viewer's condition is <see cref="Caller.CanSee"/> in SQL: their own, everything for an admin, else only
    /// owners who share (their choice, or the studio's default where they never chose).
    /// </summary>
    public static (string Where, List<(string Name, object? Value)> Args) HistoryFilter(HistoryQuery query, char p, Func<string, string> nameIs,
        Func<string, (string Sql, IReadOnlyList<(string Name, object? Value)> Args)> textCondition)
    {
        var where = new StringBuilder("WHERE 1 = 1");
        var args = new List<(string, object?)>();
        void Add(string sql, string name, object value)
        {
            where.Append(" AND ").Append(sql);
            args.Add(($"{p}{name}", value));
        }
        if (query.Viewer is { IsAdmin: false } viewer)
        {
            where.Append($" AND ({nameIs("viewer")} OR COALESCE(u.shares_pictures, {p}sharedefault) = 1)");
            args.Add(($"{p}viewer", viewer.UserName));
            args.Add(($"{p}sharedefault", viewer.SharesByDefault ? 1 : 0));
        }
        if (!string.IsNullOrWhiteSpace(query.UserName))
            Add(nameIs("user"), "user", query.UserName);
        if (!string.IsNullOrWhiteSpace(query.Text))
        {
            var (sql, textArgs) = textCondition(query.Text.Trim());
            where.Append(" AND ").Append(sql);
            args.AddRange(textArgs);
        }
        if (query.From is { } from)
            Add($"i.created_at >= {p}from", "from", from.ToUnixTimeMilliseconds());
        if (query.To is { } to)
            Add($"i.created_at < {p}to", "to", to.ToUnixTimeMilliseconds());
        if (query.Width is { } w)
            Add($"i.width = {p}w", "w", w);
        if (query.Height is { } h)
            Add($"i.height = {p}h", "h", h);
        if (query.FavouritesOnly)
            where.Append(" AND i.favourite = 1");
        return (where.ToString(), args);
    }

    public static string EscapeLike(string s) => s.Replace("\\", "\\\\").Replace("%", "\\%").Replace("_", "\\_");

    /// <summary>GPU time is kept in whole milliseconds, rounded up: any hold of the GPU is billed.</summary>
    public static long StoredMilliseconds(TimeSpan gpuTime) => (long)Math.Ceiling(gpuTime.TotalMilliseconds);

    public static DateTimeOffset FromMs(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms);

    public const string AccountColumns = "name, password_hash, is_admin, stamp, stamped_at";

    public const string TokenColumns = "id, user_name, name, prefix, is_admin, created_at, last_used_at";

    public const string SelectKeys = "SELECT xml FROM data_protection_keys ORDER BY created_at, name";

    public const string InsertKey = "INSERT INTO data_protection_keys(name, xml, created_at) VALUES (@name, @xml, @at) ON CONFLICT (name) DO NOTHING";

    /// <summary>A row of <see cref="AccountColumns"/>; a stamp time of 0 (accounts imported from before stamps) reads as none.</summary>
    public static PersonAccount ReadAccount(DbDataReader r) => new(r.GetString(0), r.GetString(1), Convert.ToInt64(r.GetValue(2)) != 0, r.GetString(3),
        r.GetInt64(4) == 0 ? null : FromMs(r.GetInt64(4)));

    public static PersonToken ReadToken(DbDataReader r) => new(r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetString(3),
        Convert.ToInt64(r.GetValue(4)) != 0, FromMs(r.GetInt64(5)), r.IsDBNull(6) ? null : FromMs(r.GetInt64(6)));

    private static string Absolute(string outputRoot, string relative) => Path.GetFullPath(Path.Combine(outputRoot, relative));
}
