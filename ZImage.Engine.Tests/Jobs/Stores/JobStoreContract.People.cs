using ZImage.Engine.Jobs;

namespace ZImage.Engine.Tests.Jobs.Stores;

/// <summary>People, tokens, the setup code and preferences: the same behaviour from the SQLite file and from PostgreSQL.</summary>
public abstract partial class JobStoreContract
{
    private IPeopleStore People => (IPeopleStore)Store;

    private static PersonAccount Person(string name, bool admin = false, string stamp = "S1") =>
        new(name, "hash-of-" + name, admin, stamp, T0);

    private static byte[] TokenHash(int n) => [.. Enumerable.Repeat((byte)n, 32)];

    [StoreFact]
    public async Task AnAccountReadsBackWithEveryFieldAndNamesCompareWithoutCase()
    {
        Assert.Equal(AccountInsert.Created, await People.InsertAccountAsync(Person("Lin Wei", admin: true), onlyIfNone: false));
        Assert.Equal(AccountInsert.NameTaken, await People.InsertAccountAsync(Person("LIN WEI"), onlyIfNone: false));
        Assert.Equal(AccountInsert.Created, await People.InsertAccountAsync(Person("ann"), onlyIfNone: false));

        Assert.Equal(Person("Lin Wei", admin: true), await People.FindAccountAsync("lin wei"));
        Assert.Null(await People.FindAccountAsync("nobody"));
        Assert.Equal(["ann", "Lin Wei"], (await People.ListAccountsAsync()).Select(a => a.Name));

        await People.ReplacePasswordHashAsync("LIN wei", "stronger hash");
        Assert.Equal(("stronger hash", "S1"), ((await People.FindAccountAsync("Lin Wei"))!.PasswordHash, (await People.FindAccountAsync("Lin Wei"))!.Stamp));
    }

    [StoreFact]
    public async Task TheSetupCodeIsOnePerStudioAndTheFirstAdministratorSpendsIt()
    {
        Assert.Null(await People.ReadSetupCodeAsync());
        Assert.Equal("AAAA-BBBB-CCCC", await People.SetupCodeAsync("AAAA-BBBB-CCCC", T0));
        // A second process starting asks with its own candidate and gets the studio's code.
        Assert.Equal("AAAA-BBBB-CCCC", await People.SetupCodeAsync("ZZZZ-YYYY-XXXX", T0));

        Assert.Equal(AccountInsert.Created, await People.InsertAccountAsync(Person("root", admin: true), onlyIfNone: true));
        Assert.Null(await People.ReadSetupCodeAsync());
        Assert.Equal(AccountInsert.AlreadySetUp, await People.InsertAccountAsync(Person("mallory", admin: true), onlyIfNone: true));
        Assert.Null(await People.SetupCodeAsync("QQQQ-QQQQ-QQQQ", T0));
    }

    [StoreFact]
    public async Task TokensAreFoundByHashListedPerPersonAndRevokedOnlyByTheirOwner()
    {
        long a = await People.InsertTokenAsync("ann", "laptop", "zit_aaaaaa", TokenHash(1), isAdmin: false, T0);
        long b = await People.InsertTokenAsync("bob", "ci", "zit_bbbbbb", TokenHash(2), isAdmin: true, T0);
        Assert.NotEqual(a, b);

        var used = (await People.UseTokenAsync(TokenHash(1), T0.AddMinutes(5)))!;
        Assert.Equal(new PersonToken(a, "ann", "laptop", "zit_aaaaaa", false, T0, T0.AddMinutes(5)), used);
        Assert.Null(await People.UseTokenAsync(TokenHash(9), T0));
        Assert.Equal([a], (await People.ListTokensAsync("ANN")).Select(t => t.Id));
        Assert.Equal([a, b], (await People.ListTokensAsync(null)).Select(t => t.Id));

        Assert.False(await People.RevokeTokenAsync(a, "bob", T0));
        Assert.True(await People.RevokeTokenAsync(a, "Ann", T0));
        Assert.False(await People.RevokeTokenAsync(a, null, T0));
        Assert.Null(await People.UseTokenAsync(TokenHash(1), T0));
        Assert.True(await People.RevokeTokenAsync(b, null, T0));
        Assert.Empty(await People.ListTokensAsync(null));
    }

    [StoreFact]
    public async Task NewCredentialsMoveTheStampAndRevokeEveryTokenOfThatPersonOnly()
    {
        await People.InsertAccountAsync(Person("ann"), onlyIfNone: false);
        await People.InsertTokenAsync("ann", "one", "zit_1", TokenHash(1), false, T0);
        await People.InsertTokenAsync("Ann", "two", "zit_2", TokenHash(2), false, T0);
        await People.InsertTokenAsync("bob", "bob's", "zit_3", TokenHash(3), false, T0);

        Assert.True(await People.SetCredentialsAsync("ANN", "new hash", "S2", T0.AddHours(1)));
        Assert.False(await People.SetCredentialsAsync("nobody", "x", "S3", T0));

        Assert.Equal(new PersonAccount("ann", "new hash", false, "S2", T0.AddHours(1)), await People.FindAccountAsync("ann"));
        Assert.Empty(await People.ListTokensAsync("ann"));
        Assert.NotNull(await People.UseTokenAsync(TokenHash(3), T0));
    }

    [StoreFact]
    public async Task RemovingAPersonRevokesTheirTokensForgetsTheirChoicesAndKeepsTheLastAdministrator()
    {
        await People.InsertAccountAsync(Person("root", admin: true), onlyIfNone: false);
        await People.InsertAccountAsync(Person("ann"), onlyIfNone: false);
        await People.InsertTokenAsync("ann", "one", "zit_1", TokenHash(1), false, T0);
        await People.SavePreferenceAsync("ann", "language", "zh-CN");

        Assert.False(await People.DeleteAccountAsync("root", T0));
        Assert.True(await People.DeleteAccountAsync("ANN", T0));
        Assert.False(await People.DeleteAccountAsync("ann", T0));

        Assert.Null(await People.FindAccountAsync("ann"));
        Assert.Null(await People.UseTokenAsync(TokenHash(1), T0));
        Assert.Empty(await People.ReadPreferencesAsync("ann"));
        Assert.NotNull(await People.FindAccountAsync("root"));
    }

    [StoreFact]
    public async Task PreferencesAreKeptPerPersonReplacedAndForgotten()
    {
        await People.SavePreferenceAsync("ann", "language", "en");
        await People.SavePreferenceAsync("Ann", "language", "zh-CN");
        await People.SavePreferenceAsync("ann", "theme", "dark");
        await People.SavePreferenceAsync("bob", "theme", "light");

        Assert.Equal(new Dictionary<string, string> { ["language"] = "zh-CN", ["theme"] = "dark" }, await People.ReadPreferencesAsync("ANN"));
        await People.SavePreferenceAsync("ann", "theme", null);
        Assert.Equal(new Dictionary<string, string> { ["language"] = "zh-CN" }, await People.ReadPreferencesAsync("ann"));
        Assert.Equal(new Dictionary<string, string> { ["theme"] = "light" }, await People.ReadPreferencesAsync("bob"));
    }

    [StoreFact]
    public async Task CookieKeysAreKeptInTheOrderTheyWereMadeAndNeverReplaced()
    {
        await People.SaveKeyAsync("key-b", "<key id=\"b\" />", T0);
        await People.SaveKeyAsync("key-a", "<key id=\"a\" />", T0.AddDays(90));
        await People.SaveKeyAsync("key-b", "<key id=\"changed\" />", T0.AddDays(91));

        Assert.Equal(["<key id=\"b\" />", "<key id=\"a\" />"], await People.ReadKeyRingAsync());
    }
}
