using ZImage.Tools;

namespace ZImage.Web.Tests.Tools;

public sealed class SessionSoakCommandTests
{
    [Fact]
    public async Task PrintsEachRoundsResidentMemoryAndTheNativeObjectsLeftAlive()
    {
        var output = new StringWriter();
        var rc = await SessionSoakCommand.RunAsync(["--cycles", "20", "--warmup", "2", "--rounds", "2"], output, new StringWriter());

        var text = output.ToString();
        Assert.Contains("round 1: RSS ", text);
        Assert.Contains("round 2: RSS ", text);
        Assert.Contains("native objects left alive 0", text);
        Assert.Equal(text.Contains("session-soak: PASS") ? 0 : 1, rc);
    }

    [Fact]
    public async Task ABadCountIsRefusedNamingTheOption()
    {
        var error = new StringWriter();
        var rc = await SessionSoakCommand.RunAsync(["--cycles", "0"], new StringWriter(), error);

        Assert.Equal(2, rc);
        Assert.Contains("--cycles", error.ToString());
    }
}
