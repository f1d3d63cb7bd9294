using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ZImage.Engine.Memory;
using ZImage.Engine.Models;
using ZImage.Engine.Onnx;

namespace ZImage.Engine.Pipeline;

/// <summary>
/// One graphics card this process drives: its own pipeline (ONNX Runtime sessions on <see cref="DeviceId"/>, residency
/// and idle unload), its own VRAM guard and memory probe (NVML's card of the same number), its own model state.
/// </summary>
/// <param name="Index">Its place in <see cref="EngineOptions.Devices"/>: worker <c>i</c> runs on card <c>i % count</c>.</param>
public sealed record GpuCard(int Index, int DeviceId, IImagePipeline Pipeline, IVramGuard Guard, IGpuMemoryProbe Memory, IModelStatus Model)
{
    /// <summary>Whether it may take its next job, or is pausing after a card fault (docs/scale-out.md).</summary>
    public CardHealth Health { get; } = new();
}

/// <summary>Builds the cards after the first (the first is the app's registered pipeline, guard, probe and model status).</summary>
public interface IGpuCardFactory
{
    GpuCard Create(int index, int deviceId);
}

/// <summary>
/// The cards of <see cref="EngineOptions.CardDevices"/>, in worker order. Card 0 is made of the services the app has always
/// registered (so a one-card box is unchanged and tests' fakes apply); the others come from <see cref="IGpuCardFactory"/>.
/// Owns (and disposes) what the factory made.
/// </summary>
public sealed class GpuCards : IReadOnlyList<GpuCard>, IDisposable
{
    private readonly IReadOnlyList<GpuCard> _cards;

    public GpuCards(IReadOnlyList<GpuCard> cards)
    {
        if (cards.Count == 0)
            throw new ArgumentException("at least one card", nameof(cards));
        _cards = cards;
    }

    public static GpuCards Create(IServiceProvider sp)
    {
        var devices = sp.GetRequiredService<IOptions<EngineOptions>>().Value.CardDevices;
        var cards = new List<GpuCard>(devices.Count)
        {
            new(0, devices[0], sp.GetRequiredService<IImagePipeline>(), sp.GetRequiredService<IVramGuard>(),
                sp.GetRequiredService<IGpuMemoryProbe>(), sp.GetRequiredService<IModelStatus>()),
        };
        if (devices.Count > 1)
        {
            var factory = sp.GetRequiredService<IGpuCardFactory>();
            for (int i = 1; i < devices.Count; i++)
                cards.Add(factory.Create(i, devices[i]));
        }
        return new GpuCards(cards);
    }

    /// <summary>The card a worker runs on.</summary>
    public GpuCard ForWorker(int worker) => _cards[worker % _cards.Count];

    /// <summary>The first card's session device when <see cref="EngineOptions.Devices"/> names it; null: follow DeviceId.</summary>
    public static int? FirstSessionDevice(EngineOptions engine) => engine.Devices.Count > 0 ? engine.Devices[0] : null;

    /// <summary>
    /// NVML's index for the first card: with a Devices list the card's own number (CUDA_DEVICE_ORDER=PCI_BUS_ID makes CUDA
    /// number the cards as NVML does), else ZImage:Memory:DeviceIndex as before.
    /// </summary>
    public static int FirstMemoryIndex(EngineOptions engine, VramOptions memory) => engine.Devices.Count > 0 ? engine.Devices[0] : memory.DeviceIndex;

    public GpuCard this[int index] => _cards[index];

    public int Count => _cards.Count;

    public IEnumerator<GpuCard> GetEnumerator() => _cards.GetEnumerator();

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

    public void Dispose()
    {
        foreach (var card in _cards.Skip(1))
        {
            (card.Pipeline as IDisposable)?.Dispose();
            (card.Memory as IDisposable)?.Dispose();
        }
    }
}

/// <summary>A further card as the app runs it: NVML probe, VRAM guard and a pipeline host of its own on that device.</summary>
internal sealed class PipelineCardFactory(IOptionsMonitor<EngineOptions> engine, IOptionsMonitor<VramOptions> memory, IModelCatalog catalog,
    IModelFootprintSource footprint, IServiceProvider services, ILoggerFactory loggers) : IGpuCardFactory
{
    public GpuCard Create(int index, int deviceId)
    {
        var probe = new NvmlMemoryProbe(deviceId, loggers.CreateLogger<NvmlMemoryProbe>());
        var guard = new VramGuard(probe, footprint, memory);
        var host = new PipelineHost(engine, catalog, () => services.GetRequiredService<OrtRuntime>(), guard, loggers,
            services.GetService<TimeProvider>(), services.GetService<IModelLoadRecord>(), deviceId);
        return new GpuCard(index, deviceId, host, guard, probe, host);
    }
}
