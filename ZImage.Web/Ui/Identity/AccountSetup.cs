using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using ZImage.Engine.Jobs;

namespace ZImage.Web.Ui.Identity;

/// <summary>
/// The first administrator of accounts mode. Whoever reaches the sign-in page first must not become the studio's
/// administrator just by arriving: on a start with nobody set up, a one-time code is printed on the server console,
/// and the first-run form asks for it. Only someone who can read the server's output can claim the studio.
/// The code is the studio's, kept in its store (<see cref="IPeopleStore.SetupCodeAsync"/>): every process sharing a
/// PostgreSQL database prints the same one, any of them accepts it, and making the administrator spends it for all.
/// </summary>
public sealed class AccountSetup(AccountStore accounts, IPeopleStore people, IOptions<UiOptions> options, TimeProvider clock, ILogger<AccountSetup> log) : IHostedService
{
    /// <summary>No 0/O or 1/I/L: the code is read off a terminal and typed by hand.</summary>
    private const string Alphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789";
    private readonly Lock _gate = new();
    private string? _code;

    /// <summary>The code this process printed while the first administrator was still to be made; null afterwards (and in open mode).</summary>
    public string? Code
    {
        get
        {
            lock (_gate)
                return _code;
        }
    }

    public async Task StartAsync(CancellationToken ct)
    {
        if (options.Value.Mode != UserMode.Accounts || (await accounts.ListAsync(ct)).Count > 0)
            return;
        // Three groups of four (about 59 bits): unguessable within the sign-in form's rate limit.
        var letters = RandomNumberGenerator.GetItems<char>(Alphabet, 12);
        var code = await people.SetupCodeAsync($"{new string(letters[..4])}-{new string(letters[4..8])}-{new string(letters[8..])}", clock.GetUtcNow(), ct);
        if (code is null)
            return;
        lock (_gate)
            _code = code;
        log.LogWarning("Accounts mode with no administrator yet. One-time setup code: {SetupCode}. Open the studio and type it on the sign-in page to create the administrator.", code);
    }

    public Task StopAsync(CancellationToken ct) => Task.CompletedTask;

    /// <summary>Against the studio's code as stored now, in constant time; spaces, dashes and letter case do not matter.</summary>
    public async Task<bool> MatchesAsync(string? typed, CancellationToken ct = default)
    {
        var expected = await people.ReadSetupCodeAsync(ct);
        if (expected is null || typed is null)
            return false;
        static byte[] Canonical(string s) => Encoding.ASCII.GetBytes(new string([.. s.Where(char.IsAsciiLetterOrDigit).Select(char.ToUpperInvariant)]));
        return CryptographicOperations.FixedTimeEquals(Canonical(expected), Canonical(typed));
    }

    /// <summary>The administrator exists (the store spent the code with it): this process forgets its copy.</summary>
    public void Spend()
    {
        lock (_gate)
            _code = null;
    }
}
