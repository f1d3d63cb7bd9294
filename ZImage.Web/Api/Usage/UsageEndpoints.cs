using System.Globalization;
using System.Text;
using ZImage.Engine.Jobs;
using ZImage.Web.Api.Auth;

namespace ZImage.Web.Api.Usage;

/// <summary>
/// <c>GET /api/v1/usage?from&amp;to&amp;user</c>: pictures, GPU seconds and cost per person and day. JSON, or CSV with
/// <c>format=csv</c> or <c>Accept: text/csv</c>. Admins may ask for anyone (no user: everyone); others get their own.
/// </summary>
public static class UsageEndpoints
{
    /// <summary>Without from/to: the last 30 days up to today (UTC).</summary>
    public const int DefaultDays = 30;

    public static RouteGroupBuilder MapUsageEndpoints(this RouteGroupBuilder api)
    {
        api.MapGet("/usage", GetAsync).WithTags("Usage")
            .Produces<UsageReportDto>()
            .Produces(StatusCodes.Status200OK, contentType: "text/csv")
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .WithSummary("Pictures, GPU seconds and cost per person and per day (UTC). Query: from, to (dates, inclusive; default the last 30 days), user (admins: anyone; others: only themselves), format=csv.");
        return api;
    }

    private static async Task<IResult> GetAsync(HttpContext http, IUsageService usage, TimeProvider clock)
    {
        var q = new ApiQuery(http.Request);
        var from = q.Date("from");
        var to = q.Date("to");
        var user = q.String("user");
        var format = q.String("format");
        if (format is not null and not ("csv" or "json"))
            q.Fail("format", $"format must be csv or json (got '{format}').");
        if (q.Error is not null)
            return q.Error;
        var today = DateOnly.FromDateTime(clock.GetUtcNow().UtcDateTime);
        var last = to is { } t ? DateOnly.FromDateTime(t.UtcDateTime) : today;
        var first = from is { } f ? DateOnly.FromDateTime(f.UtcDateTime) : last.AddDays(-(DefaultDays - 1));
        var result = await usage.GetAsync(new UsageQuery(first, last, string.IsNullOrWhiteSpace(user) ? null : user.Trim()), http.Caller(), http.RequestAborted);
        switch (result.Refusal)
        {
            case UsageRefusal.Invalid:
                return ApiProblems.Validation(result.Problems);
            case UsageRefusal.NotAllowed:
                return ApiProblems.Status(StatusCodes.Status403Forbidden, "Only administrators may see other people's usage; leave out user to see your own.", "user");
        }
        var report = result.Report!;
        bool csv = format == "csv" || (format is null && http.Request.Headers.Accept.Any(a => a?.Contains("text/csv", StringComparison.OrdinalIgnoreCase) == true));
        return csv
            ? TypedResults.Text(report.ToCsv(), "text/csv; charset=utf-8", Encoding.UTF8)
            : TypedResults.Ok(UsageReportDto.Of(report));
    }
}

public sealed record UsageDayDto(string Day, string User, int Jobs, int Pictures, double GpuSeconds, decimal Cost);

public sealed record UsagePersonDto(string User, int Jobs, int Pictures, double GpuSeconds, decimal Cost);

public sealed record UsageReportDto(string From, string To, string Currency, string PriceForm, IReadOnlyList<UsageDayDto> Days,
    IReadOnlyList<UsagePersonDto> People, UsagePersonDto Total)
{
    public static UsageReportDto Of(UsageReport r) => new(
        r.From.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), r.To.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        r.Currency, r.PriceForm == ZImage.Engine.Jobs.PriceForm.Energy ? "energy" : "perGpuHour",
        [.. r.Days.Select(d => new UsageDayDto(d.Day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), d.UserName, d.Jobs, d.Pictures, d.GpuSeconds, d.Cost))],
        [.. r.People.Select(p => new UsagePersonDto(p.UserName, p.Jobs, p.Pictures, p.GpuSeconds, p.Cost))],
        new UsagePersonDto("", r.Total.Jobs, r.Total.Pictures, r.Total.GpuSeconds, r.Total.Cost));
}
