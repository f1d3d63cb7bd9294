using Xunit.Abstractions;

namespace ZImage.Web.Tests.Hardening;

/// <summary>
/// kill -9 of the real server in the middle of a generation (the self-test model on the CPU, a job of 50 steps at
/// 1024x1024 so it is still running when the signal lands), then a restart on the same data folder.
/// </summary>
public sealed class CrashRecoveryTests(ITestOutputHelper output)
{
    private static readonly object SlowJob = new { prompt = "a slow picture", width = 1024, height = 1024, steps = 50, count = 1, seed = 7 };

    [Fact]
    public async Task KilledMidGenerationTheJobIsQueuedAgainOnceAndNoFileOrRowIsOrphaned()
    {
        await using var folder = new RealServerFolder();
        var first = await folder.StartAsync();
        string slowId, keptId;
        using (var client = RealServerFolder.ClientFor(first, "kim"))
        {
            // A finished picture before the crash: it must survive both restarts untouched.
            keptId = (await client.SubmitAsync(new { prompt = "kept", width = 256, height = 256, steps = 2, count = 1, seed = 1 })).GetProperty("id").GetString()!;
            await client.WaitForJobAsync(keptId, j => j.IsFinal(), "final");
            slowId = (await client.SubmitAsync(SlowJob)).GetProperty("id").GetString()!;
            await client.WaitForJobAsync(slowId, j => j.Status() == "running" && j.Step() >= 2, "running past step 2");
        }
        await first.KillAsync();
        output.WriteLine($"killed pid {first.Id} with SIGKILL while job {slowId} was running");

        var second = await folder.StartAsync();
        using (var client = RealServerFolder.ClientFor(second, "kim"))
        {
            var requeued = await client.JobAsync(slowId);
            Assert.Contains(requeued.Status(), new[] { "queued", "running" });
            Assert.Contains("queued again", requeued.GetProperty("notice").GetString());
            Assert.Equal(1, folder.Query("SELECT restarts FROM jobs WHERE id = '" + slowId + "'", r => r.GetInt32(0)).Single());
            await client.WaitForJobAsync(slowId, j => j.Status() == "running" && j.Step() >= 2, "running again past step 2");
        }
        await second.KillAsync();
        output.WriteLine($"killed pid {second.Id} again during the job's second run");

        var third = await folder.StartAsync();
        using (var client = RealServerFolder.ClientFor(third, "kim"))
        {
            // The second crash during the same job: it is not started a third time, and says why.
            var interrupted = await client.JobAsync(slowId);
            Assert.Equal("interrupted", interrupted.Status());
            Assert.Contains("it had already been queued again", interrupted.GetProperty("error").GetString());
            var kept = await client.JobAsync(keptId);
            Assert.Equal("succeeded", kept.Status());

            // The worker goes on with new work after the recovery.
            var fresh = (await client.SubmitAsync(new { prompt = "after the crash", width = 256, height = 256, steps = 2, count = 1 })).GetProperty("id").GetString()!;
            Assert.Equal("succeeded", (await client.WaitForJobAsync(fresh, j => j.IsFinal(), "final")).Status());
        }

        // Files and rows agree: every row's picture and thumbnail exist, every file has its row, nothing half-written.
        var rows = folder.Query("SELECT job_id, path, thumb_path FROM images", r => (Job: r.GetString(0), Png: r.GetString(1), Thumb: r.GetString(2)));
        var files = folder.OutputFiles();
        output.WriteLine($"rows: {string.Join(", ", rows.Select(r => r.Png))}; files: {string.Join(", ", files)}");
        Assert.Equal(rows.SelectMany(r => new[] { r.Png, r.Thumb }).Order(StringComparer.Ordinal), files);
        Assert.DoesNotContain(rows, r => r.Job == slowId);
        Assert.Equal(2, rows.Count);
    }
}
