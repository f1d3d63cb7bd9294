using System.Text.Json;
using Microsoft.AspNetCore.Identity;
using ZImage.Engine.Jobs;
using ZImage.Web.Ui.Settings;

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
/// Accounts mode's people: a small JSON file in the data folder (a handful of designers, changed rarely), passwords
/// hashed with the framework's PasswordHasher (PBKDF2, salted, versioned). The file is replaced whole on every change.
/// </summary>
public sealed class AccountStore
{
    public const string FileName = "accounts.json";
    public const int MinPasswordLength = 8;

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };
    private static readonly PasswordHasher<string> Hasher = new();
    /// <summary>A hash of a random password, verified against when the name is unknown.</summary>
    private static readonly Lazy<string> DecoyHash = new(() => Hasher.HashPassword("", Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16))));
    private readonly PasswordHasher<string> _hasher = Hasher;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly string _path;
    private readonly TimeProvider _clock;
    /// <summary>This store is the file's only writer, so what it last read or wrote is what the file holds.</summary>
    private IReadOnlyList<Account>? _cache;

    public AccountStore(StudioPaths paths, TimeProvider? clock = null)
    {
        _path = Path.Combine(paths.DataDirectory(), FileName);
        _clock = clock ?? TimeProvider.System;
    }

    /// <summary>The person with this name now, or null (removed, or never existed). Checked on every request.</summary>
    public async Task<Account?> FindAsync(string name, CancellationToken ct = default) =>
        (await ListAsync(ct)).FirstOrDefault(a => Caller.NameComparer.Equals(a.Name, name));

    public async Task<IReadOnlyList<Account>> ListAsync(CancellationToken ct = default)
    {
        await _gate.WaitAsync(ct);
        try
        {
            return await ReadAsync(ct);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>The account when the password matches; null for an unknown name or a wrong password alike.</summary>
    public async Task<Account?> VerifyAsync(string name, string password, CancellationToken ct = default)
    {
        var normalized = UiUser.Normalize(name);
        var account = normalized is null ? null : await FindAsync(normalized, ct);
        // An unknown name costs the same hash as a known one, so the answer's timing does not tell whether a name exists.
        var result = _hasher.VerifyHashedPassword(account?.Name ?? "", account?.PasswordHash ?? DecoyHash.Value, password ?? "");
        if (account is null || string.IsNullOrEmpty(password))
            return null;
        // A stronger hash of the same password is not a credential change: the stamp stays, sessions live on.
        if (result == PasswordVerificationResult.SuccessRehashNeeded)
            await UpdateAsync(account.Name, a => a with { PasswordHash = _hasher.HashPassword(a.Name, password) }, ct);
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
        await _gate.WaitAsync(ct);
        try
        {
            var accounts = (await ReadAsync(ct)).ToList();
            if (onlyIfNone && accounts.Count > 0)
                return [new("name", "accounts.problem.alreadySetUp")];
            if (accounts.Any(a => Caller.NameComparer.Equals(a.Name, normalized)))
                return [new("name", "accounts.problem.taken")];
            accounts.Add(new Account(normalized!, _hasher.HashPassword(normalized!, password!), isAdmin, NewStamp(), _clock.GetUtcNow()));
            await WriteAsync(accounts, ct);
            return [];
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>A new password ends every session and token of that person (a new stamp).</summary>
    public async Task<bool> SetPasswordAsync(string name, string password, CancellationToken ct = default)
    {
        if (password.Length < MinPasswordLength)
            return false;
        return await UpdateAsync(name, a => a with { PasswordHash = _hasher.HashPassword(a.Name, password), Stamp = NewStamp(), StampedAt = _clock.GetUtcNow() }, ct);
    }

    private static string NewStamp() => Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));

    /// <summary>The last administrator cannot be removed: nobody could manage the studio afterwards.</summary>
    public async Task<bool> DeleteAsync(string name, CancellationToken ct = default)
    {
        await _gate.WaitAsync(ct);
        try
        {
            var accounts = (await ReadAsync(ct)).ToList();
            var target = accounts.FirstOrDefault(a => Caller.NameComparer.Equals(a.Name, name));
            if (target is null || (target.IsAdmin && accounts.Count(a => a.IsAdmin) == 1))
                return false;
            accounts.Remove(target);
            await WriteAsync(accounts, ct);
            return true;
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task<bool> UpdateAsync(string name, Func<Account, Account> change, CancellationToken ct)
    {
        await _gate.WaitAsync(ct);
        try
        {
            var accounts = (await ReadAsync(ct)).ToList();
            var index = accounts.FindIndex(a => Caller.NameComparer.Equals(a.Name, name));
            if (index < 0)
                return false;
            accounts[index] = change(accounts[index]);
            await WriteAsync(accounts, ct);
            return true;
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task<IReadOnlyList<Account>> ReadAsync(CancellationToken ct)
    {
        if (_cache is not null)
            return _cache;
        if (!File.Exists(_path))
            return _cache = [];
        await using var stream = File.OpenRead(_path);
        return _cache = await JsonSerializer.DeserializeAsync<List<Account>>(stream, Json, ct) ?? [];
    }

    private async Task WriteAsync(List<Account> accounts, CancellationToken ct)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(_path)!);
        var temporary = _path + ".tmp";
        await File.WriteAllTextAsync(temporary, JsonSerializer.Serialize(accounts, Json), ct);
        File.Move(temporary, _path, overwrite: true);
        _cache = accounts.ToList();
    }
}
