using Npgsql;

namespace ZImage.Engine.Jobs;

/// <summary>
/// People in PostgreSQL (<see cref="IPeopleStore"/>): every studio process on the database reads the same accounts,
/// stamps and tokens on every request, so a sign-in made on one works on all and a removal or new password on one ends
/// the person's sessions on all. Names compare through <c>lower()</c>, which the unique indexes use.
/// </summary>
public sealed partial class PostgresJobStore
{
    private const string AccountColumns = StoreRows.AccountColumns, TokenColumns = StoreRows.TokenColumns;

    public Task<IReadOnlyList<PersonAccount>> ListAccountsAsync(CancellationToken ct = default) =>
        ReadAccountsAsync("ORDER BY lower(name)", ct);

    public async Task<PersonAccount?> FindAccountAsync(string name, CancellationToken ct = default) =>
        (await ReadAccountsAsync("WHERE lower(name) = lower(@name)", ct, ("name", name))).FirstOrDefault();

    public async Task<AccountInsert> InsertAccountAsync(PersonAccount account, bool onlyIfNone, CancellationToken ct = default)
    {
        await using var c = await _source.OpenConnectionAsync(ct);
        await using var t = await c.BeginTransactionAsync(ct);
        // Two processes making the first administrator at once: the lock makes the "nobody yet" check and the insert one step.
        await ExecAsync(c, t, "LOCK TABLE accounts IN SHARE ROW EXCLUSIVE MODE", ct);
        if (onlyIfNone && await ScalarAsync<long>(c, t, "SELECT count(*) FROM accounts", ct) > 0)
            return AccountInsert.AlreadySetUp;
        if (await ScalarAsync<long>(c, t, "SELECT count(*) FROM accounts WHERE lower(name) = lower(@name)", ct, ("name", account.Name)) > 0)
            return AccountInsert.NameTaken;
        await ExecAsync(c, t, $"INSERT INTO accounts({AccountColumns}) VALUES (@name, @hash, @admin, @stamp, @at)", ct,
            ("name", account.Name), ("hash", account.PasswordHash), ("admin", account.IsAdmin ? 1 : 0), ("stamp", account.Stamp),
            ("at", account.StampedAt?.ToUnixTimeMilliseconds() ?? 0L));
        if (onlyIfNone)
            await ExecAsync(c, t, "DELETE FROM setup_code", ct);
        await t.CommitAsync(ct);
        return AccountInsert.Created;
    }

    public async Task ReplacePasswordHashAsync(string name, string passwordHash, CancellationToken ct = default)
    {
        await using var c = await _source.OpenConnectionAsync(ct);
        await ExecAsync(c, null, "UPDATE accounts SET password_hash = @hash WHERE lower(name) = lower(@name)", ct, ("hash", passwordHash), ("name", name));
    }

    public async Task<bool> SetCredentialsAsync(string name, string passwordHash, string stamp, DateTimeOffset at, CancellationToken ct = default)
    {
        await using var c = await _source.OpenConnectionAsync(ct);
        await using var t = await c.BeginTransactionAsync(ct);
        if (await ExecAsync(c, t, "UPDATE accounts SET password_hash = @hash, stamp = @stamp, stamped_at = @at WHERE lower(name) = lower(@name)", ct,
                ("hash", passwordHash), ("stamp", stamp), ("at", at.ToUnixTimeMilliseconds()), ("name", name)) != 1)
            return false;
        await RevokeTokensOfAsync(c, t, name, at, ct);
        await t.CommitAsync(ct);
        return true;
    }

    public async Task<bool> DeleteAccountAsync(string name, DateTimeOffset at, CancellationToken ct = default)
    {
        await using var c = await _source.OpenConnectionAsync(ct);
        await using var t = await c.BeginTransactionAsync(ct);
        // Two administrators removing each other at once must not leave the studio with none: the lock orders them.
        await ExecAsync(c, t, "LOCK TABLE accounts IN SHARE ROW EXCLUSIVE MODE", ct);
        bool? isAdmin = null;
        await using (var find = Command(c, t, "SELECT is_admin FROM accounts WHERE lower(name) = lower(@name)", ("name", name)))
        await using (var r = await find.ExecuteReaderAsync(ct))
        {
            if (await r.ReadAsync(ct))
                isAdmin = r.GetInt32(0) != 0;
        }
        if (isAdmin is null || (isAdmin.Value && await ScalarAsync<long>(c, t, "SELECT count(*) FROM accounts WHERE is_admin = 1", ct) == 1))
            return false;
        await ExecAsync(c, t, """
            DELETE FROM accounts WHERE lower(name) = lower(@name);
            DELETE FROM person_preferences WHERE lower(name) = lower(@name);
            """, ct, ("name", name));
        await RevokeTokensOfAsync(c, t, name, at, ct);
        await t.CommitAsync(ct);
        return true;
    }

    public async Task<long> InsertTokenAsync(string user, string name, string prefix, byte[] hash, bool isAdmin, DateTimeOffset at, CancellationToken ct = default)
    {
        await using var c = await _source.OpenConnectionAsync(ct);
        return await ScalarAsync<long>(c, null, """
            INSERT INTO api_tokens(user_name, name, prefix, hash, is_admin, created_at) VALUES (@user, @name, @prefix, @hash, @admin, @at) RETURNING id
            """, ct, ("user", user), ("name", name), ("prefix", prefix), ("hash", hash), ("admin", isAdmin ? 1 : 0), ("at", at.ToUnixTimeMilliseconds()));
    }

    public Task<IReadOnlyList<PersonToken>> ListTokensAsync(string? user, CancellationToken ct = default) => user is null
        ? ReadTokensAsync("WHERE revoked_at IS NULL ORDER BY id", ct)
        : ReadTokensAsync("WHERE revoked_at IS NULL AND lower(user_name) = lower(@user) ORDER BY id", ct, ("user", user));

    public async Task<bool> RevokeTokenAsync(long id, string? user, DateTimeOffset at, CancellationToken ct = default)
    {
        await using var c = await _source.OpenConnectionAsync(ct);
        return await ExecAsync(c, null, $"""
            UPDATE api_tokens SET revoked_at = @now WHERE id = @id AND revoked_at IS NULL {(user is null ? "" : "AND lower(user_name) = lower(@user)")}
            """, ct, ("now", at.ToUnixTimeMilliseconds()), ("id", id), ("user", user ?? "")) == 1;
    }

    public async Task<PersonToken?> UseTokenAsync(byte[] hash, DateTimeOffset at, CancellationToken ct = default)
    {
        await using var c = await _source.OpenConnectionAsync(ct);
        await using var cmd = Command(c, null, $"UPDATE api_tokens SET last_used_at = @now WHERE hash = @hash AND revoked_at IS NULL RETURNING {TokenColumns}",
            ("now", at.ToUnixTimeMilliseconds()), ("hash", hash));
        await using var r = await cmd.ExecuteReaderAsync(ct);
        return await r.ReadAsync(ct) ? StoreRows.ReadToken(r) : null;
    }

    public async Task<string?> SetupCodeAsync(string candidate, DateTimeOffset at, CancellationToken ct = default)
    {
        await using var c = await _source.OpenConnectionAsync(ct);
        await using var t = await c.BeginTransactionAsync(ct);
        await ExecAsync(c, t, "LOCK TABLE accounts IN SHARE ROW EXCLUSIVE MODE", ct);
        if (await ScalarAsync<long>(c, t, "SELECT count(*) FROM accounts", ct) > 0)
            return null;
        await ExecAsync(c, t, "INSERT INTO setup_code(id, code, created_at) VALUES (1, @code, @at) ON CONFLICT (id) DO NOTHING", ct,
            ("code", candidate), ("at", at.ToUnixTimeMilliseconds()));
        var code = await ScalarOrNullAsync<string>(c, t, "SELECT code FROM setup_code WHERE id = 1", ct);
        await t.CommitAsync(ct);
        return code;
    }

    public async Task<string?> ReadSetupCodeAsync(CancellationToken ct = default)
    {
        await using var c = await _source.OpenConnectionAsync(ct);
        return await ScalarOrNullAsync<string>(c, null, "SELECT code FROM setup_code WHERE id = 1", ct);
    }

    public async Task<IReadOnlyDictionary<string, string>> ReadPreferencesAsync(string name, CancellationToken ct = default)
    {
        await using var c = await _source.OpenConnectionAsync(ct);
        await using var cmd = Command(c, null, "SELECT key, value FROM person_preferences WHERE lower(name) = lower(@name)", ("name", name));
        await using var r = await cmd.ExecuteReaderAsync(ct);
        var found = new Dictionary<string, string>(StringComparer.Ordinal);
        while (await r.ReadAsync(ct))
            found[r.GetString(0)] = r.GetString(1);
        return found;
    }

    public async Task SavePreferenceAsync(string name, string key, string? value, CancellationToken ct = default)
    {
        await using var c = await _source.OpenConnectionAsync(ct);
        await ExecAsync(c, null, value is null
                ? "DELETE FROM person_preferences WHERE lower(name) = lower(@name) AND key = @key"
                : "INSERT INTO person_preferences(name, key, value) VALUES (@name, @key, @value) ON CONFLICT (lower(name), key) DO UPDATE SET value = EXCLUDED.value",
            ct, ("name", name), ("key", key), ("value", value ?? ""));
    }

    public async Task<IReadOnlyList<string>> ReadKeyRingAsync(CancellationToken ct = default)
    {
        await using var c = await _source.OpenConnectionAsync(ct);
        await using var cmd = Command(c, null, StoreRows.SelectKeys);
        await using var r = await cmd.ExecuteReaderAsync(ct);
        var keys = new List<string>();
        while (await r.ReadAsync(ct))
            keys.Add(r.GetString(0));
        return keys;
    }

    public async Task SaveKeyAsync(string name, string xml, DateTimeOffset at, CancellationToken ct = default)
    {
        await using var c = await _source.OpenConnectionAsync(ct);
        await ExecAsync(c, null, StoreRows.InsertKey, ct, ("@name", name), ("@xml", xml), ("@at", at.ToUnixTimeMilliseconds()));
    }

    private static Task RevokeTokensOfAsync(NpgsqlConnection c, NpgsqlTransaction t, string name, DateTimeOffset at, CancellationToken ct) =>
        ExecAsync(c, t, "UPDATE api_tokens SET revoked_at = @now WHERE lower(user_name) = lower(@name) AND revoked_at IS NULL", ct,
            ("now", at.ToUnixTimeMilliseconds()), ("name", name));

    private async Task<IReadOnlyList<PersonAccount>> ReadAccountsAsync(string tail, CancellationToken ct, params (string, object?)[] args)
    {
        await using var c = await _source.OpenConnectionAsync(ct);
        await using var cmd = Command(c, null, $"SELECT {AccountColumns} FROM accounts {tail}", args);
        await using var r = await cmd.ExecuteReaderAsync(ct);
        var list = new List<PersonAccount>();
        while (await r.ReadAsync(ct))
            list.Add(StoreRows.ReadAccount(r));
        return list;
    }

    private async Task<IReadOnlyList<PersonToken>> ReadTokensAsync(string tail, CancellationToken ct, params (string, object?)[] args)
    {
        await using var c = await _source.OpenConnectionAsync(ct);
        await using var cmd = Command(c, null, $"SELECT {TokenColumns} FROM api_tokens {tail}", args);
        await using var r = await cmd.ExecuteReaderAsync(ct);
        var list = new List<PersonToken>();
        while (await r.ReadAsync(ct))
            list.Add(StoreRows.ReadToken(r));
        return list;
    }
}
