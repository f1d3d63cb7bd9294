using Microsoft.Extensions.Options;
using ZImage.Engine.Jobs.Batches;
using ZImage.Web.Ui.Identity;

namespace ZImage.Web.Ui.Batches;

/// <summary>
/// The batch page's ZIP download, <c>/ui/batches/{id}/zip</c>: the person signed in (accounts mode) or named by the
/// UI's name cookie (open mode), with the same rule as the API: owners and admins only, anyone else gets 404.
/// </summary>
public static class BatchZipEndpoint
{
    public static string Url(string id) => $"ui/batches/{id}/zip";

    public static IEndpointConventionBuilder MapZImageBatchZip(this IEndpointRouteBuilder app) =>
        app.MapGet("/ui/batches/{id}/zip", async Task<IResult> (string id, HttpContext http, IBatchService batches, BatchArchive archive, IOptions<UiOptions> options) =>
        {
            Caller? caller = options.Value.Mode == UserMode.Accounts
                ? http.User.Identity?.Name is { } name ? new Caller(name, http.User.IsInRole(UiRoles.Admin)) : null
                : UiUser.Normalize(Uri.UnescapeDataString(http.Request.Cookies[UiUser.NameCookie] ?? "")) is { } open ? new Caller(open) : null;
            if (caller is null || await batches.GetAsync(id, caller, http.RequestAborted) is not { } batch)
                return Results.NotFound();
            if (batch.Status == BatchStatus.Running)
                return Results.Conflict();
            return Results.File(await archive.GetOrBuildAsync(batch, http.RequestAborted), "application/zip", $"batch-{batch.Id}.zip");
        });
}
