using System.Security.Cryptography;
using Microsoft.AspNetCore.Identity;
using ZImage.Engine.History;
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
/// Accounts mode's people, kept by the studio's store beside the jobs (<see cref="IPeopleStore"/>: the SQLite file, or
/// the PostgreSQL database every studio process shares). Passwords are hashed here with the framework's PasswordHasher
/// (PBKDF2, salted, versioned); the store only keeps the hash. Removing a person or setting a new password revokes their
/// tokens in the same transaction and moves their security stamp, which ends their signed-in sessions in every process,
/// as each request reads the account again.
/// </summary>
public sealed class AccountStore(IPeopleStore people, TimeProvider? clock = null)
{
    public const int MinPasswordLength = 8;

    private static readonly PasswordHasher<string> Hasher = new();
    /// <summary>A hash of a random password, verified against when the name is unknown.</summary>
    private static readonly Lazy<string> DecoyHash = new(() => Hasher.HashPassword("", Convert.ToHexString(RandomNumberGenerator.GetBytes(16))));
    private readonly TimeProvider _clock = clock ?? TimeProvider.System;


    public async Task<IReadOnlyList<Account>> ListAsync(CancellationToken ct = default) =>
        [.. (await people.ListAccountsAsync(ct)).Select(ToAccount)];

    /// <summary>The person with this name now, or null (removed, or never existed). Checked on every request.</summary>
    public async Task<Account?> FindAsync(string name, CancellationToken ct = default) =>
        await people.FindAccountAsync(name, ct) is { } found ? ToAccount(found) : null;

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
            await people.ReplacePasswordHashAsync(account.Name, Hasher.HashPassword(account.Name, password), ct);
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
        var account = new PersonAccount(normalized!, Hasher.HashPassword(normalized!, password!), isAdmin, NewStamp(), _clock.GetUtcNow());
        return await people.InsertAccountAsync(account, onlyIfNone, ct) switch
        {
            AccountInsert.AlreadySetUp => [new("name", "accounts.problem.alreadySetUp")],
            AccountInsert.NameTaken => [new("name", "accounts.problem.taken")],
            _ => [],
        };
    }

    /// <summary>A new password ends every session (a new stamp) and revokes every token of that person.</summary>
    public async Task<bool> SetPasswordAsync(string name, string password, CancellationToken ct = default) =>
        password.Length >= MinPasswordLength
        && await people.SetCredentialsAsync(name, Hasher.HashPassword(name, password), NewStamp(), _clock.GetUtcNow(), ct);

    /// <summary>Removes a person and revokes their tokens. The last administrator cannot be removed: nobody could manage the studio afterwards.</summary>
    public async Task<bool> DeleteAsync(string name, CancellationToken ct = default) =>
        await people.DeleteAccountAsync(name, _clock.GetUtcNow(), ct);

    private static Account ToAccount(PersonAccount a) => new(a.Name, a.PasswordHash, a.IsAdmin, a.Stamp, a.StampedAt);

    private static string NewStamp() => Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
}
