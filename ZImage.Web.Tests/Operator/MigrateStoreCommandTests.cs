using ZImage.Engine.Jobs;
using ZImage.Engine.Jobs.Batches;
using ZImage.Web.Operator;
using ZImage.Web.Tests.Kit;

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

    /// <summary>
    /// Accounts and tokens move with the history: a password set on SQLite signs in on PostgreSQL, a token still works,
    /// and a person the previous build kept in people.db (never started on this build) comes along. A running batch is
    /// moved let go, for the first PostgreSQL studio to take over.
    /// </summary>
    [StoreFact]
    public async Task MovesAccountsWhosePasswordsStillWorkTokensAndBatches()
    {
        var data = Directory.CreateTempSubdirectory("zimage-migrate-people-").FullName;
        await using var database = await PostgresTestServer.CreateDatabaseAsync();
        try
        {
            string secret;
            await using (var sqlite = new SqliteJobStore(Path.Combine(data, "zimage.db"), data))
            {
                var people = await StorePeople<SqliteJobStore>.OpenAsync(sqlite);
                Assert.Empty(await people.Accounts.CreateAsync("林薇", "a long password", isAdmin: true));
                secret = (await people.Tokens.CreateAsync("林薇", "laptop", isAdmin: true)).Secret;
                await sqlite.InsertBatchAsync(new StoredBatch("b1", "林薇", "mugs", BatchStatus.Running, false, DateTimeOffset.UtcNow, null, null,
                    [new StoredBatchItem(0, new BatchItem(1, new GenerationRequest { Prompt = "a mug" }, SeedPolicy.Fixed))]), "old-process", DateTimeOffset.UtcNow.AddHours(1));
            }
            // Mei is only in people.db, as the previous build left it.
            PreviousBuild.WritePeopleDb(data, [("Mei", PreviousBuild.PasswordHash("Mei", "mei's password"), false, "STAMP")], []);

            var output = new StringWriter();
            var error = new StringWriter();
            Assert.Equal(0, await MigrateStoreCommand.RunAsync(["--from", "sqlite", "--to", "postgres", "--data", data, "--db", database.ConnectionString], output, error));
            Assert.Contains("2 accounts, 1 API tokens and 1 batches", output.ToString());

            await using var postgres = new PostgresJobStore(database.ConnectionString, data);
            var moved = await StorePeople<PostgresJobStore>.OpenAsync(postgres);
            Assert.True((await moved.Accounts.VerifyAsync("林薇", "a long password"))?.IsAdmin);
            Assert.NotNull(await moved.Accounts.VerifyAsync("mei", "mei's password"));
            Assert.Null(await moved.Accounts.VerifyAsync("mei", "a long password"));
            Assert.Equal("林薇", (await moved.Tokens.ValidateAsync(secret))?.User);
            // New tokens continue after the moved ids.
            Assert.True((await moved.Tokens.CreateAsync("mei", "new", false)).Info.Id > (await moved.Tokens.ValidateAsync(secret))!.Id);
            Assert.Equal(["b1"], (await postgres.TakeOverBatchesAsync("new-process", DateTimeOffset.UtcNow, DateTimeOffset.UtcNow.AddSeconds(30))).Select(b => b.Id));
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
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
