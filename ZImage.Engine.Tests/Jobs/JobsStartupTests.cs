using ZImage.Engine.Jobs;

namespace ZImage.Engine.Tests.Jobs;

/// <summary>The store's start-up has one home, the first hosted service of the jobs room.</summary>
public sealed class JobsStartupTests
{
    [Fact]
    public async Task TheStoreStartUpIsTheFirstServiceAHostStarts()
    {
        await using var host = await JobsHost.StartAsync(JobsHost.NewRoot());

        Assert.IsType<JobsStartup>(host.HostedServices[0]);
        Assert.Contains(host.HostedServices, s => s is JobWorker);
    }

    [Fact]
    public async Task StartingTheRoomAgainDoesNotRecoverAJobTwice()
    {
        string root = JobsHost.NewRoot();
        string id;
        await using (var before = await JobsHost.StartAsync(root))
        {
            id = (await before.SubmitAsync("ann")).Id;
            await before.Store.MarkStartedAsync(id, DateTimeOffset.UtcNow);
        }

        await using var after = await JobsHost.StartAsync(root);
        await ((JobsStartup)after.HostedServices[0]).StartAsync(CancellationToken.None);

        var queued = after.Jobs.ListQueue(new Caller("admin", true));
        Assert.Equal(id, Assert.Single(queued).Job?.Id);
    }
}
