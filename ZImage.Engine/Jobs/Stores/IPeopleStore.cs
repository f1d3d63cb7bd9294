namespace ZImage.Engine.Jobs;

/// <summary>
/// Accounts mode's people as stored: the password hash is made and checked by the web project (the engine has no
/// hashing of its own). <see cref="Stamp"/> changes whenever the credentials do; <see cref="StampedAt"/> is when.
/// </summary>
public sealed record PersonAccount(string Name, string PasswordHash, bool IsAdmin, string Stamp, DateTimeOffset? StampedAt);

/// <summary>An API token as stored: never its secret, only the secret's hash (looked up) and a prefix to recognise it by.</summary>
public sealed record PersonToken(long Id, string User, string Name, string Prefix, bool IsAdmin, DateTimeOffset CreatedAt, DateTimeOffset? LastUsedAt);

public enum AccountInsert
{
    Created,
    NameTaken,
    /// <summary>The first-run path found someone already there.</summary>
    AlreadySetUp,
}

/// <summary>
/// People and their credentials, in the same database as the jobs (SQLite file or PostgreSQL), so every studio process
/// on one PostgreSQL database shares sign-ins, tokens and their revocation. The same object serves <see cref="IJobStore"/>
/// (one migration list, <see cref="StoreSchema"/>). Names compare without case. Removing a person or giving them new
/// credentials revokes their tokens in the same transaction.
/// </summary>
public interface IPeopleStore
{
    Task<IReadOnlyList<PersonAccount>> ListAccountsAsync(CancellationToken ct = default);

    Task<PersonAccount?> FindAccountAsync(string name, CancellationToken ct = default);

    /// <summary>
    /// <paramref name="onlyIfNone"/>: the first administrator; refused once anyone exists, and it spends the studio's
    /// setup code in the same transaction.
    /// </summary>
    Task<AccountInsert> InsertAccountAsync(PersonAccount account, bool onlyIfNone, CancellationToken ct = default);

    /// <summary>A stronger hash of the same password: not a credential change, the stamp stays.</summary>
    Task ReplacePasswordHashAsync(string name, string passwordHash, CancellationToken ct = default);

    /// <summary>New password and stamp, and every token of the person revoked. False: no such person.</summary>
    Task<bool> SetCredentialsAsync(string name, string passwordHash, string stamp, DateTimeOffset at, CancellationToken ct = default);

    /// <summary>Removes the person, their preferences and (revoked) tokens. False: unknown, or the last administrator.</summary>
    Task<bool> DeleteAccountAsync(string name, DateTimeOffset at, CancellationToken ct = default);

    Task<long> InsertTokenAsync(string user, string name, string prefix, byte[] hash, bool isAdmin, DateTimeOffset at, CancellationToken ct = default);

    /// <summary>Live tokens of one person, or of everyone when <paramref name="user"/> is null, oldest first.</summary>
    Task<IReadOnlyList<PersonToken>> ListTokensAsync(string? user, CancellationToken ct = default);

    /// <summary>Revokes token <paramref name="id"/> if it is live and belongs to <paramref name="user"/> (anyone's when null).</summary>
    Task<bool> RevokeTokenAsync(long id, string? user, DateTimeOffset at, CancellationToken ct = default);

    /// <summary>The live token with this hash, its use recorded; null when there is none.</summary>
    Task<PersonToken?> UseTokenAsync(byte[] hash, DateTimeOffset at, CancellationToken ct = default);

    /// <summary>
    /// The studio's one-time setup code while nobody is set up: the stored one, or <paramref name="candidate"/> when none
    /// was stored yet (the first process to ask stores it, so every process prints the same). Null once anyone exists.
    /// </summary>
    Task<string?> SetupCodeAsync(string candidate, DateTimeOffset at, CancellationToken ct = default);

    /// <summary>The setup code as stored now (null when spent or never made).</summary>
    Task<string?> ReadSetupCodeAsync(CancellationToken ct = default);

    Task<IReadOnlyDictionary<string, string>> ReadPreferencesAsync(string name, CancellationToken ct = default);

    /// <summary>Null <paramref name="value"/> forgets the choice.</summary>
    Task SavePreferenceAsync(string name, string key, string? value, CancellationToken ct = default);

    /// <summary>The web's cookie keys (ASP.NET Core Data Protection's XML elements), oldest first.</summary>
    Task<IReadOnlyList<string>> ReadKeyRingAsync(CancellationToken ct = default);

    /// <summary>Adds a key under its name (a repeat of a name is ignored: a key never changes once written).</summary>
    Task SaveKeyAsync(string name, string xml, DateTimeOffset at, CancellationToken ct = default);
}
