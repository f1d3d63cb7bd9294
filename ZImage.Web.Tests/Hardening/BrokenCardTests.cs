using System.Net;
using System.Runtime.InteropServices;
using System.Text.Json;
using Xunit.Abstractions;
using ZImage.Web.Tests.Kit;

namespace ZImage.Web.Tests.Hardening;

/// <summary>
/// The real server on a card whose CUDA provider cannot start (this machine has no CUDA runtime, as CI; the studio is
/// told to use CUDA): a broken card, as a bad driver or CUDA install makes it. Pauses shortened to seconds.
/// </summary>
public sealed class BrokenCardTests(ITestOutputHelper output)
{
    [Fact]
    public async Task ACardWhoseCudaProviderCannotStartPausesKeepsTheJobAndFailsItOnlyAfterItsRetriesNamingTheCard()
    {
        Assert.False(NativeLibrary.TryLoad("libcudart.so.13", out _), "This test needs a machine without the CUDA runtime, as CI is.");
        await using var folder = new RealServerFolder();
        folder.Settings["ZImage:Engine:Provider"] = "Cuda";
        folder.Settings["ZImage:Jobs:CardFaultBackoffSeconds"] = "3";
        folder.Settings["ZImage:Jobs:CardFaultBackoffMaxSeconds"] = "6";
        folder.Settings["ZImage:Jobs:CardFaultRetries"] = "1";
        var server = await folder.StartAsync();
        using var client = RealServerFolder.ClientFor(server, "ana");

        var id = (await client.SubmitAsync(new { prompt = "a lighthouse", width = 256, height = 256, steps = 2, count = 1 })).GetProperty("id").GetString()!;

        // The first run fails on the card: the card pauses, the job waits again instead of failing.
        var waiting = await client.WaitForJobAsync(id, j => j.Status() == "queued" && j.TryGetProperty("notice", out var n) && n.GetString() is { } s && s.StartsWith("GPU 0 failed"),
            "the job to wait again after the card fault");
        output.WriteLine($"notice: {waiting.GetProperty("notice").GetString()}");
        var card = JsonDocument.Parse(await client.GetStringAsync("api/v1/system")).RootElement.GetProperty("cards")[0];
        output.WriteLine($"card: {card}");
        Assert.Equal("faulted", card.GetProperty("activity").GetString());
        Assert.Contains("CUDA", card.GetProperty("fault").GetProperty("reason").GetString());
        Assert.Contains("zimage_card_faulted{device=\"0\"} 1", (await client.GetStringAsync("metrics")).Split('\n'));
        Assert.Contains("Card 0 failed and takes no job until", await client.GetStringAsync(""));

        // After its pause the card tries again (the model loaded afresh), fails again, and the job has no retry left.
        var job = await client.WaitForJobAsync(id, j => j.IsFinal(), "final");
        var error = job.GetProperty("error").GetString()!;
        output.WriteLine($"job: {job.Status()}: {error}");
        Assert.Equal("failed", job.Status());
        Assert.StartsWith("The graphics card failed: this job ran 2 times and the card failed each time; the last was GPU 0: ", error);
        Assert.Contains("CUDA", error);
        Assert.DoesNotContain("   at ", error);

        // The rest of the studio works on.
        using var health = await client.GetAsync("healthz");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.False(server.HasExited);
    }
}
