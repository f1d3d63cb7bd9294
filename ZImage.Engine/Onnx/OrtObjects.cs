namespace ZImage.Engine.Onnx;

/// <summary>
/// Counts the managed API's objects that own native ONNX Runtime memory (sessions, options, values, bindings,
/// allocators, memory infos) from their creation here to their disposal here: every one enters through
/// <see cref="Adopt{T}"/> and leaves through <see cref="Release"/>, and the lifetime tests read <see cref="LiveCount"/>.
/// </summary>
internal static class OrtObjects
{
    private static long _live;

    internal static long LiveCount => Interlocked.Read(ref _live);

    public static T Adopt<T>(T native) where T : IDisposable
    {
        Interlocked.Increment(ref _live);
        return native;
    }

    /// <summary>Disposes <paramref name="native"/> (its native object is released); call once per adopted object.</summary>
    public static void Release(IDisposable? native)
    {
        if (native is null)
            return;
        native.Dispose();
        Interlocked.Decrement(ref _live);
    }
}
