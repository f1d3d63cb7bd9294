using ZImage.Engine.History;
using ZImage.Web.Api.Auth;

namespace ZImage.Web.Api.Images;

/// <summary>
/// The caller's "share my pictures with the team" choice, as the History tab's switch sets it. The engine's picture rule
/// (<see cref="Caller.CanSee"/>) applies it to history, the picture files and the queue's prompts.
/// </summary>
public static class SharingEndpoints
{
    public static RouteGroupBuilder MapSharingEndpoints(this RouteGroupBuilder api)
    {
        var sharing = api.MapGroup("/sharing").WithTags("Images");
        sharing.MapGet("", async (HttpContext http, IHistoryService history) =>
                TypedResults.Ok(new SharingDto(await history.SharesAsync(http.Caller(), http.RequestAborted))))
            .WithSummary("Whether the caller shares their pictures and queued prompts with the team (never chosen: on in open mode, off with accounts or tokens).");
        sharing.MapPut("", async Task<IResult> (HttpContext http, IHistoryService history) =>
            {
                var body = await ApiJson.ReadAsync<SharingRequest>(http);
                if (body.Error is not null)
                    return body.Error;
                if (body.Value!.Shares is not { } shares)
                    return ApiProblems.Invalid("shares", "shares is required (true or false).");
                await history.SetSharingAsync(http.Caller(), shares, http.RequestAborted);
                return TypedResults.Ok(new SharingDto(shares));
            })
            .Accepts<SharingRequest>("application/json")
            .Produces<SharingDto>()
            .WithSummary("Sets whether the caller's pictures and queued prompts are shown to the rest of the team.");
        return api;
    }
}

public sealed record SharingRequest(bool? Shares);

public sealed record SharingDto(bool Shares);
