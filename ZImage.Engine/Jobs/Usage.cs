using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace ZImage.Engine.Jobs;

/// <summary>One person's day (UTC date of each job's end): jobs ended, pictures made, GPU time held.</summary>
public sealed record UsageDay(string UserName, DateOnly Day, int Jobs, int Pictures, TimeSpan GpuTime);

public enum PriceForm
{
    /// <summary>A price per GPU hour, as a cloud bills a rented card (by the second).</summary>
    PerGpuHour,
    /// <summary>The card's draw in watts times the electricity tariff per kWh, for a box of one's own.</summary>
    Energy,
}

/// <summary>
/// How GPU time becomes money (<c>ZImage:Usage</c>, edited in Settings). Cost = GPU hours × price per hour, or
/// GPU hours × watts / 1000 × tariff per kWh. Decimal arithmetic: a report's total is the sum of its rows exactly.
/// </summary>
public sealed class UsageOptions
{
    public const string Section = "ZImage:Usage";
    public const int MaxCurrencyLength = 8;

    public PriceForm PriceForm { get; set; } = PriceForm.PerGpuHour;
    [Range(0, 1_000_000, ErrorMessage = "ZImage:Usage:PricePerGpuHour must be between 0 and 1000000.")]
    public decimal PricePerGpuHour { get; set; }
    [Range(0, 100_000, ErrorMessage = "ZImage:Usage:Watts must be between 0 and 100000.")]
    public int Watts { get; set; } = 450;
    [Range(0, 1_000, ErrorMessage = "ZImage:Usage:TariffPerKWh must be between 0 and 1000.")]
    public decimal TariffPerKWh { get; set; }
    [Required, StringLength(MaxCurrencyLength, MinimumLength = 1, ErrorMessage = "ZImage:Usage:Currency must be 1 to 8 characters, e.g. CNY.")]
    public string Currency { get; set; } = "CNY";

    /// <summary>The cost of <paramref name="gpuTime"/>, rounded to 4 decimals (a picture can cost less than a cent).</summary>
    public decimal CostOf(TimeSpan gpuTime)
    {
        decimal hours = (decimal)gpuTime.TotalMilliseconds / 3_600_000m;
        decimal perHour = PriceForm == PriceForm.Energy ? Watts / 1000m * TariffPerKWh : PricePerGpuHour;
        return Math.Round(hours * perHour, 4, MidpointRounding.AwayFromZero);
    }
}

/// <summary>A usage row with its cost.</summary>
public sealed record UsageRow(string UserName, DateOnly Day, int Jobs, int Pictures, double GpuSeconds, decimal Cost);

/// <summary>Totals of one person over the report's period.</summary>
public sealed record UsageTotal(string UserName, int Jobs, int Pictures, double GpuSeconds, decimal Cost);

public sealed record UsageReport(DateOnly From, DateOnly To, string Currency, PriceForm PriceForm,
    IReadOnlyList<UsageRow> Days, IReadOnlyList<UsageTotal> People)
{
    public UsageTotal Total => new("", People.Sum(p => p.Jobs), People.Sum(p => p.Pictures), People.Sum(p => p.GpuSeconds), People.Sum(p => p.Cost));

    /// <summary>One row per person and day under a header; numbers in invariant culture.</summary>
    public string ToCsv()
    {
        var sb = new System.Text.StringBuilder("day,user,jobs,pictures,gpu_seconds,cost,currency\n");
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        foreach (var d in Days)
            sb.Append(Csv.Line(d.Day.ToString("yyyy-MM-dd", inv), d.UserName, d.Jobs.ToString(inv), d.Pictures.ToString(inv),
                d.GpuSeconds.ToString("0.###", inv), d.Cost.ToString("0.####", inv), Currency)).Append('\n');
        return sb.ToString();
    }
}

/// <param name="From">First day (UTC), inclusive.</param>
/// <param name="To">Last day (UTC), inclusive.</param>
/// <param name="UserName">One person; null: everyone the caller may see.</param>
public sealed record UsageQuery(DateOnly From, DateOnly To, string? UserName)
{
    public const int MaxDays = 366;

    public IReadOnlyList<ValidationProblem> Validate()
    {
        if (To < From)
            return [new("to", $"to must be on or after from (got from {From:yyyy-MM-dd}, to {To:yyyy-MM-dd}).") { Rule = "order" }];
        if (To.DayNumber - From.DayNumber + 1 > MaxDays)
            return [new("to", $"a report covers at most {MaxDays} days (got {To.DayNumber - From.DayNumber + 1}).") { Rule = "range", Args = [1, MaxDays] }];
        return [];
    }
}

public enum UsageRefusal
{
    None,
    Invalid,
    /// <summary>Someone who is not an admin asked for another person's usage.</summary>
    NotAllowed,
}

public sealed record UsageResult(UsageReport? Report, UsageRefusal Refusal, IReadOnlyList<ValidationProblem> Problems);

public interface IUsageService
{
    /// <summary>Admins see anyone (or everyone); others only themselves: no name means their own.</summary>
    Task<UsageResult> GetAsync(UsageQuery query, Caller caller, CancellationToken ct = default);
}

/// <summary>Usage from the jobs' stored GPU time, priced by <see cref="UsageOptions"/>.</summary>
public sealed class UsageService(IJobStore store, IOptionsMonitor<UsageOptions> options) : IUsageService
{
    public async Task<UsageResult> GetAsync(UsageQuery query, Caller caller, CancellationToken ct = default)
    {
        var problems = query.Validate();
        if (problems.Count > 0)
            return new(null, UsageRefusal.Invalid, problems);
        string? user = query.UserName;
        if (!caller.IsAdmin)
        {
            if (user is not null && !caller.Owns(user))
                return new(null, UsageRefusal.NotAllowed, []);
            user = caller.UserName;
        }
        var price = options.CurrentValue;
        var from = new DateTimeOffset(query.From.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
        var to = new DateTimeOffset(query.To.AddDays(1).ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
        var days = (await store.QueryUsageAsync(from, to, user, ct))
            .Select(d => new UsageRow(d.UserName, d.Day, d.Jobs, d.Pictures, d.GpuTime.TotalSeconds, price.CostOf(d.GpuTime)))
            .ToList();
        var people = days.GroupBy(d => d.UserName, Caller.NameComparer)
            .Select(g => new UsageTotal(g.Key, g.Sum(d => d.Jobs), g.Sum(d => d.Pictures), g.Sum(d => d.GpuSeconds), g.Sum(d => d.Cost)))
            .OrderByDescending(p => p.GpuSeconds).ThenBy(p => p.UserName, StringComparer.Ordinal)
            .ToList();
        return new(new UsageReport(query.From, query.To, price.Currency, price.PriceForm, days, people), UsageRefusal.None, []);
    }
}
