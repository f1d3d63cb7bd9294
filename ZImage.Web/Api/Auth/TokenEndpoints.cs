using Microsoft.Extensions.Options;
using ZImage.Engine.Jobs;

namespace ZImage.Web.Api.Auth;

public sealed record TokenCreateRequest(string? Name, string? User, bool? IsAdmin);

public sealed record TokenDto(long Id, string User, string Name, string Prefix, bool IsAdmin, DateTimeOffset CreatedAt, DateTimeOffset? LastUsedAt)
{
    public static TokenDto From(PersonToken t) => new(t.Id, t.User, t.Name, t.Prefix, t.IsAdmin, t.CreatedAt, t.LastUsedAt);
}

/// <summary>The secret appears in this response only; the store keeps its hash.</summary>
public sealed record TokenCreatedDto(TokenDto Token, string Secret);

/// <summary>
/// Token management over HTTP for scripts; the Settings page uses <see cref="ApiTokenStore"/> directly.
/// Callers manage their own tokens; admins may create tokens for other users and revoke any.
/// </summary>
public static class TokenEndpoints
{
    public const int MaxNameLength = 100;

    public static RouteGroupBuilder MapTokenEndpoints(this RouteGroupBuilder api)
    {
        var tokens = api.MapGroup("/tokens").WithTags("Tokens");
        tokens.MapGet("/", async (HttpContext http, ApiTokenStore store) =>
        {
            var caller = http.Caller();
            var list = await store.ListAsync(caller.IsAdmin ? null : caller.UserName, http.RequestAborted);
            return TypedResults.Ok(list.Select(TokenDto.From).ToList());
        });
        tokens.MapPost("/", async Task<IResult> (HttpContext http, ApiTokenStore store, IOptionsMonitor<ApiOptions> options) =>
            {
                // In open mode anyone can claim any name; a token minted there would carry that claim into accounts mode.
                if (options.CurrentValue.AuthMode != ApiAuthMode.Accounts)
                    return ApiProblems.Status(StatusCodes.Status403Forbidden,
                        "Tokens can be created over the API only in accounts mode, by a caller who already has one; create the first ones in Settings.");
                var body = await ApiJson.ReadAsync<TokenCreateRequest>(http);
                if (body.Error is not null)
                    return body.Error;
                var caller = http.Caller();
                var req = body.Value!;
                var name = req.Name?.Trim() ?? "";
                if (name.Length is 0 or > MaxNameLength)
                    return ApiProblems.Invalid("name", $"name must be 1 to {MaxNameLength} characters (got {name.Length}).");
                var user = req.User is null ? caller.UserName : CallerResolver.Normalize(req.User);
                if (user is null)
                    return ApiProblems.Invalid("user", $"user must be 1 to {CallerResolver.MaxUserNameLength} printable characters.");
                if (!caller.IsAdmin && (!caller.Owns(user) || req.IsAdmin == true))
                    return ApiProblems.Status(StatusCodes.Status403Forbidden, "Only admins may create tokens for other users or admin tokens.");
                var created = await store.CreateAsync(user, name, req.IsAdmin ?? false, http.RequestAborted);
                return TypedResults.Created($"/api/v1/tokens/{created.Info.Id}", new TokenCreatedDto(TokenDto.From(created.Info), created.Secret));
            })
            .Accepts<TokenCreateRequest>("application/json")
            .Produces<TokenCreatedDto>(StatusCodes.Status201Created)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status403Forbidden);
        tokens.MapDelete("/{id:long}", async Task<IResult> (long id, HttpContext http, ApiTokenStore store) =>
            {
                var caller = http.Caller();
                return await store.RevokeAsync(id, caller.IsAdmin ? null : caller.UserName, http.RequestAborted)
                    ? TypedResults.NoContent()
                    : ApiProblems.Status(StatusCodes.Status404NotFound, $"No live token {id} of yours.");
            })
            .Produces(StatusCodes.Status204NoContent)
            .ProducesProblem(StatusCodes.Status404NotFound);
        return api;
    }
}
