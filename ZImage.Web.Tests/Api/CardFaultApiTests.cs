using System.Text.Json;
using ZImage.Engine.Onnx;

namespace ZImage.Web.Tests.Api;

/// <summary>A studio whose one card is broken (every run throws a CUDA provider error).</summary>
public sealed class BrokenCardApiFactory : ApiFactory
{
    public BrokenCardApiFactory() => Pipeline.FailWith = _ => new OnnxRuntimeException(OrtErrorCode.EpFail, "CUDA failure 999: unspecified launch failure");
}

public sealed class CardFaultApiTests(BrokenCardApiFactory factory) : IClassFixture<BrokenCardApiFactory>
{
    [Fact]
    public async Task ABrokenCardIsFaultedInSystemAndMetricsWithItsReasonAndNextTryWhileTheJobWaits()
    {
        var client = factory.ClientFor("cara");
        var job = await client.PostJobAsync(new { prompt = "a lighthouse", width = 256, height = 256, steps = 2 });
        var id = job.GetProperty("id").GetString()!;

        JsonElement card = default;
        await ApiTestExtensions.WaitUntilAsync(async () =>
        {
            var system = await (await client.GetAsync("/api/v1/system")).JsonAsync();
            card = system.GetProperty("cards")[0];
            return card.GetProperty("activity").GetString() == "faulted";
        }, "the card to pause after its fault");

        var fault = card.GetProperty("fault");
        Assert.Equal("CUDA failure 999: unspecified launch failure", fault.GetProperty("reason").GetString());
        Assert.Equal(1, fault.GetProperty("inARow").GetInt32());
        Assert.Equal(TimeSpan.FromSeconds(30), fault.GetProperty("retryAt").GetDateTimeOffset() - fault.GetProperty("at").GetDateTimeOffset());
        var metrics = (await (await factory.CreateClient().GetAsync("/metrics")).Content.ReadAsStringAsync()).Split('\n');
        Assert.Contains("# TYPE zimage_card_faulted gauge", metrics);
        Assert.Contains("zimage_card_faulted{device=\"0\"} 1", metrics);
        // The job was not thrown away: it waits for the card's next try, saying why.
        var waiting = await client.WaitForStatusAsync(id, "queued");
        Assert.Contains("GPU 0 failed", waiting.GetProperty("notice").GetString());
    }
}
