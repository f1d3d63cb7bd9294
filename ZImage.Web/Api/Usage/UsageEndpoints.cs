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
            ? TypedResults.Text(ToCsv(report), "text/csv; charset=utf-8", Encoding.UTF8)
            : TypedResults.Ok(UsageReportDto.Of(report));
    }

    /// <summary>One row per person and day, with a header; numbers in invariant culture, text quoted when needed.</summary>
    public static string ToCsv(UsageReport report)
    {
        var sb = new StringBuilder("day,user,jobs,pictures,gpu_seconds,cost,currency\n");
        foreach (var d in report.Days)
        {
            sb.Append(d.Day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)).Append(',')
                .Append(Csv.Field(d.UserName)).Append(',')
                .Append(d.Jobs.ToString(CultureInfo.InvariantCulture)).Append(',')
                .Append(d.Pictures.ToString(CultureInfo.InvariantCulture)).Append(',')
                .Append(d.GpuSeconds.ToString("0.###", CultureInfo.InvariantCulture)).Append(',')
                .Append(d.Cost.ToString("0.####", CultureInfo.InvariantCulture)).Append(',')
                .Append(Csv.Field(report.Currency)).Append('\n');
        }
        return sb.ToString();
    }
}

/// <summary>CSV fields as RFC 4180 writes them; a leading = + - @ is prefixed with ' so a spreadsheet never runs it.</summary>
public static class Csv
{
    public static string Field(string value)
    {
        if (value.Length > 0 && value[0] is '=' or '+' or '-' or '@')
            value = "'" + value;
        return value.IndexOfAny([',', '"', '\n', '\r']) < 0 ? value : "\"" + value.Replace("\"", "\"\"") + "\"";
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
