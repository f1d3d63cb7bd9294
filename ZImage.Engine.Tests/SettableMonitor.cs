using Microsoft.Extensions.Options;

namespace ZImage.Engine.Tests;

/// <summary>Options a test can change, telling listeners as the configuration's reload would (a Settings save).</summary>
internal class SettableMonitor<T>(T value) : IOptionsMonitor<T>
{
    private readonly List<Action<T, string?>> _listeners = [];
    public T CurrentValue { get; private set; } = value;
    public T Get(string? name) => CurrentValue;

    public IDisposable? OnChange(Action<T, string?> listener)
    {
        _listeners.Add(listener);
        return null;
    }

    public void Set(T value)
    {
        CurrentValue = value;
        foreach (var listener in _listeners)
            listener(value, null);
    }
}
