using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ZImage.Engine.Onnx;

namespace ZImage.Engine.Memory;

/// <summary>Reads GPU memory through NVML; without NVML the box is in CPU mode and <see cref="Read"/> returns null.</summary>
public sealed class NvmlMemoryProbe : IGpuMemoryProbe, IDisposable
{
    private readonly Nvml? _nvml;

    public NvmlMemoryProbe(IOptions<VramOptions> options, ILogger<NvmlMemoryProbe> logger)
        : this(options.Value.DeviceIndex, logger)
    {
    }

    /// <param name="deviceIndex">NVML's number of the card.</param>
    public NvmlMemoryProbe(int deviceIndex, ILogger<NvmlMemoryProbe> logger)
    {
        _nvml = Nvml.TryOpen((uint)deviceIndex, out var why);
        if (_nvml is null)
            logger.LogInformation("No GPU memory information for card {Index}, running it in CPU mode: {Reason}", deviceIndex, why);
        else
            logger.LogInformation("GPU {Index} {Name}: memory read through NVML", deviceIndex, _nvml.Name);
    }

    public GpuMemoryInfo? Read()
    {
        if (_nvml?.ReadMemory() is not { } m)
            return null;
        return new GpuMemoryInfo(_nvml.Name, m.Total, m.Free, m.Used);
    }

    public void Dispose() => _nvml?.Dispose();
}
