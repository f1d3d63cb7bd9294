using ZImage.Engine.Jobs;

namespace ZImage.Engine.Tests.Jobs;

/// <summary>Usage per person and day from the GPU time each job held, and what it costs.</summary>
public sealed class UsageTests
{
    private static readonly DateTimeOffset Day1 = new(2026, 12, 1, 10, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task TotalsEqualTheSumOfTheJobsGpuTimePerPersonAndDay()
    {
        var clock = new FakeClock(Day1);
        var pipeline = new FakePipeline { StepDelay = TimeSpan.FromMilliseconds(15) };
        await using var host = await JobsHost.StartAsync(JobsHost.NewRoot(), pipeline, clock: clock,
            settings: new() { ["ZImage:Usage:PricePerGpuHour"] = "3.6", ["ZImage:Usage:Currency"] = "CNY" });
        await host.StartWorkerAsync();

        var ids = new List<string>();
        async Task Make(string user, int count)
        {
            var job = await host.SubmitAsync(user, steps: 3, count: count);
            await host.UntilFinalAsync(job.Id);
            ids.Add(job.Id);
        }
        await Make("ann", 2);
        await Make("ann", 1);
        await Make("bob", 1);
        clock.Advance(TimeSpan.FromDays(1));
        await Make("ann", 1);

        var jobs = new List<JobRecord>();
        foreach (var id in ids)
            jobs.Add((await host.Store.GetJobAsync(id))!);
        Assert.All(jobs, j => Assert.True(j.GpuTime >= TimeSpan.FromMilliseconds(40), $"{j.Id} held the pipeline {j.GpuTime}"));

        var result = await host.Usage.GetAsync(new UsageQuery(new(2026, 12, 1), new(2026, 12, 2), null), new Caller("admin", IsAdmin: true));
        var report = result.Report!;
        Assert.Equal([("ann", new DateOnly(2026, 12, 1), 2, 3), ("bob", new DateOnly(2026, 12, 1), 1, 1), ("ann", new DateOnly(2026, 12, 2), 1, 1)],
            report.Days.Select(d => (d.UserName, d.Day, d.Jobs, d.Pictures)));
        double Ms(IEnumerable<JobRecord> js) => js.Sum(j => Math.Round(j.GpuTime.TotalMilliseconds, MidpointRounding.ToZero));
        Assert.Equal(Ms(jobs.Take(2)) / 1000, report.Days[0].GpuSeconds, 6);
        Assert.Equal(Ms(jobs.Where(j => j.UserName == "ann")) / 1000, report.People.Single(p => p.UserName == "ann").GpuSeconds, 6);
        Assert.Equal(Ms(jobs) / 1000, report.Total.GpuSeconds, 6);
        Assert.Equal(report.Days.Sum(d => d.Cost), report.Total.Cost);
        Assert.Equal("CNY", report.Currency);
    }

    [Fact]
    public void CostIsGpuHoursTimesThePriceOrTheEnergyTimesTheTariff()
    {
        var perHour = new UsageOptions { PriceForm = PriceForm.PerGpuHour, PricePerGpuHour = 12.5m };
        Assert.Equal(12.5m, perHour.CostOf(TimeSpan.FromHours(1)));
        Assert.Equal(0.0347m, perHour.CostOf(TimeSpan.FromSeconds(10)));   // 10/3600 × 12.5 = 0.034722…

        var energy = new UsageOptions { PriceForm = PriceForm.Energy, Watts = 450, TariffPerKWh = 0.8m };
        Assert.Equal(0.36m, energy.CostOf(TimeSpan.FromHours(1)));          // 0.45 kW × 1 h × 0.8
        Assert.Equal(0.18m, energy.CostOf(TimeSpan.FromMinutes(30)));
        Assert.Equal(0m, new UsageOptions().CostOf(TimeSpan.FromHours(3))); // no price set yet
    }

    [Fact]
    public async Task PeopleSeeOnlyThemselvesAndAdminsSeeAnyone()
    {
        await using var host = await JobsHost.StartAsync(JobsHost.NewRoot());
        await host.StartWorkerAsync();
        foreach (var user in new[] { "ann", "bob" })
            await host.UntilFinalAsync((await host.SubmitAsync(user, steps: 1)).Id);
        var today = DateOnly.FromDateTime(DateTime.UtcNow);
        var period = new UsageQuery(today.AddDays(-1), today, null);

        var mine = await host.Usage.GetAsync(period, new Caller("ann"));
        Assert.Equal(["ann"], mine.Report!.People.Select(p => p.UserName));
        Assert.Equal(UsageRefusal.NotAllowed, (await host.Usage.GetAsync(period with { UserName = "bob" }, new Caller("ann"))).Refusal);
        Assert.Equal(["bob"], (await host.Usage.GetAsync(period with { UserName = "bob" }, new Caller("root", IsAdmin: true))).Report!.People.Select(p => p.UserName));
        Assert.Equal(2, (await host.Usage.GetAsync(period, new Caller("root", IsAdmin: true))).Report!.People.Count);

        var backwards = await host.Usage.GetAsync(new UsageQuery(today, today.AddDays(-3), null), new Caller("ann"));
        Assert.Equal(UsageRefusal.Invalid, backwards.Refusal);
        Assert.Equal("to", backwards.Problems.Single().Field);
    }

    [Fact]
    public async Task TheGpuSecondsCounterGrowsPerPerson()
    {
        await using var host = await JobsHost.StartAsync(JobsHost.NewRoot(), new FakePipeline { StepDelay = TimeSpan.FromMilliseconds(10) });
        await host.StartWorkerAsync();
        var job = await host.SubmitAsync("ann", steps: 2);
        await host.UntilFinalAsync(job.Id);
        var held = (await host.Store.GetJobAsync(job.Id))!.GpuTime;
        // The store keeps whole milliseconds rounded up; the counter the exact hold.
        Assert.InRange(host.Status.GetStatus().GpuSecondsByUser["ann"], held.TotalSeconds - 0.001, held.TotalSeconds);
    }
}
