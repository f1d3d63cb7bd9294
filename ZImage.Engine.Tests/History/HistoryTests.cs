using ZImage.Engine.History;
using ZImage.Engine.Jobs;
using ZImage.Engine.Tests.Jobs;

namespace ZImage.Engine.Tests.History;

public class HistoryTests
{
    private static readonly DateTimeOffset Start = new(2025, 3, 1, 12, 0, 0, TimeSpan.Zero);

    private static async Task<long[]> MakeAsync(JobsHost host, string user, string prompt, int width = 512, int height = 512, int count = 1)
    {
        var job = await host.SubmitAsync(user, width, height, steps: 1, count: count, prompt: prompt);
        await host.UntilFinalAsync(job.Id);
        return [.. host.Events.Of<JobSucceeded>().Single(e => e.JobId == job.Id).ImageIds];
    }

    [Fact]
    public async Task QueriesFilterByUserTextDateSizeAndFavouritesAndPage()
    {
        var clock = new FakeClock(Start);
        await using var host = await JobsHost.StartAsync(JobsHost.NewRoot(), clock: clock);
        await host.StartWorkerAsync();
        var fox = await MakeAsync(host, "ann", "a red fox in snow", count: 2);
        clock.Advance(TimeSpan.FromDays(1));
        var cat = await MakeAsync(host, "bob", "a sleeping cat", 768, 512);
        clock.Advance(TimeSpan.FromDays(1));
        var chinese = await MakeAsync(host, "bob", "一只可爱的小猫在雪地里");
        Assert.True(await host.History.SetFavouriteAsync(cat[0], true, new Caller("bob")));

        async Task<long[]> Ids(HistoryQuery q) => [.. (await host.History.QueryAsync(q)).Items.Select(i => i.Id)];

        Assert.Equal(fox.Reverse(), await Ids(new HistoryQuery { UserName = "ann" }));
        Assert.Equal(fox.Reverse(), await Ids(new HistoryQuery { Text = "fox" }));
        Assert.Equal(fox.Reverse(), await Ids(new HistoryQuery { Text = "Re" }));
        Assert.Equal(chinese, await Ids(new HistoryQuery { Text = "小猫" }));
        Assert.Empty(await Ids(new HistoryQuery { Text = "fox\" OR cat" }));
        Assert.Equal(cat, await Ids(new HistoryQuery { From = Start.AddHours(12), To = Start.AddDays(1).AddHours(12) }));
        Assert.Equal(cat, await Ids(new HistoryQuery { Width = 768 }));
        Assert.Equal(cat, await Ids(new HistoryQuery { FavouritesOnly = true }));

        var page0 = await host.History.QueryAsync(new HistoryQuery { PageSize = 3 });
        var page1 = await host.History.QueryAsync(new HistoryQuery { PageSize = 3, Page = 1 });
        Assert.Equal(4, page0.TotalCount);
        Assert.Equal([chinese[0], cat[0], fox[1]], page0.Items.Select(i => i.Id));
        Assert.Equal([fox[0]], page1.Items.Select(i => i.Id));
    }

    [Fact]
    public async Task ImageRecordsCarryEveryParameterAndRealFiles()
    {
        await using var host = await JobsHost.StartAsync(JobsHost.NewRoot());
        await host.StartWorkerAsync();
        var result = await host.Jobs.SubmitAsync(new JobRequest { Settings = new() { Prompt = "lighthouse", NegativePrompt = "blurry", Width = 640, Height = 448, Steps = 3, Cfg = 1.5f, Seed = 7, Count = 2 }, SeedPolicy = SeedPolicy.Fixed }, new Caller("ann"));
        await host.UntilFinalAsync(result.Job!.Id);

        var page = await host.History.QueryAsync(new HistoryQuery { UserName = "ann" });
        var second = page.Items.Single(i => i.Index == 1);
        Assert.Equal(("lighthouse", "blurry", 3, 1.5f, 8L, 1), (second.Parameters.Prompt, second.Parameters.NegativePrompt,
            second.Parameters.Steps, second.Parameters.Cfg, second.Parameters.Seed, second.Parameters.Count));
        Assert.True(File.Exists(second.FilePath));
        Assert.True(File.Exists(second.ThumbnailPath));
        Assert.Matches(@"outputs[/\\]\d{4}-\d{2}-\d{2}[/\\]thumbs[/\\]", second.ThumbnailPath);
    }

    [Fact]
    public async Task DeletingRemovesRowAndFilesAndOnlyTheOwnerOrAnAdminMay()
    {
        await using var host = await JobsHost.StartAsync(JobsHost.NewRoot());
        await host.StartWorkerAsync();
        var ids = await MakeAsync(host, "ann", "boat", count: 2);
        var first = (await host.History.GetImageAsync(ids[0]))!;

        Assert.False(await host.History.DeleteImageAsync(ids[0], new Caller("bob")));
        Assert.False(await host.History.SetFavouriteAsync(ids[0], true, new Caller("bob")));
        Assert.True(await host.History.DeleteImageAsync(ids[0], new Caller("ann")));
        Assert.True(await host.History.DeleteImageAsync(ids[1], new Caller("boss", IsAdmin: true)));

        Assert.Null(await host.History.GetImageAsync(ids[0]));
        Assert.False(File.Exists(first.FilePath));
        Assert.False(File.Exists(first.ThumbnailPath));
        Assert.Equal(0, (await host.History.QueryAsync(new HistoryQuery())).TotalCount);
    }

    [Fact]
    public async Task StartUpReconcilesAfterACrashBetweenFileAndRow()
    {
        string root = JobsHost.NewRoot();
        string crashedJob;
        long keptId, lostFileId;
        string orphanPng, orphanThumb, halfWritten;
        await using (var before = await JobsHost.StartAsync(root))
        {
            await before.StartWorkerAsync();
            var ids = await MakeAsync(before, "ann", "kept", count: 2);
            (keptId, lostFileId) = (ids[0], ids[1]);
            File.Delete((await before.History.GetImageAsync(lostFileId))!.FilePath);

            // The crash: a job was running, its pictures reached the disk, its rows never committed.
            crashedJob = (await before.SubmitAsync("bob", prompt: "crashed")).Id;
            await before.Events.UntilAsync(() => before.Events.Of<JobSucceeded>().Any(e => e.JobId == crashedJob), "the second job");
            var files = before.Files;
            var (png, thumb) = files.PathsFor("deadbeef", 0, DateTime.Today);
            orphanPng = files.Absolute(png);
            orphanThumb = files.Absolute(thumb);
            await new FakeImageWriter().WriteAsync(FakePipeline.Pixel(4, 4, 1), null!, orphanPng, orphanThumb, default);
            halfWritten = orphanPng.Replace("deadbeef", "cafe") + ".tmp";
            File.WriteAllText(halfWritten, "half");
        }

        await using var after = await JobsHost.StartAsync(root);

        Assert.Equal(new ReconcileReport(RowsWithoutFile: 1, FilesWithoutRow: 3), after.Service.LastReconcile);
        Assert.NotNull(await after.History.GetImageAsync(keptId));
        Assert.Null(await after.History.GetImageAsync(lostFileId));
        Assert.False(File.Exists(orphanPng));
        Assert.False(File.Exists(orphanThumb));
        Assert.False(File.Exists(halfWritten));
        var rows = (await after.History.QueryAsync(new HistoryQuery { PageSize = 100 })).Items;
        var pictures = Directory.EnumerateFiles(Path.Combine(root, "outputs"), "*.png", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}thumbs{Path.DirectorySeparatorChar}"));
        Assert.Equal(rows.Select(r => r.FilePath).Order(), pictures.Select(Path.GetFullPath).Order());
    }

    [Fact]
    public async Task RetentionDeletesOldImagesButKeepsFavourites()
    {
        var clock = new FakeClock(Start);
        await using var host = await JobsHost.StartAsync(JobsHost.NewRoot(), clock: clock, settings: new() { ["ZImage:Jobs:RetentionDays"] = "30" });
        await host.StartWorkerAsync();
        var old = await MakeAsync(host, "ann", "old", count: 2);
        Assert.True(await host.History.SetFavouriteAsync(old[1], true, new Caller("ann")));
        clock.Advance(TimeSpan.FromDays(20));
        var recent = await MakeAsync(host, "ann", "recent");
        var oldFile = (await host.History.GetImageAsync(old[0]))!.FilePath;

        Assert.Equal(0, await host.Retention.RunOnceAsync());
        clock.Advance(TimeSpan.FromDays(11));
        Assert.Equal(1, await host.Retention.RunOnceAsync());

        Assert.Null(await host.History.GetImageAsync(old[0]));
        Assert.False(File.Exists(oldFile));
        Assert.NotNull(await host.History.GetImageAsync(old[1]));
        Assert.NotNull(await host.History.GetImageAsync(recent[0]));
    }

    [Fact]
    public async Task EachPictureRemembersTheModelThatMadeItAndOlderOnesShowTheDefaultName()
    {
        var pipeline = new FakePipeline();
        string root = JobsHost.NewRoot();
        await using (var host = await JobsHost.StartAsync(root, pipeline))
        {
            await host.StartWorkerAsync();
            var turbo = await MakeAsync(host, "ann", "a harbour at dawn");
            pipeline.ModelName = "self-test-tiny";
            var tiny = await MakeAsync(host, "ann", "a harbour at dusk");

            Assert.Equal("Z-Image-Turbo", (await host.History.GetImageAsync(turbo[0]))!.Model);
            Assert.Equal("self-test-tiny", (await host.History.GetImageAsync(tiny[0]))!.Model);
        }

        // A database from before the column: schema 2, rows without a model (and without what later steps added).
        // Opening it adds the column and keeps them.
        string db = Directory.EnumerateFiles(root, "*.db", SearchOption.AllDirectories).Single();
        using (var c = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={db};Pooling=False"))
        {
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = """
                ALTER TABLE images DROP COLUMN model;
                DROP INDEX ix_jobs_fair; DROP TABLE queue_clock; DROP TABLE job_progress; ALTER TABLE users DROP COLUMN last_finish;
                ALTER TABLE jobs DROP COLUMN start_tag; ALTER TABLE jobs DROP COLUMN finish_tag; ALTER TABLE jobs DROP COLUMN worker;
                ALTER TABLE jobs DROP COLUMN lease_until; ALTER TABLE jobs DROP COLUMN cancel_requested_by;
                DROP INDEX ix_jobs_finished; ALTER TABLE jobs DROP COLUMN gpu_ms; ALTER TABLE jobs DROP COLUMN style;
                DROP TABLE accounts; DROP TABLE api_tokens; DROP TABLE setup_code; DROP TABLE person_preferences; DROP TABLE data_protection_keys;
                DROP TABLE batch_items; DROP TABLE batches;
                ALTER TABLE users DROP COLUMN shares_pictures;
                DELETE FROM schema_version WHERE version >= 3;
                """;
            cmd.ExecuteNonQuery();
        }
        await using (var store = new SqliteJobStore(db, Path.Combine(root, "outputs")))
        {
            await store.InitializeAsync();
            Assert.Equal(StoreSchema.Latest, store.SchemaVersion);
            var page = await store.QueryImagesAsync(new HistoryQuery());
            Assert.Equal(2, page.Items.Count);
            Assert.All(page.Items, i => Assert.Equal("Z-Image-Turbo", i.Model));
            Assert.All(page.Items, i => Assert.Equal("", i.Parameters.Style));
        }
    }

    [Fact]
    public async Task TheStoreUsesWalAndAppliesEachMigrationOnce()
    {
        string root = JobsHost.NewRoot();
        string db = Path.Combine(root, "zimage.db");
        await using (var store = new SqliteJobStore(db, root))
        {
            await store.InitializeAsync();
            Assert.Equal(StoreSchema.Latest, store.SchemaVersion);
            Assert.True(store.HasFullTextSearch);
        }
        await using (var again = new SqliteJobStore(db, root))
            await again.InitializeAsync();

        using var c = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={db};Pooling=False");
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "PRAGMA journal_mode";
        Assert.Equal("wal", cmd.ExecuteScalar());
        cmd.CommandText = "SELECT group_concat(version) FROM schema_version";
        Assert.Equal(string.Join(",", StoreSchema.Migrations.Select(m => m.Version)), cmd.ExecuteScalar());
    }

    [Fact]
    public void UserTextNeverBecomesFullTextSyntax()
    {
        Assert.Equal("\"red\"* \"fox\"*", SqliteJobStore.FtsQuery("red fox"));
        Assert.Equal("\"fox\"* \"OR\"* \"cat\"*", SqliteJobStore.FtsQuery("fox\" OR cat*"));
        Assert.Null(SqliteJobStore.FtsQuery("小猫"));
        Assert.Null(SqliteJobStore.FtsQuery("  "));
    }
}
