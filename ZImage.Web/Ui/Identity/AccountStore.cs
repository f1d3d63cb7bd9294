using System.Text.Json;
using Microsoft.AspNetCore.Identity;
using ZImage.Engine.Jobs;
using ZImage.Web.Ui.Settings;

namespace ZImage.Web.Ui.Identity;

public sealed record Account(string Name, string PasswordHash, bool IsAdmin);

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
    private readonly PasswordHasher<string> _hasher = new();
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly string _path;

    public AccountStore(StudioPaths paths) => _path = Path.Combine(paths.DataDirectory(), FileName);

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
        var account = (await ListAsync(ct)).FirstOrDefault(a => Caller.NameComparer.Equals(a.Name, normalized));
        if (account is null || string.IsNullOrEmpty(password))
            return null;
        var result = _hasher.VerifyHashedPassword(account.Name, account.PasswordHash, password);
        if (result == PasswordVerificationResult.SuccessRehashNeeded)
            await SetPasswordAsync(account.Name, password, ct);
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
            accounts.Add(new Account(normalized!, _hasher.HashPassword(normalized!, password!), isAdmin));
            await WriteAsync(accounts, ct);
            return [];
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task<bool> SetPasswordAsync(string name, string password, CancellationToken ct = default)
    {
        if (password.Length < MinPasswordLength)
            return false;
        return await UpdateAsync(name, a => a with { PasswordHash = _hasher.HashPassword(a.Name, password) }, ct);
    }

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
        if (!File.Exists(_path))
            return [];
        await using var stream = File.OpenRead(_path);
        return await JsonSerializer.DeserializeAsync<List<Account>>(stream, Json, ct) ?? [];
    }

    private async Task WriteAsync(List<Account> accounts, CancellationToken ct)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(_path)!);
        var temporary = _path + ".tmp";
        await File.WriteAllTextAsync(temporary, JsonSerializer.Serialize(accounts, Json), ct);
        File.Move(temporary, _path, overwrite: true);
    }
}
