using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using ZImage.Engine.Jobs;

namespace ZImage.Tools.Scale;

/// <summary>
/// <c>scale-bench --db ADMIN_CONNECTION [--processes 1,2,4] [--jobs 200] [--fake-ms 50] [--users 3]</c>: how many jobs per
/// second the shared PostgreSQL queue sustains with 1, 2 and 4 <c>scale-worker</c> processes (a stand-in GPU of --fake-ms
/// per job), how long claims take (p50/p99), and the queue's own cost per job on PostgreSQL against SQLite (one worker in
/// this process, jobs-bench's measure). Each round runs in a fresh database it creates and drops. Prints numbers; asserts nothing.
/// </summary>
internal static class ScaleBenchCommand
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(5);

    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error)
    {
        try
        {
            var a = new CliArguments(args, EngineCli.CommonFlags);
            string admin = a.Required("db");
            var processes = a.IntList("processes", [1, 2, 4]);
            int jobs = a.Int("jobs", 200), fakeMs = a.Int("fake-ms", 50), users = a.Int("users", 3);
            a.RejectUnknown();
            if (jobs < 1 || users < 1 || fakeMs < 0 || processes.Any(p => p < 1))
                throw new CliException("--jobs and --users must be at least 1, --fake-ms at least 0, --processes a list of counts of at least 1");

            output.WriteLine($"scale bench: {jobs} jobs of 256x256, 8 steps, {users} users, stand-in GPU {fakeMs} ms per job, one worker per process");
            output.WriteLine($"  ideal: {1000.0 / Math.Max(1, fakeMs):0.0} jobs/s per worker process");
            foreach (int n in processes)
                await RoundAsync(admin, n, jobs, fakeMs, users, output);

            output.WriteLine("queue cost per job, one worker in this process (jobs-bench's figures):");
            foreach (var provider in new[] { StoreProvider.Sqlite, StoreProvider.PostgreSql })
            {
                await using var db = provider == StoreProvider.PostgreSql ? await BenchDatabase.CreateAsync(admin) : null;
                var store = db is null
                    ? new Dictionary<string, string?>()
                    : new Dictionary<string, string?>
                    {
                        ["ZImage:Store:Provider"] = nameof(StoreProvider.PostgreSql),
                        ["ZImage:Store:ConnectionString"] = db.ConnectionString,
                    };
                var report = await JobsBenchmark.RunAsync(new StandInPipeline(TimeSpan.FromMilliseconds(fakeMs)),
                    new JobsBenchmark.Settings(Jobs: jobs, Users: users) { Store = store }, TextWriter.Null);
                var handOff = report.Wall / report.Jobs - report.PipelinePerJob;
                output.WriteLine(Invariant($"  {provider,-10}: worker outside the pipeline {report.OverheadPerJob.TotalMilliseconds:0.000} ms, ",
                    $"saving {report.SavingPerJob.TotalMilliseconds:0.000} ms, wall per job minus pipeline {handOff.TotalMilliseconds:0.000} ms, {report.JobsPerSecond:0.00} jobs/s"));
            }
            return 0;
        }
        catch (Exception e) when (e is CliException or ArgumentException or NpgsqlException)
        {
            error.WriteLine($"error: {e.Message}");
            return 2;
        }
    }

    private static async Task RoundAsync(string admin, int processes, int jobs, int fakeMs, int users, TextWriter output)
    {
        await using var db = await BenchDatabase.CreateAsync(admin);
        string pictures = Directory.CreateTempSubdirectory("zimage-scale-bench-").FullName;
        var workers = new List<WorkerProcess>();
        try
        {
            await using (var studio = await JobsRoom.StartAsync(new StandInPipeline(TimeSpan.Zero), new Dictionary<string, string?>
            {
                ["ZImage:Store:Provider"] = nameof(StoreProvider.PostgreSql),
                ["ZImage:Store:ConnectionString"] = db.ConnectionString,
                ["ZImage:Store:SharedPictureFolder"] = pictures,
                ["ZImage:Jobs:DataDirectory"] = Path.Combine(pictures, "data"),
                ["ZImage:Jobs:MaxQueuedPerUser"] = "1000",
                ["ZImage:Jobs:MaxQueuedTotal"] = "100000",
            }))
            {
                var service = studio.GetRequiredService<IJobService>();
                for (int i = 0; i < jobs; i++)
                {
                    var result = await service.SubmitAsync(new JobRequest { Settings = new() { Prompt = $"bench {i}", Width = 256, Height = 256, Steps = 8 } },
                        new Caller($"user{i % users}"));
                    if (!result.Accepted)
                        throw new InvalidOperationException(result.Message);
                }
            }

            workers.AddRange(await Task.WhenAll(Enumerable.Range(0, processes).Select(_ => WorkerProcess.StartAsync(
                ["--db", db.ConnectionString, "--pictures", pictures, "--fake-ms", fakeMs.ToString(CultureInfo.InvariantCulture)], Timeout))));
            await UntilAsync(async () => await db.CountAsync("status = 'Succeeded'") == jobs, Timeout);
            var claims = new List<double>();
            foreach (var w in workers)
                claims.AddRange(await w.StopAsync(TimeSpan.FromSeconds(30)));
            claims.Sort();

            // From the first start to the last finish, as the database recorded them (every process's clock is this box's).
            var (first, last) = await db.SpanAsync();
            double seconds = (last - first) / 1000.0;
            output.WriteLine(Invariant($"  {processes} process(es): {jobs / seconds:0.00} jobs/s ({seconds:0.000} s for {jobs}), ",
                $"claim p50 {ScaleWorkerCommand.Percentile(claims, 0.5):0.00} ms, p99 {ScaleWorkerCommand.Percentile(claims, 0.99):0.00} ms ",
                $"({claims.Count} claims), per process: {string.Join(' ', workers.Select(w => w.Succeeded.Count))} jobs"));
        }
        finally
        {
            foreach (var w in workers)
                await w.DisposeAsync();
            Directory.Delete(pictures, recursive: true);
        }
    }

    private static async Task UntilAsync(Func<Task<bool>> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"the jobs did not all finish within {timeout.TotalMinutes:0} minutes");
            await Task.Delay(50);
        }
    }

    private static string Invariant(params FormattableString[] parts) => string.Concat(parts.Select(p => p.ToString(CultureInfo.InvariantCulture)));

    /// <summary>A database of its own for one round, dropped afterwards.</summary>
    private sealed class BenchDatabase(string admin, string name) : IAsyncDisposable
    {
        public string ConnectionString { get; } = new NpgsqlConnectionStringBuilder(admin) { Database = name }.ConnectionString;

        public static async Task<BenchDatabase> CreateAsync(string admin)
        {
            string name = "zimage_bench_" + Guid.NewGuid().ToString("N")[..12];
            await using var c = new NpgsqlConnection(admin);
            await c.OpenAsync();
            await using var cmd = new NpgsqlCommand($"CREATE DATABASE {name}", c);
            await cmd.ExecuteNonQueryAsync();
            return new BenchDatabase(admin, name);
        }

        public async Task<long> CountAsync(string where)
        {
            await using var c = new NpgsqlConnection(ConnectionString);
            await c.OpenAsync();
            await using var cmd = new NpgsqlCommand($"SELECT count(*) FROM jobs WHERE {where}", c);
            return (long)(await cmd.ExecuteScalarAsync())!;
        }

        public async Task<(long First, long Last)> SpanAsync()
        {
            await using var c = new NpgsqlConnection(ConnectionString);
            await c.OpenAsync();
            await using var cmd = new NpgsqlCommand("SELECT min(started_at), max(finished_at) FROM jobs", c);
            await using var r = await cmd.ExecuteReaderAsync();
            await r.ReadAsync();
            return (r.GetInt64(0), r.GetInt64(1));
        }

        public async ValueTask DisposeAsync()
        {
            NpgsqlConnection.ClearAllPools();
            await using var c = new NpgsqlConnection(admin);
            await c.OpenAsync();
            await using var cmd = new NpgsqlCommand($"DROP DATABASE IF EXISTS {name} WITH (FORCE)", c);
            await cmd.ExecuteNonQueryAsync();
        }
    }
}
