using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using ZImage.Engine.Jobs;
using ZImage.Tools;
using ZImage.Tools.Scale;

namespace ZImage.Web.Tests.Hardening;

/// <summary>
/// Two studio processes (<c>scale-worker</c>: the jobs room with a stand-in GPU, no web server) on one PostgreSQL
/// database, as two GPU machines would share it; this process submits through the jobs service like a third studio.
/// </summary>
[NeedsPostgres]
public sealed class ScaleOutProcessTests : IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(90);
    private readonly List<WorkerProcess> _workers = [];
    private readonly string _pictures = Directory.CreateTempSubdirectory("zimage-scale-out-").FullName;
    private PostgresTestServer.TestDatabase _database = null!;
    private ServiceProvider _studio = null!;

    public async Task InitializeAsync()
    {
        _database = await PostgresTestServer.CreateDatabaseAsync();
        _studio = await JobsRoom.StartAsync(new StandInPipeline(TimeSpan.FromMilliseconds(1)), new Dictionary<string, string?>
        {
            ["ZImage:Store:Provider"] = "PostgreSql",
            ["ZImage:Store:ConnectionString"] = _database.ConnectionString,
            ["ZImage:Store:SharedPictureFolder"] = _pictures,
            ["ZImage:Jobs:DataDirectory"] = Path.Combine(_pictures, "data"),
            ["ZImage:Jobs:MaxQueuedPerUser"] = "100",
        });
    }

    public async Task DisposeAsync()
    {
        foreach (var worker in _workers)
            await worker.DisposeAsync();
        await _studio.DisposeAsync();
        await _database.DisposeAsync();
        Directory.Delete(_pictures, recursive: true);
    }

    private async Task<WorkerProcess> WorkerAsync(int fakeMs)
    {
        var worker = await WorkerProcess.StartAsync(
            ["--db", _database.ConnectionString, "--pictures", _pictures, "--fake-ms", fakeMs.ToString(), "--lease-seconds", "2",
             "--heartbeat-seconds", "0.5", "--poll-ms", "100"], Deadline);
        lock (_workers)
            _workers.Add(worker);
        return worker;
    }

    private async Task<string> SubmitAsync(string user, int width = 256, int height = 256, int steps = 8)
    {
        var result = await _studio.GetRequiredService<IJobService>().SubmitAsync(
            new JobRequest { Settings = new() { Prompt = $"{user}'s picture", Width = width, Height = height, Steps = steps } }, new Caller(user));
        Assert.True(result.Accepted, result.Message);
        return result.Job!.Id;
    }

    private async Task<List<(string Id, string User, string Status, int Restarts, int Images, double Cost)>> JobsAsync()
    {
        await using var c = new NpgsqlConnection(_database.ConnectionString);
        await c.OpenAsync();
        await using var cmd = new NpgsqlCommand("""
            SELECT j.id, u.name, j.status, j.restarts, (SELECT count(*) FROM images i WHERE i.job_id = j.id)::int,
                j.width::float8 * j.height * j.steps * j.count / (1024 * 1024 * 8)
            FROM jobs j JOIN users u ON u.id = j.user_id ORDER BY j.started_at NULLS LAST, j.seq
            """, c);
        await using var r = await cmd.ExecuteReaderAsync();
        var rows = new List<(string, string, string, int, int, double)>();
        while (await r.ReadAsync())
            rows.Add((r.GetString(0), r.GetString(1), r.GetString(2), r.GetInt32(3), r.GetInt32(4), r.GetDouble(5)));
        return rows;
    }

    private async Task<List<(string Id, string User, string Status, int Restarts, int Images, double Cost)>> UntilAllSucceededAsync(int count)
    {
        var until = DateTime.UtcNow + Deadline;
        while (true)
        {
            var jobs = await JobsAsync();
            if (jobs.Count == count && jobs.All(j => j.Status == "Succeeded"))
                return jobs;
            if (DateTime.UtcNow > until)
                Assert.Fail($"not all {count} jobs succeeded: {string.Join(", ", jobs.GroupBy(j => j.Status).Select(g => $"{g.Count()} {g.Key}"))}");
            await Task.Delay(100);
        }
    }

    [StoreFact]
    public async Task KillingOneStudioMidJobLosesNothingAndTheOtherFinishesItsJobOnce()
    {
        // The doomed studio's jobs take 2 s, so the kill lands mid-job even when this test's thread waits its turn.
        var doomed = await WorkerAsync(fakeMs: 2000);
        var survivor = await WorkerAsync(fakeMs: 400);
        var ids = new List<string>();
        for (int i = 0; i < 16; i++)
            ids.Add(await SubmitAsync(i % 2 == 0 ? "ann" : "bob"));

        await doomed.UntilAsync(() => doomed.Started.Count > doomed.Succeeded.Count, "the first studio to be mid-job", Deadline);
        await doomed.KillAsync();

        var jobs = await UntilAllSucceededAsync(ids.Count);

        // Every job succeeded once, one picture each. What the kill cut is read from the database, not from the killed
        // process's output: the one job queued again (only the kill re-queues), finished by the survivor.
        Assert.All(jobs, j => Assert.Equal(1, j.Images));
        var cut = Assert.Single(jobs, j => j.Restarts == 1).Id;
        Assert.All(jobs.Where(j => j.Id != cut), j => Assert.Equal(0, j.Restarts));
        // Announced by one process each, never both. The killed process's output is complete (the kill waits for its end);
        // a success it had written but not yet printed when it died is the only one that may go unannounced, and it is
        // not the cut job. The survivor prints each success just after writing it, so its output is read up to that.
        List<string> Unannounced() => [.. ids.Except(doomed.Succeeded.Concat(survivor.Succeeded))];
        await survivor.UntilAsync(() => survivor.Succeeded.Contains(cut) && Unannounced().Count <= 1, "the survivor to print its successes", Deadline);
        Assert.Empty(doomed.Succeeded.Intersect(survivor.Succeeded));
        Assert.DoesNotContain(cut, Unannounced());
    }

    [StoreFact]
    public async Task TheQueueHereListsTheJobAnotherProcessRunsWithItsMachineAndCard()
    {
        var relay = _studio.GetRequiredService<SharedJobEvents>();
        await relay.StartAsync(CancellationToken.None);
        try
        {
            var worker = await WorkerAsync(fakeMs: 4000);
            var id = await SubmitAsync("ann");
            await worker.UntilAsync(() => worker.Started.Contains(id), "the worker process to start the job", Deadline);

            // This process runs nothing: the line comes from the database (the relay reads it on the start's signal).
            var jobs = _studio.GetRequiredService<IJobService>();
            await UntilAsync(() => jobs.ListQueue(new Caller("bob")).Count == 1, "the running job in this process's queue");
            var bobsLine = Assert.Single(jobs.ListQueue(new Caller("bob")));
            Assert.Equal((0, JobStatus.Running, false, (JobSnapshot?)null), (bobsLine.Position, bobsLine.Status, bobsLine.IsMine, bobsLine.Job));
            Assert.Equal(new JobRunner(Environment.MachineName, 0), bobsLine.Runner);
            Assert.Equal((id, "ann's picture"), (Assert.Single(jobs.ListQueue(new Caller("ann"))).Job!.Id, jobs.ListQueue(new Caller("ann"))[0].Job!.Request.Prompt));

            await UntilAllSucceededAsync(1);
            await UntilAsync(() => jobs.ListQueue(new Caller("bob")).Count == 0, "the finished job to leave the queue");
        }
        finally
        {
            await relay.StopAsync(CancellationToken.None);
        }
    }

    private static async Task UntilAsync(Func<bool> condition, string what)
    {
        var until = DateTime.UtcNow + Deadline;
        while (!condition())
        {
            if (DateTime.UtcNow > until)
                Assert.Fail($"timed out waiting for {what}");
            await Task.Delay(50);
        }
    }

    [StoreFact]
    public async Task ThreePeopleOnTwoStudioProcessesGetTheirShareWithinTenPercent()
    {
        // Costs as in docs/jobs.md (W*H*steps*count / (1024*1024*8)): ann 1/32, bob and cy 1/16; the same total each.
        for (int i = 0; i < 40; i++)
        {
            await SubmitAsync("ann", 256, 256, steps: 16);
            if (i % 2 == 0)
            {
                await SubmitAsync("bob", 512, 256, steps: 16);
                await SubmitAsync("cy", 512, 512, steps: 8);
            }
        }
        var started = await Task.WhenAll(WorkerAsync(fakeMs: 30), WorkerAsync(fakeMs: 30));
        var (first, second) = (started[0], started[1]);

        var jobs = await UntilAllSucceededAsync(80);
        // Each process prints a success just after writing it: read the output up to the database's count.
        await first.UntilAsync(() => first.Succeeded.Count + second.Succeeded.Count >= 80, "both processes to print their 80 successes", Deadline);

        // While all three still wait (the first 60 starts), the GPU time served is split evenly.
        var served = jobs.Take(60).GroupBy(j => j.User).ToDictionary(g => g.Key, g => g.Sum(j => j.Cost));
        double fair = served.Values.Sum() / 3;
        Assert.All(["ann", "bob", "cy"], user => Assert.InRange(served[user], fair * 0.9, fair * 1.1));
        Assert.True(first.Succeeded.Count > 10 && second.Succeeded.Count > 10, $"both processes worked: {first.Succeeded.Count} and {second.Succeeded.Count}");
        Assert.Equal(80, first.Succeeded.Concat(second.Succeeded).Distinct().Count());
        Assert.Equal(80, first.Succeeded.Count + second.Succeeded.Count);
    }
}
