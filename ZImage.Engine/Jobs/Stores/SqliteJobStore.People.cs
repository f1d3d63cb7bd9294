using System.Text.Json;
using Microsoft.Data.Sqlite;

namespace ZImage.Engine.Jobs;

/// <summary>People in the studio's one SQLite file (<see cref="IPeopleStore"/>), and the import of earlier builds' files.</summary>
public sealed partial class SqliteJobStore
{
    /// <summary>Where the previous build kept people and tokens: imported beside the database, then renamed <c>*.imported</c>.</summary>
    public const string LegacyPeopleFile = "people.db";

    /// <summary>Older still: accounts in JSON and tokens in their own database.</summary>
    public const string LegacyAccountsFile = "accounts.json", LegacyTokensFile = "api-tokens.db";

    private const string AccountColumns = StoreRows.AccountColumns, TokenColumns = StoreRows.TokenColumns;

    public Task<IReadOnlyList<PersonAccount>> ListAccountsAsync(CancellationToken ct = default)
    {
        using var c = Open();
        return Task.FromResult(ReadAccounts(c, null, "ORDER BY name COLLATE NOCASE"));
    }

    public Task<PersonAccount?> FindAccountAsync(string name, CancellationToken ct = default)
    {
        using var c = Open();
        return Task.FromResult(ReadAccounts(c, null, "WHERE name = $name", ("$name", name)).FirstOrDefault());
    }

    public async Task<AccountInsert> InsertAccountAsync(PersonAccount account, bool onlyIfNone, CancellationToken ct = default)
    {
        var outcome = AccountInsert.Created;
        await WriteAsync(c =>
        {
            using var t = c.BeginTransaction();
            if (onlyIfNone && Scalar<long>(c, t, "SELECT count(*) FROM accounts") > 0)
                outcome = AccountInsert.AlreadySetUp;
            else if (Scalar<long>(c, t, "SELECT count(*) FROM accounts WHERE name = $name", ("$name", account.Name)) > 0)
                outcome = AccountInsert.NameTaken;
            else
            {
                Exec(c, t, $"INSERT INTO accounts({AccountColumns}) VALUES ($name, $hash, $admin, $stamp, $at)", AccountArgs(account));
                if (onlyIfNone)
                    Exec(c, t, "DELETE FROM setup_code");
                t.Commit();
            }
        }, ct);
        return outcome;
    }

    public Task ReplacePasswordHashAsync(string name, string passwordHash, CancellationToken ct = default) => WriteAsync(c =>
        Exec(c, null, "UPDATE accounts SET password_hash = $hash WHERE name = $name", ("$hash", passwordHash), ("$name", name)), ct);

    public async Task<bool> SetCredentialsAsync(string name, string passwordHash, string stamp, DateTimeOffset at, CancellationToken ct = default)
    {
        bool changed = false;
        await WriteAsync(c =>
        {
            using var t = c.BeginTransaction();
            changed = Exec(c, t, "UPDATE accounts SET password_hash = $hash, stamp = $stamp, stamped_at = $at WHERE name = $name",
                ("$hash", passwordHash), ("$stamp", stamp), ("$at", at.ToUnixTimeMilliseconds()), ("$name", name)) == 1;
            if (!changed)
                return;
            RevokeTokensOf(c, t, name, at);
            t.Commit();
        }, ct);
        return changed;
    }

    public async Task<bool> DeleteAccountAsync(string name, DateTimeOffset at, CancellationToken ct = default)
    {
        bool deleted = false;
        await WriteAsync(c =>
        {
            using var t = c.BeginTransaction();
            var target = ReadAccounts(c, t, "WHERE name = $name", ("$name", name)).FirstOrDefault();
            if (target is null || (target.IsAdmin && Scalar<long>(c, t, "SELECT count(*) FROM accounts WHERE is_admin = 1") == 1))
                return;
            Exec(c, t, "DELETE FROM accounts WHERE name = $name; DELETE FROM person_preferences WHERE name = $name;", ("$name", target.Name));
            RevokeTokensOf(c, t, target.Name, at);
            t.Commit();
            deleted = true;
        }, ct);
        return deleted;
    }

    public async Task<long> InsertTokenAsync(string user, string name, string prefix, byte[] hash, bool isAdmin, DateTimeOffset at, CancellationToken ct = default)
    {
        long id = 0;
        await WriteAsync(c => id = Scalar<long>(c, null, """
            INSERT INTO api_tokens(user_name, name, prefix, hash, is_admin, created_at) VALUES ($user, $name, $prefix, $hash, $admin, $at);
            SELECT last_insert_rowid();
            """, ("$user", user), ("$name", name), ("$prefix", prefix), ("$hash", hash), ("$admin", isAdmin ? 1 : 0), ("$at", at.ToUnixTimeMilliseconds())), ct);
        return id;
    }

    public Task<IReadOnlyList<PersonToken>> ListTokensAsync(string? user, CancellationToken ct = default)
    {
        using var c = Open();
        return Task.FromResult(ReadTokens(c, null, "WHERE revoked_at IS NULL AND ($user IS NULL OR user_name = $user) ORDER BY id", ("$user", user)));
    }

    public async Task<bool> RevokeTokenAsync(long id, string? user, DateTimeOffset at, CancellationToken ct = default)
    {
        int changed = 0;
        await WriteAsync(c => changed = Exec(c, null,
            "UPDATE api_tokens SET revoked_at = $now WHERE id = $id AND revoked_at IS NULL AND ($user IS NULL OR user_name = $user)",
            ("$now", at.ToUnixTimeMilliseconds()), ("$id", id), ("$user", user)), ct);
        return changed == 1;
    }

    public async Task<PersonToken?> UseTokenAsync(byte[] hash, DateTimeOffset at, CancellationToken ct = default)
    {
        PersonToken? token = null;
        await WriteAsync(c =>
        {
            Exec(c, null, "UPDATE api_tokens SET last_used_at = $now WHERE hash = $hash AND revoked_at IS NULL", ("$now", at.ToUnixTimeMilliseconds()), ("$hash", hash));
            token = ReadTokens(c, null, "WHERE hash = $hash AND revoked_at IS NULL", ("$hash", hash)).FirstOrDefault();
        }, ct);
        return token;
    }

    public async Task<string?> SetupCodeAsync(string candidate, DateTimeOffset at, CancellationToken ct = default)
    {
        string? code = null;
        await WriteAsync(c =>
        {
            using var t = c.BeginTransaction();
            if (Scalar<long>(c, t, "SELECT count(*) FROM accounts") > 0)
                return;
            Exec(c, t, "INSERT INTO setup_code(id, code, created_at) VALUES (1, $code, $at) ON CONFLICT(id) DO NOTHING", ("$code", candidate), ("$at", at.ToUnixTimeMilliseconds()));
            code = Scalar<string>(c, t, "SELECT code FROM setup_code WHERE id = 1");
            t.Commit();
        }, ct);
        return code;
    }

    public Task<string?> ReadSetupCodeAsync(CancellationToken ct = default)
    {
        using var c = Open();
        using var cmd = Command(c, null, "SELECT code FROM setup_code WHERE id = 1");
        return Task.FromResult(cmd.ExecuteScalar() as string);
    }

    public Task<IReadOnlyDictionary<string, string>> ReadPreferencesAsync(string name, CancellationToken ct = default)
    {
        using var c = Open();
        using var cmd = Command(c, null, "SELECT key, value FROM person_preferences WHERE name = $name", ("$name", name));
        using var r = cmd.ExecuteReader();
        var found = new Dictionary<string, string>(StringComparer.Ordinal);
        while (r.Read())
            found[r.GetString(0)] = r.GetString(1);
        return Task.FromResult<IReadOnlyDictionary<string, string>>(found);
    }

    public Task SavePreferenceAsync(string name, string key, string? value, CancellationToken ct = default) => WriteAsync(c =>
        Exec(c, null, value is null
                ? "DELETE FROM person_preferences WHERE name = $name AND key = $key"
                : "INSERT INTO person_preferences(name, key, value) VALUES ($name, $key, $value) ON CONFLICT(name, key) DO UPDATE SET value = $value",
            ("$name", name), ("$key", key), ("$value", value)), ct);

    public Task<IReadOnlyList<string>> ReadKeyRingAsync(CancellationToken ct = default)
    {
        using var c = Open();
        using var cmd = Command(c, null, StoreRows.SelectKeys);
        using var r = cmd.ExecuteReader();
        var keys = new List<string>();
        while (r.Read())
            keys.Add(r.GetString(0));
        return Task.FromResult<IReadOnlyList<string>>(keys);
    }

    public Task SaveKeyAsync(string name, string xml, DateTimeOffset at, CancellationToken ct = default) => WriteAsync(c =>
        Exec(c, null, StoreRows.InsertKey, ("@name", name), ("@xml", xml), ("@at", at.ToUnixTimeMilliseconds())), ct);

    private static void RevokeTokensOf(SqliteConnection c, SqliteTransaction t, string name, DateTimeOffset at) =>
        Exec(c, t, "UPDATE api_tokens SET revoked_at = $now WHERE user_name = $name AND revoked_at IS NULL", ("$now", at.ToUnixTimeMilliseconds()), ("$name", name));

    private static (string, object?)[] AccountArgs(PersonAccount a) =>
        [("$name", a.Name), ("$hash", a.PasswordHash), ("$admin", a.IsAdmin ? 1 : 0), ("$stamp", a.Stamp), ("$at", a.StampedAt?.ToUnixTimeMilliseconds() ?? 0)];

    private static IReadOnlyList<PersonAccount> ReadAccounts(SqliteConnection c, SqliteTransaction? t, string tail, params (string, object?)[] args)
    {
        using var cmd = Command(c, t, $"SELECT {AccountColumns} FROM accounts {tail}", args);
        using var r = cmd.ExecuteReader();
        var list = new List<PersonAccount>();
        while (r.Read())
            list.Add(StoreRows.ReadAccount(r));
        return list;
    }

    private static IReadOnlyList<PersonToken> ReadTokens(SqliteConnection c, SqliteTransaction? t, string tail, params (string, object?)[] args)
    {
        using var cmd = Command(c, t, $"SELECT {TokenColumns} FROM api_tokens {tail}", args);
        using var r = cmd.ExecuteReader();
        var list = new List<PersonToken>();
        while (r.Read())
            list.Add(StoreRows.ReadToken(r));
        return list;
    }

    /// <summary>
    /// People kept in files by earlier builds, taken into this database whenever such a file lies in the studio's data
    /// folder (the store is told which, so it never touches files of a folder that is not a studio's): people.db
    /// (the previous build), api-tokens.db and accounts.json (the one before). Rows already here win (same name, same
    /// token hash); a token keeps its id unless that id is taken. Each file is renamed <c>*.imported</c> afterwards, so
    /// it is read once and kept for the record.
    /// </summary>
    private void ImportLegacyPeople(SqliteConnection c)
    {
        if (_legacyPeopleFolder is not { } folder)
            return;
        foreach (var (file, tokenTable, accountTable) in new[] { (LegacyPeopleFile, true, true), (LegacyTokensFile, true, false) })
        {
            var path = Path.Combine(folder, file);
            if (!File.Exists(path))
                continue;
            // ATTACH is not allowed inside a transaction: attached first, detached after.
            Exec(c, null, "ATTACH DATABASE $file AS legacy", ("$file", path));
            try
            {
                using var t = c.BeginTransaction();
                if (accountTable && LegacyHas(c, t, "accounts"))
                    Exec(c, t, $"INSERT OR IGNORE INTO accounts({AccountColumns}) SELECT {AccountColumns} FROM legacy.accounts");
                if (tokenTable && LegacyHas(c, t, "api_tokens"))
                    Exec(c, t, """
                        INSERT OR IGNORE INTO api_tokens(id, user_name, name, prefix, hash, is_admin, created_at, last_used_at, revoked_at)
                        SELECT CASE WHEN EXISTS (SELECT 1 FROM main.api_tokens m WHERE m.id = l.id) THEN NULL ELSE l.id END,
                            l.user, l.name, l.prefix, l.hash, l.is_admin, l.created_at, l.last_used_at, l.revoked_at
                        FROM legacy.api_tokens l ORDER BY l.id
                        """);
                t.Commit();
            }
            finally
            {
                Exec(c, null, "DETACH DATABASE legacy");
            }
            MoveAside(path);
        }

        var accountsFile = Path.Combine(folder, LegacyAccountsFile);
        if (File.Exists(accountsFile))
        {
            var accounts = JsonSerializer.Deserialize<List<LegacyAccount>>(File.ReadAllText(accountsFile)) ?? [];
            using (var t = c.BeginTransaction())
            {
                foreach (var a in accounts)
                    Exec(c, t, $"INSERT OR IGNORE INTO accounts({AccountColumns}) VALUES ($name, $hash, $admin, $stamp, $at)",
                        AccountArgs(new(a.Name, a.PasswordHash, a.IsAdmin, a.Stamp ?? "", a.StampedAt)));
                t.Commit();
            }
            MoveAside(accountsFile);
        }
    }

    private static bool LegacyHas(SqliteConnection c, SqliteTransaction t, string table) =>
        Scalar<long>(c, t, "SELECT count(*) FROM legacy.sqlite_master WHERE type = 'table' AND name = $t", ("$t", table)) > 0;

    private static void MoveAside(string path)
    {
        foreach (var suffix in new[] { "", "-wal", "-shm" }.Where(s => File.Exists(path + s)))
            File.Move(path + suffix, path + ".imported" + suffix, overwrite: true);
    }

    private sealed record LegacyAccount(string Name, string PasswordHash, bool IsAdmin, string? Stamp, DateTimeOffset? StampedAt);
}
