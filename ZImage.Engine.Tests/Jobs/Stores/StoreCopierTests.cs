using ZImage.Engine.History;
using ZImage.Engine.Jobs;

namespace ZImage.Engine.Tests.Jobs.Stores;

[NeedsPostgres]
public sealed class StoreCopierTests : IAsyncLifetime
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly string _root = Directory.CreateTempSubdirectory("zimage-store-copy-").FullName;
    private PostgresTestServer.TestDatabase _database = null!;

    public async Task InitializeAsync() => _database = await PostgresTestServer.CreateDatabaseAsync();

    public async Task DisposeAsync()
    {
        await _database.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }

    private static JobRecord Job(string id, string user, int minute) => new()
    {
        Id = id,
        UserName = user,
        Status = JobStatus.Queued,
        Request = new GenerationRequest { Prompt = $"{id} by {user}", Width = 512, Height = 512, Steps = 6, Seed = 7, Count = 1 },
        SubmittedAt = T0.AddMinutes(minute),
    };

    [StoreFact]
    public async Task AStudiosHistoryMovesToAnEmptyPostgresDatabaseWithItsIdsAndWaitingJobsInFairOrder()
    {
        string file = Path.Combine(_root, "zimage.db");
        long[] pictures;
        await using (var sqlite = new SqliteJobStore(file, _root))
        {
            await sqlite.InitializeAsync();
            await sqlite.InsertJobAsync(Job("done", "ann", 0) with { IdempotencyKey = "click" });
            pictures = [.. await sqlite.CompleteJobAsync("done", T0.AddMinutes(1), null,
                [new NewImage(0, "2026-03-01/done-0.png", "2026-03-01/thumbs/done-0.png", 512, 512, 7, T0, "Z-Image-Turbo")], TimeSpan.FromSeconds(2.5))];
            await sqlite.SetFavouriteAsync(pictures[0], true);
            await sqlite.InsertJobAsync(Job("cut", "ann", 2));
            await sqlite.MarkStartedAsync("cut", T0.AddMinutes(3));
            await sqlite.InsertJobAsync(Job("ann1", "ann", 3));
            await sqlite.InsertJobAsync(Job("ann2", "Ann", 4));
            await sqlite.InsertJobAsync(Job("bob1", "bob", 5));
            await sqlite.SaveStepTimingAsync(new StepTiming(512, 512, false, 3, 0.25, 1.0));
            // Ann keeps her pictures to herself; bob never chose.
            await sqlite.SetSharingAsync("ann", false);
        }

        var copied = await StoreCopier.CopySqliteToPostgresAsync(file, _database.ConnectionString);

        Assert.Equal(new StoreCopier.Copied(Users: 2, Jobs: 5, Images: 1, StepTimings: 1, Requeued: 1), copied);
        await using var postgres = new PostgresJobStore(_database.ConnectionString, _root);
        await postgres.InitializeAsync();
        var picture = (await postgres.GetImageAsync(pictures[0]))!;
        Assert.Equal(("done", "ann", true, Path.Combine(_root, "2026-03-01", "done-0.png")), (picture.JobId, picture.UserName, picture.Favourite, picture.FilePath));
        Assert.Equal("done", (await postgres.FindByIdempotencyKeyAsync("ann", "click", T0.AddDays(-1)))!.Id);
        Assert.Equal((new PictureOwner("ann", false), new PictureOwner("bob", null)), (await postgres.FindOwnerAsync("ann"), await postgres.FindOwnerAsync("bob")));
        Assert.Equal([new StepTiming(512, 512, false, 3, 0.25, 1.0)], await postgres.LoadStepTimingsAsync());
        var cut = (await postgres.GetJobAsync("cut"))!;
        Assert.Equal((JobStatus.Queued, 1), (cut.Status, cut.Restarts));

        // ann's three waiting jobs stack their tags; bob's one is tagged at the start and goes second.
        var claimed = new List<string>();
        while (await postgres.ClaimAsync("w", T0, T0.AddMinutes(1), _ => true) is { } job)
            claimed.Add(job.Id);
        Assert.Equal(["cut", "bob1", "ann1", "ann2"], claimed);

        // New rows continue after the copied ids.
        var next = await postgres.CompleteClaimedAsync("bob1", "w", T0, null,
            [new NewImage(0, "2026-03-01/bob1-0.png", "2026-03-01/thumbs/bob1-0.png", 512, 512, 7, T0)], TimeSpan.Zero);
        Assert.True(next[0] > pictures[0]);
    }

    [StoreFact]
    public async Task ATargetThatHasAHistoryAlreadyIsRefusedAndLeftAsItWas()
    {
        string file = Path.Combine(_root, "zimage.db");
        await using (var sqlite = new SqliteJobStore(file, _root))
        {
            await sqlite.InitializeAsync();
            await sqlite.InsertJobAsync(Job("one", "ann", 0));
        }
        await StoreCopier.CopySqliteToPostgresAsync(file, _database.ConnectionString);

        var again = await Assert.ThrowsAsync<StoreCopyException>(() => StoreCopier.CopySqliteToPostgresAsync(file, _database.ConnectionString));

        Assert.Contains("only fills an empty database", again.Message);
        await using var postgres = new PostgresJobStore(_database.ConnectionString, _root);
        Assert.Single(await postgres.ListJobsAsync("ann", 10));
        var missing = await Assert.ThrowsAsync<StoreCopyException>(() => StoreCopier.CopySqliteToPostgresAsync(Path.Combine(_root, "nope.db"), _database.ConnectionString));
        Assert.Contains("--data", missing.Message);
    }
}
