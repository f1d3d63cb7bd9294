using Microsoft.Extensions.Options;
using ZImage.Engine.Memory;

namespace ZImage.Engine.Pipeline;

/// <summary>
/// The VRAM guard's view of the model folder the engine options name. It lives with the engine options, not the
/// guard: the guard only knows footprints. Re-reads the folder when the options change (Settings can switch folders).
/// </summary>
public sealed class OptionsModelFootprintSource(IOptionsMonitor<VramOptions> options, IOptionsMonitor<EngineOptions> engine) : IModelFootprintSource
{
    public ModelFootprint Current => ModelFootprint.FromOptions(options.CurrentValue, engine.CurrentValue.ModelDirectory);
}
