using ZImage.Engine.Jobs;
using ZImage.Engine.Jobs.Batches;

namespace ZImage.Engine.Tests.Jobs.Stores;

/// <summary>Batches as stored: the same behaviour from the SQLite file and from PostgreSQL.</summary>
public abstract partial class JobStoreContract
{
    private IBatchStore Batches => (IBatchStore)Store;

    private static StoredBatch NewBatch(string id, int items, string user = "ann", DateTimeOffset? at = null) => new(id, user, "catalogue",
        BatchStatus.Running, false, at ?? T0, null, null,
        [.. Enumerable.Range(0, items).Select(i => new StoredBatchItem(i, new BatchItem(i + 2,
            new GenerationRequest { Prompt = $"mug {i}", NegativePrompt = "blurry", Width = 512, Height = 768, Steps = 6, Cfg = 1.5f, Seed = 40 + i, Count = 2, Style = "photo" },
            i % 2 == 0 ? SeedPolicy.Fixed : SeedPolicy.Random)))]);

    [StoreFact]
    public async Task ABatchReadsBackWithEveryItemAndItsStates()
    {
        var batch = NewBatch("b1", 3);
        await Batches.InsertBatchAsync(batch, "proc-a", T0.AddSeconds(30));
        await Batches.SaveBatchItemAsync("b1", batch.Items[0] with { State = BatchItemState.Succeeded, JobId = "j0", ImageIds = [7, 8] });
        await Batches.SaveBatchItemAsync("b1", batch.Items[1] with { State = BatchItemState.Failed, JobId = "j1", Error = "out of memory" });

        var read = (await Batches.GetBatchAsync("b1"))!;
        Assert.Equal(batch with { Items = read.Items }, read);
        Assert.Equal(batch.Items[0].Item, read.Items[0].Item);
        Assert.Equal(batch.Items[1].Item, read.Items[1].Item);
        Assert.Equal((BatchItemState.Succeeded, "j0"), (read.Items[0].State, read.Items[0].JobId));
        Assert.Equal([7L, 8L], read.Items[0].Pictures);
        Assert.Equal((BatchItemState.Failed, "out of memory"), (read.Items[1].State, read.Items[1].Error));
        Assert.Equal((BatchItemState.Pending, null, null), (read.Items[2].State, read.Items[2].JobId, read.Items[2].ImageIds));
        Assert.Null(await Batches.GetBatchAsync("nope"));
    }

    [StoreFact]
    public async Task FinishingACancelledBatchCancelsItsItemsNeverSubmitted()
    {
        var batch = NewBatch("b1", 3);
        await Batches.InsertBatchAsync(batch, "proc-a", T0.AddSeconds(30));
        await Batches.SaveBatchItemAsync("b1", batch.Items[0] with { State = BatchItemState.Succeeded, JobId = "j0", ImageIds = [1] });
        Assert.True(await Batches.RequestBatchCancelAsync("b1"));
        Assert.True((await Batches.RenewBatchAsync("b1", "proc-a", T0.AddSeconds(60))).CancelRequested);

        await Batches.FinishBatchAsync("b1", BatchStatus.Cancelled, T0.AddMinutes(1), null);

        var read = (await Batches.GetBatchAsync("b1"))!;
        Assert.Equal((BatchStatus.Cancelled, T0.AddMinutes(1), true), (read.Status, read.FinishedAt, read.CancelRequested));
        Assert.Equal([BatchItemState.Succeeded, BatchItemState.Cancelled, BatchItemState.Cancelled], read.Items.Select(i => i.State));
        Assert.False(await Batches.RequestBatchCancelAsync("b1"));
        Assert.False((await Batches.RenewBatchAsync("b1", "proc-a", T0.AddMinutes(2))).Held);
    }

    /// <summary>
    /// Another studio reads a batch while its feeder finishes it: each read is the batch before the finish or after it,
    /// never an ended batch with items still pending (which showed as 2 of 5 items ended in a cancelled batch).
    /// </summary>
    [StoreFact]
    public async Task ABatchReadWhileItFinishesIsWhollyBeforeOrWhollyAfter()
    {
        var torn = new List<string>();
        for (int round = 0; round < 30; round++)
        {
            var id = $"race{round}";
            await Batches.InsertBatchAsync(NewBatch(id, 40), "proc-a", T0.AddSeconds(30));
            using var finished = new CancellationTokenSource();
            var reader = Task.Run(async () =>
            {
                int reads = 0;
                // At least a few reads after the finish, so reads straddle it.
                for (int after = 0; after < 3; reads++)
                {
                    var read = (await Batches.GetBatchAsync(id))!;
                    var states = read.Items.Select(i => i.State).Distinct().ToList();
                    var expected = read.Status == BatchStatus.Running ? BatchItemState.Pending : BatchItemState.Cancelled;
                    if (states is not [var only] || only != expected)
                        torn.Add($"{id} read {reads}: {read.Status} with items {string.Join(",", states)}");
                    if (finished.IsCancellationRequested)
                        after++;
                }
            });
            await Task.Delay(round % 5);
            await Batches.FinishBatchAsync(id, BatchStatus.Cancelled, T0.AddMinutes(1), null);
            finished.Cancel();
            await reader;
        }
        Assert.Empty(torn);
    }

    [StoreFact]
    public async Task APersonsBatchesAreListedNewestFirst()
    {
        await Batches.InsertBatchAsync(NewBatch("old", 1, at: T0), "p", T0);
        await Batches.InsertBatchAsync(NewBatch("new", 1, at: T0.AddHours(1)), "p", T0);
        await Batches.InsertBatchAsync(NewBatch("bobs", 1, user: "bob"), "p", T0);

        Assert.Equal(["new", "old"], await Batches.ListBatchIdsAsync("ANN", 10));
        Assert.Equal(["new"], await Batches.ListBatchIdsAsync("ann", 1));
    }

    [StoreFact]
    public async Task ABatchLetGoIsTakenOverAndItsFormerRunnerHoldsItNoMore()
    {
        await Batches.InsertBatchAsync(NewBatch("b1", 2), "proc-a", T0.AddSeconds(30));
        await Batches.InsertBatchAsync(NewBatch("done", 1), "proc-a", T0.AddSeconds(30));
        await Batches.FinishBatchAsync("done", BatchStatus.Finished, T0, null);
        Assert.True((await Batches.RenewBatchAsync("b1", "proc-a", T0.AddSeconds(40))).Held);

        await Batches.ReleaseBatchAsync("b1", "proc-a");
        var taken = await Batches.TakeOverBatchesAsync("proc-b", T0.AddSeconds(1), T0.AddSeconds(31));

        Assert.Equal(["b1"], taken.Select(b => b.Id));
        Assert.Equal(2, taken[0].Items.Count);
        Assert.False((await Batches.RenewBatchAsync("b1", "proc-a", T0.AddSeconds(50))).Held);
        Assert.Equal(new BatchLease(true, false), await Batches.RenewBatchAsync("b1", "proc-b", T0.AddSeconds(50)));
    }
}

public sealed class SqliteBatchTakeOverTests
{
    /// <summary>One process per SQLite file: the one starting now takes every running batch, lease or not.</summary>
    [Fact]
    public async Task AStartingProcessTakesEveryRunningBatchWhateverItsLease()
    {
        var folder = Directory.CreateTempSubdirectory("zimage-batch-takeover-").FullName;
        try
        {
            await using var store = new SqliteJobStore(Path.Combine(folder, "zimage.db"), folder);
            await store.InitializeAsync();
            var now = DateTimeOffset.UtcNow;
            await store.InsertBatchAsync(new StoredBatch("b1", "ann", "x", BatchStatus.Running, false, now, null, null,
                [new StoredBatchItem(0, new BatchItem(1, new GenerationRequest { Prompt = "p" }, SeedPolicy.Fixed))]), "crashed-process", now.AddHours(1));

            Assert.Equal(["b1"], (await store.TakeOverBatchesAsync("me", now, now.AddSeconds(30))).Select(b => b.Id));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}

[NeedsPostgres]
public sealed class PostgresBatchTakeOverTests
{
    /// <summary>Several processes share PostgreSQL: a batch whose runner still renews its lease is left to it.</summary>
    [StoreFact]
    public async Task ABatchIsTakenOverOnlyWhenItsLeaseRanOut()
    {
        await using var database = await PostgresTestServer.CreateDatabaseAsync();
        await using var store = new PostgresJobStore(database.ConnectionString, Path.GetTempPath());
        await store.InitializeAsync();
        var now = DateTimeOffset.UtcNow;
        await store.InsertBatchAsync(new StoredBatch("b1", "ann", "x", BatchStatus.Running, false, now, null, null,
            [new StoredBatchItem(0, new BatchItem(1, new GenerationRequest { Prompt = "p" }, SeedPolicy.Fixed))]), "proc-a", now.AddSeconds(30));

        Assert.Empty(await store.TakeOverBatchesAsync("proc-b", now.AddSeconds(10), now.AddSeconds(40)));
        Assert.Equal(["b1"], (await store.TakeOverBatchesAsync("proc-b", now.AddSeconds(31), now.AddSeconds(61))).Select(b => b.Id));
        Assert.Empty(await store.TakeOverBatchesAsync("proc-c", now.AddSeconds(32), now.AddSeconds(62)));
    }
}
