using System.Security.Cryptography;
using System.Text;
using Microsoft.Data.Sqlite;
using ZImage.Web.Ui.Identity;

namespace ZImage.Web.Api.Auth;

/// <summary>A token as listed: never the secret itself, only a prefix to recognise it by.</summary>
public sealed record ApiTokenInfo(long Id, string User, string Name, string Prefix, bool IsAdmin, DateTimeOffset CreatedAt, DateTimeOffset? LastUsedAt);

/// <summary>The secret is returned once, at creation; only its SHA-256 is stored.</summary>
public sealed record CreatedApiToken(ApiTokenInfo Info, string Secret);

/// <summary>
/// API tokens, in the people database beside the accounts they act for (<see cref="PeopleDatabase"/>). Tokens are 256
/// random bits, so a single SHA-256 is enough at rest: a slow password hash only helps against guessable secrets, and
/// lookups happen on every request.
/// </summary>
public sealed class ApiTokenStore(PeopleDatabase database, TimeProvider clock)
{
    public const string SecretPrefix = "zit_";
    private readonly TimeProvider _clock = clock;

    public async Task<CreatedApiToken> CreateAsync(string user, string name, bool isAdmin, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(user);
        var secret = SecretPrefix + Base64Url(RandomNumberGenerator.GetBytes(32));
        var now = _clock.GetUtcNow();
        await using var db = await OpenAsync(ct);
        await using var cmd = db.CreateCommand();
        cmd.CommandText = """
            INSERT INTO api_tokens (user, name, prefix, hash, is_admin, created_at) VALUES ($user, $name, $prefix, $hash, $admin, $created);
            SELECT last_insert_rowid();
            """;
        cmd.Parameters.AddWithValue("$user", user);
        cmd.Parameters.AddWithValue("$name", name);
        cmd.Parameters.AddWithValue("$prefix", secret[..(SecretPrefix.Length + 6)]);
        cmd.Parameters.AddWithValue("$hash", Hash(secret));
        cmd.Parameters.AddWithValue("$admin", isAdmin ? 1 : 0);
        cmd.Parameters.AddWithValue("$created", now.ToUnixTimeMilliseconds());
        var id = (long)(await cmd.ExecuteScalarAsync(ct))!;
        return new(new(id, user, name, secret[..(SecretPrefix.Length + 6)], isAdmin, now, null), secret);
    }

    /// <summary>Tokens of one user, or of everyone when <paramref name="user"/> is null.</summary>
    public async Task<IReadOnlyList<ApiTokenInfo>> ListAsync(string? user, CancellationToken ct = default)
    {
        await using var db = await OpenAsync(ct);
        await using var cmd = db.CreateCommand();
        cmd.CommandText = "SELECT id, user, name, prefix, is_admin, created_at, last_used_at FROM api_tokens WHERE revoked_at IS NULL AND ($user IS NULL OR user = $user) ORDER BY id";
        cmd.Parameters.AddWithValue("$user", (object?)user ?? DBNull.Value);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        var list = new List<ApiTokenInfo>();
        while (await reader.ReadAsync(ct))
            list.Add(Read(reader));
        return list;
    }

    /// <summary>Revokes token <paramref name="id"/> if it belongs to <paramref name="user"/> (any user when null).</summary>
    public async Task<bool> RevokeAsync(long id, string? user, CancellationToken ct = default)
    {
        await using var db = await OpenAsync(ct);
        await using var cmd = db.CreateCommand();
        cmd.CommandText = "UPDATE api_tokens SET revoked_at = $now WHERE id = $id AND revoked_at IS NULL AND ($user IS NULL OR user = $user)";
        cmd.Parameters.AddWithValue("$now", _clock.GetUtcNow().ToUnixTimeMilliseconds());
        cmd.Parameters.AddWithValue("$id", id);
        cmd.Parameters.AddWithValue("$user", (object?)user ?? DBNull.Value);
        return await cmd.ExecuteNonQueryAsync(ct) == 1;
    }

    /// <summary>The live token whose secret this is, or null; records when it was last used.</summary>
    public async Task<ApiTokenInfo?> ValidateAsync(string secret, CancellationToken ct = default)
    {
        if (!secret.StartsWith(SecretPrefix, StringComparison.Ordinal) || secret.Length > 128)
            return null;
        await using var db = await OpenAsync(ct);
        await using var cmd = db.CreateCommand();
        cmd.CommandText = """
            UPDATE api_tokens SET last_used_at = $now WHERE hash = $hash AND revoked_at IS NULL;
            SELECT id, user, name, prefix, is_admin, created_at, last_used_at FROM api_tokens WHERE hash = $hash AND revoked_at IS NULL;
            """;
        cmd.Parameters.AddWithValue("$now", _clock.GetUtcNow().ToUnixTimeMilliseconds());
        cmd.Parameters.AddWithValue("$hash", Hash(secret));
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? Read(reader) : null;
    }

    private static ApiTokenInfo Read(SqliteDataReader r) => new(
        r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetInt64(4) != 0,
        DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(5)),
        r.IsDBNull(6) ? null : DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(6)));

    private Task<SqliteConnection> OpenAsync(CancellationToken ct) => database.OpenAsync(ct);

    private static byte[] Hash(string secret) => SHA256.HashData(Encoding.UTF8.GetBytes(secret));

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
