using Xunit.Abstractions;
using ZImage.Tools.Load;

namespace ZImage.Web.Tests.Hardening;

/// <summary>
/// CI's short version of the load run (<c>ZImage.Tools load</c> runs the 10-minute one): 20 simulated people for
/// 60 seconds against the real server with the self-test model on the CPU, over loopback.
/// </summary>
public sealed class LoadTests(ITestOutputHelper output)
{
    [Fact]
    public async Task TwentyPeopleForAMinuteLoseNoJobAndGetNoServerError()
    {
        await using var folder = new RealServerFolder();
        var server = await folder.StartAsync();
        using var client = LoadCommand.Client(server.BaseAddress);
        var options = new LoadOptions { Users = 20, Duration = TimeSpan.FromSeconds(60), Drain = TimeSpan.FromSeconds(90), Seed = 8 };
        var log = new StringWriter();
        var report = await new LoadDriver(client, options, server.ResidentBytes, log).RunAsync(CancellationToken.None);
        output.WriteLine(log.ToString());
        output.WriteLine(report.ToText());

        Assert.False(server.HasExited, server.Tail);
        Assert.Equal(0, report.Lost);
        Assert.True(report.Accounted, "submitted must equal succeeded + cancelled + failed + still queued");
        Assert.Equal(0, report.PendingAtEnd);
        Assert.Equal(0, report.Failed);
        Assert.Equal(0, report.ServerErrors);
        Assert.Equal(0, report.TransportErrors);
        Assert.Equal(0, report.UnexpectedResponses);
        Assert.True(report.Succeeded >= 20, $"only {report.Succeeded} jobs succeeded in a minute");
        Assert.True(report.Cancelled > 0, "some jobs should have been cancelled");
        Assert.True(report.ImagesChecked > 0);
        // The server's own counters agree with what the people saw (plus the warm-up job).
        Assert.Contains($"\"succeeded\":{report.Succeeded + 1},", report.ServerJobCounts);
        Assert.Contains($"\"cancelled\":{report.Cancelled},", report.ServerJobCounts);
        // Latency (p99) and memory (RSS after warm-up and at the end) are printed above but not asserted: on CI's two
        // shared cores they measure the neighbours. The `load` command holds them to their goals and docs/reliability.md
        // records its figures.
    }
}
