using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using ZImage.Engine.Memory;

namespace ZImage.Engine.Tests.Memory;

public class NvmlMemoryProbeTests
{
    [Fact]
    public void TheProbeReadsConsistentNumbersOrReportsCpuMode()
    {
        using var probe = new NvmlMemoryProbe(Options.Create(new VramOptions()), NullLogger<NvmlMemoryProbe>.Instance);
        bool driverPresent = File.Exists("/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.1") || File.Exists("/usr/lib64/libnvidia-ml.so.1");

        var info = probe.Read();

        if (!driverPresent)
        {
            Assert.Null(info);
            return;
        }
        Assert.NotNull(info);
        Assert.True(info.TotalBytes > 0);
        Assert.InRange(info.FreeBytes, 0, info.TotalBytes);
        Assert.False(string.IsNullOrWhiteSpace(info.Name));
    }
}
