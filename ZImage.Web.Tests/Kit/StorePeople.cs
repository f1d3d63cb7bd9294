using ZImage.Engine.History;
using ZImage.Engine.Jobs;
using ZImage.Web.Api.Auth;
using ZImage.Web.Ui.Identity;

namespace ZImage.Web.Tests.Kit;

/// <summary>
/// The web's people classes over a store opened by the test itself (no host, no jobs room): the SQLite file of a data
/// folder, or a PostgreSQL database that studios share. <see cref="OpenAsync"/> migrates the store first, as the host's
/// start-up (JobsStartup) does before anything reads people.
/// </summary>
public sealed class StorePeople<TStore> where TStore : IJobStore, IPeopleStore
{
    private StorePeople(TStore store) => Store = store;

    public static async Task<StorePeople<TStore>> OpenAsync(TStore store)
    {
        await store.InitializeAsync();
        return new StorePeople<TStore>(store);
    }

    public TStore Store { get; }

    public AccountStore Accounts => new(Store);

    public ApiTokenStore Tokens => new(Store, TimeProvider.System);
}

/// <summary>A data folder as the previous build left it: people and tokens in people.db (its PeopleDatabase, schema 1).</summary>
public static class PreviousBuild
{
    public static string PasswordHash(string name, string password) => new Microsoft.AspNetCore.Identity.PasswordHasher<string>().HashPassword(name, password);

    /// <param name="accounts">name, password hash, administrator, stamp.</param>
    /// <param name="tokens">id, person, the token's secret (stored as its SHA-256).</param>
    public static void WritePeopleDb(string dataFolder, IEnumerable<(string Name, string Hash, bool Admin, string Stamp)> accounts,
        IEnumerable<(long Id, string User, string Secret)> tokens)
    {
        Directory.CreateDirectory(dataFolder);
        using var db = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(dataFolder, SqliteJobStore.LegacyPeopleFile)};Pooling=False");
        db.Open();
        using var create = db.CreateCommand();
        create.CommandText = """
            CREATE TABLE accounts (name TEXT PRIMARY KEY COLLATE NOCASE, password_hash TEXT NOT NULL, is_admin INTEGER NOT NULL,
                stamp TEXT NOT NULL, stamped_at INTEGER NOT NULL);
            CREATE TABLE api_tokens (id INTEGER PRIMARY KEY AUTOINCREMENT, user TEXT NOT NULL, name TEXT NOT NULL, prefix TEXT NOT NULL,
                hash BLOB NOT NULL UNIQUE, is_admin INTEGER NOT NULL, created_at INTEGER NOT NULL, last_used_at INTEGER, revoked_at INTEGER);
            PRAGMA user_version = 1;
            """;
        create.ExecuteNonQuery();
        foreach (var (name, hash, admin, stamp) in accounts)
            Run(db, "INSERT INTO accounts VALUES ($a, $b, $c, $d, 1700000000000)", name, hash, admin ? 1 : 0, stamp);
        foreach (var (id, user, secret) in tokens)
            Run(db, "INSERT INTO api_tokens (id, user, name, prefix, hash, is_admin, created_at) VALUES ($a, $b, 'script', 'zit_old', $c, 0, 1700000000001)",
                id, user, System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(secret)));
    }

    private static void Run(Microsoft.Data.Sqlite.SqliteConnection db, string sql, params object[] values)
    {
        using var command = db.CreateCommand();
        command.CommandText = sql;
        for (int i = 0; i < values.Length; i++)
            command.Parameters.AddWithValue("$" + (char)('a' + i), values[i]);
        command.ExecuteNonQuery();
    }
}
