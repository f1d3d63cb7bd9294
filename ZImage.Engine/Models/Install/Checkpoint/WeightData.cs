using System.Buffers;

namespace ZImage.Engine.Models.Install.Checkpoint;

/// <summary>
/// A weight on its way from the checkpoint to the model folder, as float32: read a slice at a time
/// (<see cref="Read"/>) so the writer never holds a large tensor whole. Reshape and scale stay lazy; a transpose
/// needs the whole matrix (the largest, the transformer's 10240x3840 FFN weight, is 157 MB in float32).
/// </summary>
internal abstract class WeightData
{
    protected WeightData(long[] shape, string source)
    {
        Shape = shape;
        Source = source;
    }

    public long[] Shape { get; }

    /// <summary>The checkpoint tensor this came from, for messages.</summary>
    public string Source { get; }

    public long Count => Shape.Aggregate(1L, (a, b) => a * b);

    public abstract void Read(long start, Span<float> destination);

    public float[] ToArray()
    {
        if (Count > Array.MaxLength)
            throw new InvalidOperationException($"{Source}: {Count} elements do not fit one array");
        var values = new float[Count];
        Read(0, values);
        return values;
    }

    public WeightData Reshape(params long[] shape)
    {
        if (shape.Aggregate(1L, (a, b) => a * b) != Count)
            throw new ArgumentException($"{Source}: cannot reshape [{string.Join(", ", Shape)}] to [{string.Join(", ", shape)}]");
        return new Reshaped(this, shape);
    }

    /// <summary>
    /// The [in, out] matrix the graph multiplies by, from torch's [out, in]. The result lives in
    /// <paramref name="scratch"/> and is valid until its next use, so one pair of buffers serves every matrix of a
    /// conversion instead of two fresh 157 MB arrays per weight.
    /// </summary>
    public WeightData Transpose(TransposeScratch scratch)
    {
        if (Shape.Length != 2)
            throw new InvalidOperationException($"{Source}: only a matrix can be transposed, shape is [{string.Join(", ", Shape)}]");
        var (rows, cols) = ((int)Shape[0], (int)Shape[1]);
        var count = (int)Count;
        var (source, result) = scratch.Buffers(count);
        Read(0, source.AsSpan(0, count));
        // Blocked so both arrays are walked in cache-sized tiles.
        const int Block = 64;
        for (var r0 = 0; r0 < rows; r0 += Block)
            for (var c0 = 0; c0 < cols; c0 += Block)
            {
                var rEnd = Math.Min(r0 + Block, rows);
                var cEnd = Math.Min(c0 + Block, cols);
                for (var r = r0; r < rEnd; r++)
                {
                    var row = r * cols;
                    for (var c = c0; c < cEnd; c++)
                        result[c * rows + r] = source[row + c];
                }
            }
        return new InMemory(result, [cols, rows], Source);
    }

    /// <summary>Every value multiplied by <paramref name="factor"/> in float32, as numpy's `w * np.float32(scale)`.</summary>
    public WeightData Scale(float factor) => factor == 1f ? this : new Scaled(this, factor);

    public static WeightData FromArray(float[] values, long[] shape, string source) => new InMemory(values, shape, source);

    /// <summary>Backs an array whose valid part may be shorter than the array (a reused scratch buffer).</summary>
    private sealed class InMemory(float[] values, long[] shape, string source) : WeightData(shape, source)
    {
        public override void Read(long start, Span<float> destination) => values.AsSpan((int)start, destination.Length).CopyTo(destination);
    }

    private sealed class Reshaped(WeightData inner, long[] shape) : WeightData(shape, inner.Source)
    {
        public override void Read(long start, Span<float> destination) => inner.Read(start, destination);
    }

    private sealed class Scaled(WeightData inner, float factor) : WeightData(inner.Shape, inner.Source)
    {
        public override void Read(long start, Span<float> destination)
        {
            inner.Read(start, destination);
            for (var i = 0; i < destination.Length; i++)
                destination[i] *= factor;
        }
    }
}

/// <summary>Two grow-only buffers for <see cref="WeightData.Transpose"/>, owned by one graph build (one thread).</summary>
internal sealed class TransposeScratch
{
    private float[] _source = [];
    private float[] _result = [];

    public (float[] Source, float[] Result) Buffers(int count)
    {
        if (_source.Length < count)
        {
            _source = [];
            _result = [];
            _source = new float[count];
            _result = new float[count];
        }
        return (_source, _result);
    }
}

/// <summary>A tensor of a safetensors file, read on demand.</summary>
internal sealed class SafetensorsWeight(SafetensorsFile file, SafetensorsEntry entry) : WeightData(entry.Shape, entry.Name)
{
    // Slices of at most 4 MB of source bytes.
    private const int SliceElements = 1 << 20;

    public override void Read(long start, Span<float> destination)
    {
        if (start < 0 || start + destination.Length > Count)
            throw new ArgumentOutOfRangeException(nameof(start));
        var scratch = ArrayPool<byte>.Shared.Rent(Math.Min(destination.Length, SliceElements) * entry.ElementSize);
        try
        {
            while (!destination.IsEmpty)
            {
                var n = Math.Min(destination.Length, SliceElements);
                file.Read(entry, start, destination[..n], scratch);
                destination = destination[n..];
                start += n;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(scratch);
        }
    }
}
