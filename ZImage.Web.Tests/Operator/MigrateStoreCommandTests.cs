using ZImage.Engine.Jobs;
using ZImage.Web.Operator;

namespace ZImage.Web.Tests.Operator;

[NeedsPostgres]
public sealed class MigrateStoreCommandTests
{
    [StoreFact]
    public async Task MovesAStudiosHistoryOnceAndRefusesToDoubleIt()
    {
        var data = Directory.CreateTempSubdirectory("zimage-migrate-").FullName;
        await using var database = await PostgresTestServer.CreateDatabaseAsync();
        try
        {
            await using (var sqlite = new SqliteJobStore(Path.Combine(data, "zimage.db"), data))
            {
                await sqlite.InitializeAsync();
                await sqlite.InsertJobAsync(new JobRecord
                {
                    Id = "j1", UserName = "林薇", Status = JobStatus.Queued, SubmittedAt = DateTimeOffset.UtcNow,
                    Request = new GenerationRequest { Prompt = "江南水乡", Width = 512, Height = 512 },
                });
            }
            var output = new StringWriter();
            var error = new StringWriter();

            var first = await MigrateStoreCommand.RunAsync(["--from", "sqlite", "--to", "postgres", "--data", data, "--db", database.ConnectionString], output, error);
            var second = await MigrateStoreCommand.RunAsync(["--from", "sqlite", "--to", "postgres", "--data", data, "--db", database.ConnectionString], output, error);

            Assert.Equal((0, 2), (first, second));
            Assert.Contains("moved 1 people, 1 jobs", output.ToString());
            Assert.Contains("only fills an empty database", error.ToString());
            await using var postgres = new PostgresJobStore(database.ConnectionString, data);
            Assert.Equal("江南水乡", (await postgres.GetJobAsync("j1"))!.Request.Prompt);
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }

    [Fact]
    public async Task AnotherDirectionIsRefusedNamingTheOnlyOneThereIs()
    {
        var error = new StringWriter();
        var rc = await MigrateStoreCommand.RunAsync(["--from", "postgres", "--to", "sqlite", "--db", "Host=x"], new StringWriter(), error);
        Assert.Equal(2, rc);
        Assert.Contains("--from must be sqlite and --to must be postgres", error.ToString());
    }
}
