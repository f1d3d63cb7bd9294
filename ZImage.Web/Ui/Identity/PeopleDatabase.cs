using System.Text.Json;
using Microsoft.Data.Sqlite;
using ZImage.Web.Ui.Settings;

namespace ZImage.Web.Ui.Identity;

/// <summary>
/// The one store of people and their credentials: <c>people.db</c> in the data folder, with the accounts (name,
/// password hash, administrator flag, security stamp) and the API tokens that act for them. One file, so removing a
/// person and ending their tokens is one transaction. Earlier builds kept accounts in <c>accounts.json</c> and tokens
/// in <c>api-tokens.db</c>; both are imported on first open and renamed to <c>*.imported</c>. (The engine's own
/// <c>users</c> table only names the owners of jobs and pictures; it holds no credentials.)
/// </summary>
public sealed class PeopleDatabase
{
    public const string FileName = "people.db";
    public const string LegacyAccountsFile = "accounts.json";
    public const string LegacyTokensFile = "api-tokens.db";
    private const int SchemaVersion = 1;

    private readonly string _directory;
    private readonly string _connectionString;
    private readonly SemaphoreSlim _initGate = new(1, 1);
    private volatile bool _initialised;

    public PeopleDatabase(StudioPaths paths)
    {
        _directory = paths.DataDirectory();
        Path = System.IO.Path.Combine(_directory, FileName);
        _connectionString = new SqliteConnectionStringBuilder { DataSource = Path, Pooling = false }.ToString();
    }

    public string Path { get; }

    public async Task<SqliteConnection> OpenAsync(CancellationToken ct)
    {
        Directory.CreateDirectory(_directory);
        var db = new SqliteConnection(_connectionString);
        await db.OpenAsync(ct);
        await using (var timeout = db.CreateCommand())
        {
            timeout.CommandText = "PRAGMA busy_timeout = 5000;";
            await timeout.ExecuteNonQueryAsync(ct);
        }
        if (!_initialised)
            await InitialiseAsync(db, ct);
        return db;
    }

    private async Task InitialiseAsync(SqliteConnection db, CancellationToken ct)
    {
        await _initGate.WaitAsync(ct);
        try
        {
            if (_initialised)
                return;
            await ExecAsync(db, null, "PRAGMA journal_mode = WAL;", ct);
            var version = Convert.ToInt32(await ScalarAsync(db, "PRAGMA user_version;", ct));
            if (version > SchemaVersion)
                throw new InvalidOperationException($"{FileName} has schema version {version}; this build knows up to {SchemaVersion}. Use a newer build.");
            if (version < 1)
            {
                // ATTACH is not allowed inside a transaction: the old token file is attached first, detached after.
                var tokensFile = System.IO.Path.Combine(_directory, LegacyTokensFile);
                var legacyTokens = File.Exists(tokensFile);
                if (legacyTokens)
                    await ExecAsync(db, null, "ATTACH DATABASE $file AS legacy;", ct, ("$file", tokensFile));
                await using var tx = (SqliteTransaction)await db.BeginTransactionAsync(ct);
                await ExecAsync(db, tx, """
                    CREATE TABLE accounts (
                        name TEXT PRIMARY KEY COLLATE NOCASE,
                        password_hash TEXT NOT NULL,
                        is_admin INTEGER NOT NULL,
                        stamp TEXT NOT NULL,
                        stamped_at INTEGER NOT NULL);
                    CREATE TABLE api_tokens (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        user TEXT NOT NULL,
                        name TEXT NOT NULL,
                        prefix TEXT NOT NULL,
                        hash BLOB NOT NULL UNIQUE,
                        is_admin INTEGER NOT NULL,
                        created_at INTEGER NOT NULL,
                        last_used_at INTEGER,
                        revoked_at INTEGER);
                    CREATE INDEX api_tokens_user ON api_tokens(user);
                    PRAGMA user_version = 1;
                    """, ct);
                await ImportLegacyAsync(db, tx, legacyTokens, ct);
                await tx.CommitAsync(ct);
                if (legacyTokens)
                    await ExecAsync(db, null, "DETACH DATABASE legacy;", ct);
                foreach (var legacy in new[] { LegacyAccountsFile, LegacyTokensFile })
                {
                    var file = System.IO.Path.Combine(_directory, legacy);
                    if (File.Exists(file))
                        File.Move(file, file + ".imported", overwrite: true);
                }
            }
            _initialised = true;
        }
        finally
        {
            _initGate.Release();
        }
    }

    /// <summary>Accounts from accounts.json and tokens from api-tokens.db, in the transaction that creates the tables.</summary>
    private async Task ImportLegacyAsync(SqliteConnection db, SqliteTransaction tx, bool legacyTokens, CancellationToken ct)
    {
        var accountsFile = System.IO.Path.Combine(_directory, LegacyAccountsFile);
        if (File.Exists(accountsFile))
        {
            var accounts = JsonSerializer.Deserialize<List<Account>>(await File.ReadAllTextAsync(accountsFile, ct)) ?? [];
            foreach (var a in accounts)
            {
                await ExecAsync(db, tx, "INSERT OR IGNORE INTO accounts (name, password_hash, is_admin, stamp, stamped_at) VALUES ($name, $hash, $admin, $stamp, $at);", ct,
                    ("$name", a.Name), ("$hash", a.PasswordHash), ("$admin", a.IsAdmin ? 1 : 0), ("$stamp", a.Stamp ?? ""),
                    ("$at", a.StampedAt?.ToUnixTimeMilliseconds() ?? 0));
            }
        }
        if (legacyTokens)
        {
            await ExecAsync(db, tx, """
                INSERT OR IGNORE INTO api_tokens (id, user, name, prefix, hash, is_admin, created_at, last_used_at, revoked_at)
                SELECT id, user, name, prefix, hash, is_admin, created_at, last_used_at, revoked_at FROM legacy.api_tokens;
                """, ct);
        }
    }

    public static async Task ExecAsync(SqliteConnection db, SqliteTransaction? tx, string sql, CancellationToken ct, params (string Name, object? Value)[] parameters)
    {
        await using var cmd = db.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        foreach (var (name, value) in parameters)
            cmd.Parameters.AddWithValue(name, value ?? DBNull.Value);
        await cmd.ExecuteNonQueryAsync(ct);
    }

    private static async Task<object?> ScalarAsync(SqliteConnection db, string sql, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand();
        cmd.CommandText = sql;
        return await cmd.ExecuteScalarAsync(ct);
    }
}
