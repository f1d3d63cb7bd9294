using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Xunit.Abstractions;
using ZImage.Engine.Jobs;

namespace ZImage.Web.Tests.Api;

/// <summary>
/// Nothing waits for the store's start-up: the host runs its hosted services in order, so JobsStartup (migration,
/// recovery, reconciliation, batches) must come before everything that reads the store: the jobs room's own services,
/// Data Protection's key loader (the key ring lives in the store on PostgreSQL) and the web server itself.
/// </summary>
public sealed class StartupOrderTests(ApiFactory factory, ITestOutputHelper output) : IClassFixture<ApiFactory>
{
    [Fact]
    public void TheStoreStartsBeforeTheWebServerTheKeyRingAndTheJobsRoom()
    {
        _ = factory.Server;
        var hosted = factory.Services.GetServices<IHostedService>().Select(s => s.GetType()).ToList();
        output.WriteLine(string.Join("\n", hosted.Select(t => t.FullName)));

        var startup = hosted.IndexOf(typeof(JobsStartup));
        Assert.True(startup >= 0, "JobsStartup is not registered");
        var readers = hosted.Where(t => t.Name is "GenericWebHostService" or "DataProtectionHostedService"
            || t.Namespace?.StartsWith("ZImage.Engine.Jobs", StringComparison.Ordinal) == true || t.Namespace?.StartsWith("ZImage.Web", StringComparison.Ordinal) == true)
            .Where(t => t != typeof(JobsStartup))
            .ToList();
        Assert.Contains(readers, t => t.Name == "GenericWebHostService");
        Assert.All(readers, t => Assert.True(hosted.IndexOf(t) > startup, $"{t.FullName} starts before JobsStartup"));
    }
}
