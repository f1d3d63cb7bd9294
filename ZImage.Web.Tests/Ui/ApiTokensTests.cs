using System.Net;
using Microsoft.Extensions.DependencyInjection;
using ZImage.Web.Api.Auth;
using ZImage.Web.Components.Pages;
using ZImage.Web.Tests.Api;
using ZImage.Web.Tests.Kit;
using ZImage.Web.Ui.Identity;
using ZImage.Web.Ui.Tokens;

namespace ZImage.Web.Tests.Ui;

/// <summary>API tokens in Settings (accounts mode): create and see the secret once, list, revoke.</summary>
public sealed class ApiTokensTests
{
    private static readonly Dictionary<string, string?> Accounts = new() { ["ZImage:Web:Mode"] = "Accounts" };

    [Fact]
    public async Task ACreatedTokenShowsItsSecretOnceAndTheListOnlyItsPrefix()
    {
        await using var studio = await TestStudio.StartAsync(userName: "Lin", settings: Accounts);
        var model = new ApiTokensModel(studio.Get<ApiTokenStore>(), studio.User) { Name = "  batch script  " };

        Assert.True(await model.CreateAsync());

        var created = Assert.IsType<CreatedApiToken>(model.JustCreated);
        Assert.StartsWith(ApiTokenStore.SecretPrefix, created.Secret);
        var listed = Assert.Single(model.Tokens);
        Assert.Equal(("batch script", "Lin", false), (listed.Name, listed.User, listed.IsAdmin));
        Assert.StartsWith(listed.Prefix, created.Secret);
        Assert.True(listed.Prefix.Length < created.Secret.Length / 2);
        Assert.Equal("", model.Name);

        // The next action hides the secret for good; the store never had it in the clear.
        await model.LoadAsync();
        model.DismissSecret();
        Assert.Null(model.JustCreated);
        Assert.DoesNotContain(created.Secret, Decoded(await studio.RenderAsync<Settings>()));
        Assert.Equal("Lin", (await studio.Get<ApiTokenStore>().ValidateAsync(created.Secret))?.User);
    }

    [Fact]
    public async Task ATokenWithoutANameIsRefusedAndNothingIsCreated()
    {
        await using var studio = await TestStudio.StartAsync(settings: Accounts);
        var model = new ApiTokensModel(studio.Get<ApiTokenStore>(), studio.User) { Name = "   " };
        Assert.False(await model.CreateAsync());
        Assert.Equal("apiTokens.problem.name", model.ProblemKey);
        Assert.Null(model.JustCreated);

        model.Name = new string('x', TokenEndpoints.MaxNameLength + 1);
        Assert.False(await model.CreateAsync());
        Assert.Empty(await studio.Get<ApiTokenStore>().ListAsync(null));
        Assert.Equal("Please give the token a name of 1 to 100 characters.", studio.Localizer.Format("apiTokens.problem.name", TokenEndpoints.MaxNameLength));
    }

    [Fact]
    public async Task APersonSeesAndRevokesOnlyTheirOwnTokensAndCannotMakeAdminOnes()
    {
        await using var studio = await TestStudio.StartAsync(userName: "Bob", settings: Accounts);
        var store = studio.Get<ApiTokenStore>();
        var anns = await store.CreateAsync("Ann", "Ann's script", isAdmin: false);
        var model = new ApiTokensModel(store, studio.User) { Name = "mine", AsAdmin = true };

        await model.CreateAsync();
        var mine = model.JustCreated!.Secret;
        Assert.Equal(["mine"], model.Tokens.Select(t => t.Name));
        Assert.False(model.Tokens[0].IsAdmin);

        Assert.False(await model.RevokeAsync(anns.Info.Id));
        Assert.Equal("apiTokens.problem.notYours", model.ProblemKey);
        Assert.NotNull(await store.ValidateAsync(anns.Secret));

        Assert.True(await model.RevokeAsync(model.Tokens[0].Id));
        Assert.Empty(model.Tokens);
        Assert.Null(await store.ValidateAsync(mine));
    }

    [Fact]
    public async Task AnAdministratorSeesEveryonesTokensRevokesAnyAndMayGrantAdminRights()
    {
        await using var studio = await TestStudio.StartAsync(userName: "Lin", settings: Accounts, isAdmin: true);
        var store = studio.Get<ApiTokenStore>();
        var anns = await store.CreateAsync("Ann", "Ann's script", isAdmin: false);
        var model = new ApiTokensModel(store, studio.User) { Name = "ops", AsAdmin = true };

        await model.CreateAsync();
        Assert.Equal([("Ann", false), ("Lin", true)], model.Tokens.Select(t => (t.User, t.IsAdmin)));

        var html = Decoded(await studio.RenderAsync<Settings>());
        Assert.Contains("id=\"api-tokens\"", html);
        Assert.Contains("Ann's script", html);
        Assert.Contains(anns.Info.Prefix + "…", html);
        Assert.Contains("id=\"token-admin\"", html);

        Assert.True(await model.RevokeAsync(anns.Info.Id));
        Assert.Null(await store.ValidateAsync(anns.Secret));
    }

    [Fact]
    public async Task SomeoneWhoIsNotAnAdministratorStillGetsTheirTokensInSettings()
    {
        await using var studio = await TestStudio.StartAsync(userName: "Bob", settings: Accounts);
        await studio.Get<ApiTokenStore>().CreateAsync("Bob", "render farm", isAdmin: false);
        await studio.Get<ApiTokenStore>().CreateAsync("Ann", "Ann's secret project", isAdmin: false);

        var html = Decoded(await studio.RenderAsync<Settings>());

        Assert.Contains("id=\"settings-admin-only\"", html);
        Assert.DoesNotContain("id=\"model-folder\"", html);
        Assert.Contains("render farm", html);
        Assert.DoesNotContain("Ann's secret project", html);
        Assert.DoesNotContain("id=\"token-admin\"", html);
    }

    [Fact]
    public async Task ATokenMadeInSettingsOpensTheApiAsThatPersonUntilItIsRevoked()
    {
        await using var factory = new AccountsApiFactory();
        var user = new UiUser();
        user.SignIn("Mei", isAdmin: false);
        var model = new ApiTokensModel(factory.Services.GetRequiredService<ApiTokenStore>(), user) { Name = "webuiapi" };
        await model.CreateAsync();
        var client = factory.ClientWithToken(model.JustCreated!.Secret);

        var me = await (await client.GetAsync("/api/v1/me")).JsonAsync();
        Assert.Equal("Mei", me.GetProperty("user").GetString());
        await model.LoadAsync();
        Assert.NotNull(model.Tokens.Single().LastUsedAt);

        await model.RevokeAsync(model.Tokens.Single().Id);
        using var revoked = await client.GetAsync("/api/v1/me");
        Assert.Equal(HttpStatusCode.Unauthorized, revoked.StatusCode);
    }

    private static string Decoded(string html) => System.Net.WebUtility.HtmlDecode(html);
}
