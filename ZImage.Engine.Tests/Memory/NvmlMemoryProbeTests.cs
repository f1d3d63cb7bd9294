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
        // The driver's library may live anywhere the loader looks (e.g. /usr/local/nvidia/lib64 in containers).
        bool driverPresent = System.Runtime.InteropServices.NativeLibrary.TryLoad("libnvidia-ml.so.1", out var handle);
        if (driverPresent)
            System.Runtime.InteropServices.NativeLibrary.Free(handle);

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
