using System.Text.Json;
using ZImage.Tools;
using ZImage.Web.Tests.Api;

namespace ZImage.Web.Tests.Tools;

public sealed class BenchCommandTests
{
    [Fact]
    public async Task BenchOnTheSelfTestModelReportsEveryStageAndTheMemoryColumnsPerStage()
    {
        var json = Path.Combine(Path.GetTempPath(), $"zimage-bench-{Guid.NewGuid():N}.json");
        try
        {
            var output = new StringWriter();
            var error = new StringWriter();
            var rc = await BenchCommand.RunAsync(["--model", TinyModelApiFactory.ModelDirectory, "--provider", "cpu", "--sizes", "256",
                "--counts", "1,2", "--steps", "3", "--runs", "2", "--warmup", "1", "--json", json], output, error);

            Assert.True(rc == 0, error.ToString());
            using var report = JsonDocument.Parse(await File.ReadAllTextAsync(json));
            var results = report.RootElement.GetProperty("results");
            Assert.Equal(2, results.GetArrayLength());
            foreach (var r in results.EnumerateArray())
            {
                Assert.Equal(256, r.GetProperty("width").GetInt32());
                Assert.Equal(3, r.GetProperty("steps_ms_first_run").GetArrayLength());
                Assert.True(r.GetProperty("step_ms_median").GetDouble() > 0);
                Assert.True(r.GetProperty("vae_ms").GetDouble() > 0);
                Assert.True(r.GetProperty("pipeline_total_ms").GetDouble() >= r.GetProperty("vae_ms").GetDouble());
                // No NVML on this machine: every memory column is there and says "unknown" rather than 0.
                Assert.Equal(JsonValueKind.Null, r.GetProperty("peak_gpu_used_mib").ValueKind);
                Assert.Equal(JsonValueKind.Null, r.GetProperty("gpu_used_before_run_mib").ValueKind);
                var stages = r.GetProperty("peak_gpu_used_mib_by_stage");
                Assert.Equal(["text_encoder_and_first_step", "later_steps", "vae_decode"], stages.EnumerateObject().Select(p => p.Name));
            }
            Assert.Equal(2, results[1].GetProperty("count").GetInt32());
            Assert.Equal("Resident", report.RootElement.GetProperty("residency").GetString());
        }
        finally
        {
            File.Delete(json);
        }
    }

    [Fact]
    public async Task AskingForTwoResidenciesAtOnceIsRefusedWithBothNamed()
    {
        var error = new StringWriter();

        var rc = await BenchCommand.RunAsync(["--model", TinyModelApiFactory.ModelDirectory, "--provider", "cpu", "--sizes", "256",
            "--sequential", "--lean"], new StringWriter(), error);

        Assert.Equal(2, rc);
        Assert.Contains("--sequential and --lean", error.ToString());
    }
}
