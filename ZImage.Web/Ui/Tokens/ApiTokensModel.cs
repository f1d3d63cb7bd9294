using ZImage.Engine.Jobs;
using ZImage.Web.Api.Auth;
using ZImage.Web.Ui.Identity;

namespace ZImage.Web.Ui.Tokens;

/// <summary>
/// The "API tokens" part of Settings (accounts mode): a person creates tokens for their scripts, sees the secret exactly
/// once, lists and revokes them. Administrators see and revoke everyone's and may give a token administrator rights;
/// others only ever touch their own. The store keeps only a hash, so a secret lost is a token to revoke and replace.
/// </summary>
public sealed class ApiTokensModel(ApiTokenStore store, UiUser user)
{
    public string Name { get; set; } = "";
    /// <summary>Only honoured for administrators: a script token that may see and cancel everyone's jobs.</summary>
    public bool AsAdmin { get; set; }

    public IReadOnlyList<PersonToken> Tokens { get; private set; } = [];

    /// <summary>The token made by the last <see cref="CreateAsync"/>; cleared by any other action, so it is shown once.</summary>
    public CreatedApiToken? JustCreated { get; private set; }

    /// <summary>A text key (apiTokens.problem.*) when the last action was refused.</summary>
    public string? ProblemKey { get; private set; }

    public bool SeesEveryone => user.IsAdmin;

    public async Task LoadAsync(CancellationToken ct = default) =>
        Tokens = await store.ListAsync(user.IsAdmin ? null : user.Caller.UserName, ct);

    public async Task<bool> CreateAsync(CancellationToken ct = default)
    {
        JustCreated = null;
        var name = Name.Trim();
        if (name.Length is 0 or > TokenEndpoints.MaxNameLength)
        {
            ProblemKey = "apiTokens.problem.name";
            return false;
        }
        ProblemKey = null;
        JustCreated = await store.CreateAsync(user.Caller.UserName, name, user.IsAdmin && AsAdmin, ct);
        (Name, AsAdmin) = ("", false);
        await LoadAsync(ct);
        return true;
    }

    public async Task<bool> RevokeAsync(long id, CancellationToken ct = default)
    {
        JustCreated = null;
        var revoked = await store.RevokeAsync(id, user.IsAdmin ? null : user.Caller.UserName, ct);
        ProblemKey = revoked ? null : "apiTokens.problem.notYours";
        await LoadAsync(ct);
        return revoked;
    }

    public void DismissSecret() => JustCreated = null;
}
