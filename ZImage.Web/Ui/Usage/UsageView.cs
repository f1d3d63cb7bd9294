using System.Globalization;
using ZImage.Engine.Jobs;

namespace ZImage.Web.Ui.Usage;

/// <summary>
/// The usage page's state (no markup): the period, the person an admin picked, the report, and the chart's series
/// (GPU minutes per day, one stacked series per person). Everyone else sees only themselves: the service decides.
/// </summary>
public sealed class UsageView(IUsageService usage, TimeProvider clock)
{
    public static readonly IReadOnlyList<int> Periods = [7, 30, 90];

    public int Days { get; private set; } = 30;
    public string? Person { get; private set; }
    public UsageReport? Report { get; private set; }
    public IReadOnlyList<string> Labels { get; private set; } = [];

    /// <summary>The chart labels every nth day: at most <see cref="MaxAxisLabels"/> dates, which fit a phone's width.</summary>
    public int LabelInterval => Math.Max(1, (Labels.Count + MaxAxisLabels - 1) / MaxAxisLabels);

    public const int MaxAxisLabels = 8;
    public IReadOnlyList<(string Person, double[] GpuMinutes)> Series { get; private set; } = [];

    public async Task LoadAsync(Caller caller, int? days = null, string? person = null, bool clearPerson = false)
    {
        Days = days ?? Days;
        Person = clearPerson ? null : person ?? Person;
        var today = DateOnly.FromDateTime(clock.GetUtcNow().UtcDateTime);
        var result = await usage.GetAsync(new UsageQuery(today.AddDays(-(Days - 1)), today, Person), caller);
        Report = result.Report;
        if (Report is null)
            return;
        var dayList = Enumerable.Range(0, Days).Select(i => Report.From.AddDays(i)).ToList();
        Labels = [.. dayList.Select(d => d.ToString("MM-dd", CultureInfo.InvariantCulture))];
        Series = [.. Report.People.Select(p => (p.UserName, dayList
            .Select(d => Report.Days.Where(r => r.Day == d && Caller.NameComparer.Equals(r.UserName, p.UserName)).Sum(r => r.GpuSeconds) / 60)
            .ToArray()))];
    }

    /// <summary>The report as the CSV the API gives, for a download link that needs no token.</summary>
    public string CsvDataUrl => Report is null ? "" : "data:text/csv;charset=utf-8," + Uri.EscapeDataString(Report.ToCsv());
}
