using Microsoft.Extensions.Options;
using ZImage.Engine.Jobs;
using ZImage.Engine.Tests.Jobs;

namespace ZImage.Engine.Tests.Jobs.Stores;

public class StoreOptionsTests
{
    [Theory]
    [InlineData("PostgreSql", null, "ZImage:Store:ConnectionString is required")]
    [InlineData("PostgreSql", "Database=zimage", "names no Host")]
    [InlineData("PostgreSql", "Host=db;Bogus Key=1", "not a valid PostgreSQL connection string")]
    [InlineData("Oracle", null, "Provider")]
    public async Task AStoreSettingThatCannotWorkIsRefusedAtStartNamingTheField(string provider, string? connection, string expected)
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() => JobsHost.StartAsync(JobsHost.NewRoot(), settings: new()
        {
            ["ZImage:Store:Provider"] = provider,
            ["ZImage:Store:ConnectionString"] = connection,
        }));
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public async Task AHeartbeatSlowerThanHalfTheLeaseIsRefused()
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => JobsHost.StartAsync(JobsHost.NewRoot(), settings: new()
        {
            ["ZImage:Store:LeaseSeconds"] = "10",
            ["ZImage:Store:HeartbeatSeconds"] = "6",
        }));
        Assert.Contains("ZImage:Store:HeartbeatSeconds", error.Message);
    }

    [Fact]
    public async Task WithoutSettingsTheStoreIsSqliteInTheDataFolder()
    {
        await using var host = await JobsHost.StartAsync(JobsHost.NewRoot());
        Assert.IsType<SqliteJobStore>(host.Store);
    }
}
