using System.Net;
using System.Runtime.InteropServices;
using System.Text.Json;
using Xunit.Abstractions;
using ZImage.Tools.Load;
using ZImage.Web.Tests.Kit;

namespace ZImage.Web.Tests.Hardening;

/// <summary>The real server with a damaged model folder, without NVML, and asked to listen beyond localhost in open mode.</summary>
public sealed class ModelAndMachineFaultTests(ITestOutputHelper output)
{
    public enum Damage
    {
        TruncatedTransformerWeights,
        MissingVaeDecoder,
    }

    [Theory]
    [InlineData(Damage.TruncatedTransformerWeights, "transformer/model.onnx.data", "truncated")]
    [InlineData(Damage.MissingVaeDecoder, "vae_decoder/model.onnx", "missing")]
    public async Task ADamagedModelIsNamedAtLoadAndInSettingsAndTheRestOfTheAppWorks(Damage damage, string file, string word)
    {
        var model = Directory.CreateTempSubdirectory("zimage-damaged-model-").FullName;
        try
        {
            TestFolders.CopyFolder(RealServerFolder.SelfTestModel, model);
            var target = Path.Combine(model, file);
            if (damage == Damage.TruncatedTransformerWeights)
            {
                using var stream = new FileStream(target, FileMode.Open);
                stream.SetLength(stream.Length / 2);
            }
            else
            {
                Directory.Delete(Path.GetDirectoryName(target)!, recursive: true);
            }

            await using var folder = new RealServerFolder(modelDirectory: model);
            var server = await folder.StartAsync();
            using var client = RealServerFolder.ClientFor(server, "mo");

            // At load: readiness says why, naming the file.
            using var ready = await client.GetAsync("readyz");
            var readiness = JsonDocument.Parse(await ready.Content.ReadAsStringAsync()).RootElement;
            output.WriteLine($"/readyz {(int)ready.StatusCode}: {readiness}");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
            Assert.Equal("error", readiness.GetProperty("model").GetString());
            Assert.Contains(file, readiness.GetProperty("detail").GetString());
            Assert.Contains(word, readiness.GetProperty("detail").GetString());

            // A job reaches a final state with the same sentence, not a stack trace.
            var id = (await client.SubmitAsync(new { prompt = "x", width = 256, height = 256, steps = 2, count = 1 })).GetProperty("id").GetString()!;
            var job = await client.WaitForJobAsync(id, j => j.IsFinal(), "final");
            var error = job.GetProperty("error").GetString()!;
            output.WriteLine($"job: {job.Status()}: {error}");
            Assert.Equal("failed", job.Status());
            Assert.Contains(file, error);
            Assert.DoesNotContain("   at ", error);

            // In Settings: the health check names the file.
            var settings = await client.GetStringAsync("settings");
            Assert.Contains("id=\"model-health\"", settings);
            Assert.Contains(file, settings);
            Assert.Contains(word, settings);

            // The rest stays usable.
            foreach (var path in new[] { "", "history", "api/v1/history?user=mine", "api/v1/jobs", "api/v1/system", "healthz" })
            {
                using var page = await client.GetAsync(path);
                Assert.True(page.IsSuccessStatusCode, $"/{path} answered {(int)page.StatusCode} with a damaged model");
            }
            Assert.False(server.HasExited);
        }
        finally
        {
            Directory.Delete(model, recursive: true);
        }
    }

    [Fact]
    public async Task WithoutNvmlTheServerRunsOnTheProcessorAndSaysSo()
    {
        // NVML ships with the NVIDIA driver; this machine and CI have none. Where it exists the other branch is checked.
        var hasNvml = NativeLibrary.TryLoad("libnvidia-ml.so.1", out var handle);
        if (hasNvml)
            NativeLibrary.Free(handle);

        await using var folder = new RealServerFolder();
        var server = await folder.StartAsync();
        using var client = RealServerFolder.ClientFor(server, "cpu-person");
        var system = JsonDocument.Parse(await client.GetStringAsync("api/v1/system")).RootElement;
        var page = await client.GetStringAsync("");
        output.WriteLine($"NVML loadable: {hasNvml}; /api/v1/system gpu: {system.GetProperty("gpu")}");
        Assert.Equal(hasNvml, system.GetProperty("gpu").GetProperty("present").GetBoolean());
        const string notice = "No graphics card: running on the processor (slow)";
        if (hasNvml)
        {
            Assert.DoesNotContain(notice, page);
            return;
        }
        Assert.Contains(notice, page);
        Assert.Contains("no usable graphics card", await client.GetStringAsync("settings"));
        var id = (await client.SubmitAsync(new { prompt = "on the processor", width = 256, height = 256, steps = 2, count = 1 })).GetProperty("id").GetString()!;
        Assert.Equal("succeeded", (await client.WaitForJobAsync(id, j => j.IsFinal(), "final")).Status());
    }

    [Fact]
    public async Task OpenModeRefusesToStartWhenAskedToListenBeyondLocalhost()
    {
        await using var folder = new RealServerFolder();
        // The refusal happens before Kestrel binds, so nothing ever listens on the wildcard address.
        await using var server = await ServerProcess.StartAsync(folder.Root, folder.Settings, RealServerFolder.StartTimeout,
            urls: "http://0.0.0.0:0", waitUntilListening: false);
        var code = await server.WaitForExitAsync(RealServerFolder.StartTimeout);
        output.WriteLine(server.Tail);
        Assert.NotEqual(0, code);
        Assert.Contains("ZImage:Web:Mode", server.Tail);
        Assert.Contains("0.0.0.0", server.Tail);
        Assert.DoesNotContain("Now listening on", server.Tail);
    }

}
