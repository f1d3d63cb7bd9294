using System.Net;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using ZImage.Engine.Jobs;
using ZImage.Web.Tests.Kit;
using ZImage.Web.Ui.Identity;

namespace ZImage.Web.Tests.Ui;

public sealed partial class AccountsTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "zimage-accounts-tests", Guid.NewGuid().ToString("N"));

    /// <summary>The studio's store in the data folder, as the app opens it (zimage.db), without a host.</summary>
    private async Task<(AccountStore Accounts, ZImage.Web.Api.Auth.ApiTokenStore Tokens)> PeopleAsync()
    {
        var people = await StorePeople<SqliteJobStore>.OpenAsync(new SqliteJobStore(Path.Combine(_root, "data", DatabaseFile), Path.Combine(_root, "outputs"), legacyPeopleFolder: Path.Combine(_root, "data")));
        _stores.Add(people.Store);
        return (people.Accounts, people.Tokens);
    }

    private const string DatabaseFile = "zimage.db";
    private readonly List<SqliteJobStore> _stores = [];

    private async Task<AccountStore> StoreAsync() => (await PeopleAsync()).Accounts;

    [Fact]
    public async Task PasswordsAreHashedAndOnlyTheRightOneSignsIn()
    {
        var store = await StoreAsync();
        Assert.Empty(await store.CreateAsync("Lin Wei", "correct horse", isAdmin: true));
        Assert.Null(await store.VerifyAsync("Lin Wei", "wrong password"));
        Assert.Null(await store.VerifyAsync("Nobody", "correct horse"));
        var account = await store.VerifyAsync("lin wei", "correct horse");
        Assert.True(account is { Name: "Lin Wei", IsAdmin: true });
        var file = Path.Combine(_root, "data", DatabaseFile);
        foreach (var part in new[] { file, file + "-wal" }.Where(File.Exists))
        {
            await using var stream = new FileStream(part, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(stream, System.Text.Encoding.Latin1);
            Assert.DoesNotContain("correct horse", await reader.ReadToEndAsync());
        }
    }

    /// <summary>The previous build kept people and tokens in people.db: the studio's one database takes it over on start.</summary>
    [Fact]
    public async Task ThePreviousBuildsPeopleDbIsImportedIntoTheStudiosDatabase()
    {
        var data = Path.Combine(_root, "data");
        var hash = PreviousBuild.PasswordHash("Lin", "old password");
        const string secret = "zit_people-db-token-secret-0123456789";
        PreviousBuild.WritePeopleDb(data, [("Lin", hash, true, "STAMP1"), ("Mei", hash, false, "STAMP2")], [(7, "Mei", secret)]);

        var (accounts, tokens) = await PeopleAsync();

        Assert.Equal(["Lin", "Mei"], (await accounts.ListAsync()).Select(a => a.Name));
        var lin = await accounts.VerifyAsync("lin", "old password");
        Assert.True(lin is { IsAdmin: true, Stamp: "STAMP1" });
        var token = await tokens.ValidateAsync(secret);
        Assert.Equal((7L, "Mei"), (token?.Id, token?.User));
        Assert.True(File.Exists(Path.Combine(data, "people.db.imported")));
        Assert.False(File.Exists(Path.Combine(data, "people.db")));
        // A second start finds nothing to import and keeps what is there.
        var (again, _) = await PeopleAsync();
        Assert.Equal(2, (await again.ListAsync()).Count);
    }

    /// <summary>Earlier builds kept people in accounts.json and tokens in api-tokens.db; one store takes both over.</summary>
    [Fact]
    public async Task AccountsJsonAndTheOldTokenDatabaseAreImportedIntoTheOneStore()
    {
        var data = Path.Combine(_root, "data");
        Directory.CreateDirectory(data);
        var hash = new Microsoft.AspNetCore.Identity.PasswordHasher<string>().HashPassword("Lin", "old password");
        await File.WriteAllTextAsync(Path.Combine(data, "accounts.json"),
            $$"""[{"Name":"Lin","PasswordHash":"{{hash}}","IsAdmin":true},{"Name":"Mei","PasswordHash":"{{hash}}","IsAdmin":false}]""");
        const string secret = "zit_legacy-token-secret-0123456789";
        using (var old = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(data, "api-tokens.db")};Pooling=False"))
        {
            old.Open();
            using var create = old.CreateCommand();
            create.CommandText = """
                CREATE TABLE api_tokens (id INTEGER PRIMARY KEY AUTOINCREMENT, user TEXT NOT NULL, name TEXT NOT NULL, prefix TEXT NOT NULL,
                    hash BLOB NOT NULL UNIQUE, is_admin INTEGER NOT NULL, created_at INTEGER NOT NULL, last_used_at INTEGER, revoked_at INTEGER);
                INSERT INTO api_tokens (user, name, prefix, hash, is_admin, created_at) VALUES ('Lin', 'script', 'zit_legacy', $hash, 1, 1700000000000);
                PRAGMA user_version = 1;
                """;
            create.Parameters.AddWithValue("$hash", System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(secret)));
            create.ExecuteNonQuery();
        }

        var (accounts, tokens) = await PeopleAsync();

        Assert.Equal(["Lin", "Mei"], (await accounts.ListAsync()).Select(a => a.Name));
        Assert.True((await accounts.VerifyAsync("lin", "old password"))?.IsAdmin);
        Assert.Equal("Lin", (await tokens.ValidateAsync(secret))?.User);
        Assert.True(File.Exists(Path.Combine(data, "accounts.json.imported")));
        Assert.True(File.Exists(Path.Combine(data, "api-tokens.db.imported")));
        Assert.False(File.Exists(Path.Combine(data, "accounts.json")));

        // One store: removing a person revokes their tokens in the same step.
        Assert.Empty(await accounts.CreateAsync("Second Admin", "long enough", isAdmin: true));
        Assert.True(await accounts.DeleteAsync("Lin"));
        Assert.Null(await tokens.ValidateAsync(secret));
        Assert.Empty(await tokens.ListAsync("Lin"));
    }

    [Fact]
    public async Task BadNamesShortPasswordsAndDuplicatesAreRefusedNamingTheField()
    {
        var store = await StoreAsync();
        Assert.Equal(["name", "password"], (await store.CreateAsync("  ", "short", false)).Select(p => p.Field));
        Assert.Empty(await store.CreateAsync("Ann", "long enough", false));
        Assert.Equal("accounts.problem.taken", Assert.Single(await store.CreateAsync("ANN", "long enough", false)).TextKey);
    }

    [Fact]
    public async Task TheFirstRunAdminCanOnlyBeCreatedOnceAndTheLastAdminStays()
    {
        var store = await StoreAsync();
        Assert.Empty(await store.CreateAsync("Admin", "long enough", isAdmin: true, onlyIfNone: true));
        Assert.Equal("accounts.problem.alreadySetUp", Assert.Single(await store.CreateAsync("Mallory", "long enough", true, onlyIfNone: true)).TextKey);
        Assert.False(await store.DeleteAsync("Admin"));
        Assert.Empty(await store.CreateAsync("Bob", "long enough", false));
        Assert.True(await store.DeleteAsync("Bob"));
    }

    [Fact]
    public async Task InAccountsModePagesNeedSignInAndTheAdministratorIsCreatedOnFirstRun()
    {
        await using var factory = new WebApplicationFactory<Program>().WithWebHostBuilder(web =>
        {
            web.UseSetting("ZImage:Web:Mode", "Accounts");
            web.UseSetting("ZImage:Jobs:DataDirectory", Path.Combine(_root, "data"));
            web.UseSetting("ZImage:Jobs:OutputDirectory", Path.Combine(_root, "outputs"));
        });
        var client = factory.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = true });

        var anonymous = await client.GetAsync("/");
        Assert.Equal(HttpStatusCode.Redirect, anonymous.StatusCode);
        Assert.StartsWith("/signin", anonymous.Headers.Location!.PathAndQuery);

        var signInPage = await client.GetStringAsync("/signin");
        Assert.Contains("Create the administrator", signInPage);
        var token = AntiforgeryField().Match(signInPage).Groups[1].Value;
        Assert.NotEmpty(token);

        Dictionary<string, string> Form(string code, string confirm) => new()
        {
            ["__RequestVerificationToken"] = token,
            ["name"] = "Lin",
            ["password"] = "a long password",
            ["confirm"] = confirm,
            ["setupCode"] = code,
        };
        // Arriving first is not enough: the code printed on the server console is asked for, and the password twice.
        var code = factory.Services.GetRequiredService<AccountSetup>().Code!;
        foreach (var (typed, confirm, error) in new[] { ("", "a long password", "setupCode"), ("ABCD-EFGH-JKMN", "a long password", "setupCode"), (code, "a long passwort", "confirm") })
        {
            using var refused = await client.PostAsync("/ui/setup-admin", new FormUrlEncodedContent(Form(typed, confirm)));
            Assert.Equal($"/signin?error=accounts.problem.{error}", refused.Headers.Location!.ToString());
        }
        Assert.Contains("Create the administrator", await client.GetStringAsync("/signin"));

        var setup = await client.PostAsync("/ui/setup-admin", new FormUrlEncodedContent(Form(code.ToLowerInvariant().Replace("-", " "), "a long password")));
        Assert.Equal(HttpStatusCode.Redirect, setup.StatusCode);
        Assert.Equal("/settings", setup.Headers.Location!.ToString());
        // The code is spent.
        Assert.Null(factory.Services.GetRequiredService<AccountSetup>().Code);

        var home = await client.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, home.StatusCode);
        Assert.Contains("Lin", await home.Content.ReadAsStringAsync());
    }

    [GeneratedRegex(@"name=""__RequestVerificationToken"" value=""([^""]+)""")]
    private static partial Regex AntiforgeryField();

    public void Dispose()
    {
        foreach (var store in _stores)
            store.DisposeAsync().AsTask().GetAwaiter().GetResult();
        if (Directory.Exists(_root))
            Directory.Delete(_root, recursive: true);
    }
}
