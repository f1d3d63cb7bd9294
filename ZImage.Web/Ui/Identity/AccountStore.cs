using System.Security.Cryptography;
using Microsoft.AspNetCore.Identity;
using Microsoft.Data.Sqlite;
using ZImage.Engine.Jobs;

namespace ZImage.Web.Ui.Identity;

/// <param name="Stamp">
/// Changes whenever the person's credentials do (created, password changed). A sign-in cookie carries the stamp it was
/// issued under and an API token counts from its creation time: once the stamp moves on, both stop working at once.
/// </param>
/// <param name="StampedAt">When <paramref name="Stamp"/> last changed; tokens created before it are dead.</param>
public sealed record Account(string Name, string PasswordHash, bool IsAdmin, string? Stamp = null, DateTimeOffset? StampedAt = null);

/// <param name="Field">"name" or "password"; <paramref name="TextKey"/> is the sentence shown for it.</param>
public sealed record AccountProblem(string Field, string TextKey);

/// <summary>
/// Accounts mode's people, in the people database (<see cref="PeopleDatabase"/>) beside their API tokens. Passwords are
/// hashed with the framework's PasswordHasher (PBKDF2, salted, versioned). Removing a person or setting a new password
/// revokes their tokens in the same transaction and moves their security stamp, which ends their signed-in sessions.
/// </summary>
public sealed class AccountStore(PeopleDatabase database, TimeProvider? clock = null)
{
    public const int MinPasswordLength = 8;

    private static readonly PasswordHasher<string> Hasher = new();
    /// <summary>A hash of a random password, verified against when the name is unknown.</summary>
    private static readonly Lazy<string> DecoyHash = new(() => Hasher.HashPassword("", Convert.ToHexString(RandomNumberGenerator.GetBytes(16))));
    private readonly TimeProvider _clock = clock ?? TimeProvider.System;

    public async Task<IReadOnlyList<Account>> ListAsync(CancellationToken ct = default)
    {
        await using var db = await database.OpenAsync(ct);
        await using var cmd = db.CreateCommand();
        cmd.CommandText = "SELECT name, password_hash, is_admin, stamp, stamped_at FROM accounts ORDER BY name COLLATE NOCASE";
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        var list = new List<Account>();
        while (await reader.ReadAsync(ct))
            list.Add(Read(reader));
        return list;
    }

    /// <summary>The person with this name now, or null (removed, or never existed). Checked on every request.</summary>
    public async Task<Account?> FindAsync(string name, CancellationToken ct = default)
    {
        await using var db = await database.OpenAsync(ct);
        await using var cmd = db.CreateCommand();
        cmd.CommandText = "SELECT name, password_hash, is_admin, stamp, stamped_at FROM accounts WHERE name = $name";
        cmd.Parameters.AddWithValue("$name", name);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? Read(reader) : null;
    }

    /// <summary>The account when the password matches; null for an unknown name or a wrong password alike.</summary>
    public async Task<Account?> VerifyAsync(string name, string password, CancellationToken ct = default)
    {
        var normalized = UiUser.Normalize(name);
        var account = normalized is null ? null : await FindAsync(normalized, ct);
        // An unknown name costs the same hash as a known one, so the answer's timing does not tell whether a name exists.
        var result = Hasher.VerifyHashedPassword(account?.Name ?? "", account?.PasswordHash ?? DecoyHash.Value, password ?? "");
        if (account is null || string.IsNullOrEmpty(password))
            return null;
        // A stronger hash of the same password is not a credential change: the stamp stays, sessions live on.
        if (result == PasswordVerificationResult.SuccessRehashNeeded)
        {
            await using var db = await database.OpenAsync(ct);
            await PeopleDatabase.ExecAsync(db, null, "UPDATE accounts SET password_hash = $hash WHERE name = $name", ct,
                ("$hash", Hasher.HashPassword(account.Name, password)), ("$name", account.Name));
        }
        return result == PasswordVerificationResult.Failed ? null : account;
    }

    /// <summary>Adds a person. <paramref name="onlyIfNone"/> is the first-run path: it refuses once anyone exists.</summary>
    public async Task<IReadOnlyList<AccountProblem>> CreateAsync(string name, string password, bool isAdmin, bool onlyIfNone = false, CancellationToken ct = default)
    {
        var problems = new List<AccountProblem>();
        var normalized = UiUser.Normalize(name);
        if (normalized is null)
            problems.Add(new("name", "accounts.problem.name"));
        if (password is null || password.Length < MinPasswordLength)
            problems.Add(new("password", "accounts.problem.password"));
        if (problems.Count > 0)
            return problems;
        await using var db = await database.OpenAsync(ct);
        await using var tx = (SqliteTransaction)await db.BeginTransactionAsync(ct);
        if (onlyIfNone && await CountAsync(db, tx, "SELECT COUNT(*) FROM accounts", ct) > 0)
            return [new("name", "accounts.problem.alreadySetUp")];
        await using (var find = db.CreateCommand())
        {
            find.Transaction = tx;
            find.CommandText = "SELECT COUNT(*) FROM accounts WHERE name = $name";
            find.Parameters.AddWithValue("$name", normalized);
            if (Convert.ToInt64(await find.ExecuteScalarAsync(ct)) > 0)
                return [new("name", "accounts.problem.taken")];
        }
        await PeopleDatabase.ExecAsync(db, tx, "INSERT INTO accounts (name, password_hash, is_admin, stamp, stamped_at) VALUES ($name, $hash, $admin, $stamp, $at)", ct,
            ("$name", normalized), ("$hash", Hasher.HashPassword(normalized!, password!)), ("$admin", isAdmin ? 1 : 0),
            ("$stamp", NewStamp()), ("$at", _clock.GetUtcNow().ToUnixTimeMilliseconds()));
        await tx.CommitAsync(ct);
        return [];
    }

    /// <summary>A new password ends every session (a new stamp) and revokes every token of that person.</summary>
    public async Task<bool> SetPasswordAsync(string name, string password, CancellationToken ct = default)
    {
        if (password.Length < MinPasswordLength)
            return false;
        await using var db = await database.OpenAsync(ct);
        await using var tx = (SqliteTransaction)await db.BeginTransactionAsync(ct);
        var now = _clock.GetUtcNow().ToUnixTimeMilliseconds();
        await using var update = db.CreateCommand();
        update.Transaction = tx;
        update.CommandText = "UPDATE accounts SET password_hash = $hash, stamp = $stamp, stamped_at = $at WHERE name = $name";
        update.Parameters.AddWithValue("$hash", Hasher.HashPassword(name, password));
        update.Parameters.AddWithValue("$stamp", NewStamp());
        update.Parameters.AddWithValue("$at", now);
        update.Parameters.AddWithValue("$name", name);
        if (await update.ExecuteNonQueryAsync(ct) != 1)
            return false;
        await RevokeTokensAsync(db, tx, name, now, ct);
        await tx.CommitAsync(ct);
        return true;
    }

    /// <summary>Removes a person and revokes their tokens. The last administrator cannot be removed: nobody could manage the studio afterwards.</summary>
    public async Task<bool> DeleteAsync(string name, CancellationToken ct = default)
    {
        await using var db = await database.OpenAsync(ct);
        await using var tx = (SqliteTransaction)await db.BeginTransactionAsync(ct);
        var target = await FindAsync(db, tx, name, ct);
        if (target is null || (target.IsAdmin && await CountAsync(db, tx, "SELECT COUNT(*) FROM accounts WHERE is_admin = 1", ct) == 1))
            return false;
        await PeopleDatabase.ExecAsync(db, tx, "DELETE FROM accounts WHERE name = $name", ct, ("$name", target.Name));
        await RevokeTokensAsync(db, tx, target.Name, _clock.GetUtcNow().ToUnixTimeMilliseconds(), ct);
        await tx.CommitAsync(ct);
        return true;
    }

    private static Task RevokeTokensAsync(SqliteConnection db, SqliteTransaction tx, string name, long now, CancellationToken ct) =>
        PeopleDatabase.ExecAsync(db, tx, "UPDATE api_tokens SET revoked_at = $now WHERE user = $name COLLATE NOCASE AND revoked_at IS NULL", ct, ("$now", now), ("$name", name));

    private static async Task<Account?> FindAsync(SqliteConnection db, SqliteTransaction tx, string name, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = "SELECT name, password_hash, is_admin, stamp, stamped_at FROM accounts WHERE name = $name";
        cmd.Parameters.AddWithValue("$name", name);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? Read(reader) : null;
    }

    private static async Task<long> CountAsync(SqliteConnection db, SqliteTransaction tx, string sql, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        return Convert.ToInt64(await cmd.ExecuteScalarAsync(ct));
    }

    private static Account Read(SqliteDataReader r) => new(r.GetString(0), r.GetString(1), r.GetInt64(2) != 0, r.GetString(3),
        r.GetInt64(4) == 0 ? null : DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(4)));

    private static string NewStamp() => Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
}
