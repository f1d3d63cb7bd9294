using System.Security.Cryptography;
using System.Text;
using ZImage.Engine.History;
using ZImage.Engine.Jobs;

namespace ZImage.Web.Api.Auth;

/// <summary>The secret is returned once, at creation; only its SHA-256 is stored (a token as listed, <see cref="PersonToken"/>, never has it).</summary>
public sealed record CreatedApiToken(PersonToken Info, string Secret);

/// <summary>
/// API tokens, in the studio's store beside the accounts they act for (<see cref="IPeopleStore"/>; shared by every studio
/// process on one PostgreSQL database). Tokens are 256 random bits, so a single SHA-256 is enough at rest: a slow
/// password hash only helps against guessable secrets, and lookups happen on every request.
/// </summary>
public sealed class ApiTokenStore(IPeopleStore people, TimeProvider clock)
{
    public const string SecretPrefix = "zit_";


    public async Task<CreatedApiToken> CreateAsync(string user, string name, bool isAdmin, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(user);
        var secret = SecretPrefix + Base64Url(RandomNumberGenerator.GetBytes(32));
        var prefix = secret[..(SecretPrefix.Length + 6)];
        var now = clock.GetUtcNow();
        long id = await people.InsertTokenAsync(user, name, prefix, Hash(secret), isAdmin, now, ct);
        return new(new(id, user, name, prefix, isAdmin, now, null), secret);
    }

    /// <summary>Tokens of one user, or of everyone when <paramref name="user"/> is null.</summary>
    public async Task<IReadOnlyList<PersonToken>> ListAsync(string? user, CancellationToken ct = default) =>
        await people.ListTokensAsync(user, ct);

    /// <summary>Revokes token <paramref name="id"/> if it belongs to <paramref name="user"/> (any user when null).</summary>
    public async Task<bool> RevokeAsync(long id, string? user, CancellationToken ct = default) =>
        await people.RevokeTokenAsync(id, user, clock.GetUtcNow(), ct);

    /// <summary>The live token whose secret this is, or null; records when it was last used.</summary>
    public async Task<PersonToken?> ValidateAsync(string secret, CancellationToken ct = default)
    {
        if (!secret.StartsWith(SecretPrefix, StringComparison.Ordinal) || secret.Length > 128)
            return null;
        return await people.UseTokenAsync(Hash(secret), clock.GetUtcNow(), ct);
    }

    private static byte[] Hash(string secret) => SHA256.HashData(Encoding.UTF8.GetBytes(secret));

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
