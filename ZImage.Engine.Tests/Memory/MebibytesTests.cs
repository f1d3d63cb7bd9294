using ZImage.Engine.Memory;

namespace ZImage.Engine.Tests.Memory;

public sealed class MebibytesTests
{
    [Fact]
    public void FiguresArePrintedInWholeMebibytesRoundedDownAndAnUnreadOneSaysSo()
    {
        Assert.Equal(0, Mebibytes.Of(1024 * 1024 - 1));
        Assert.Equal(81_559L, Mebibytes.Of(85_520_809_984L));   // an H100's 79.6 GiB, as NVML reports it
        Assert.Null(Mebibytes.Of((long?)null));
        Assert.Equal("3 MiB", Mebibytes.Show(3L * 1024 * 1024 + 5));
        Assert.Equal("n/a", Mebibytes.Show(null));
    }
}
