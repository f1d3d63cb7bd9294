using System.Buffers.Binary;
using System.Text.Json;

namespace ZImage.Engine.Models.Install.Checkpoint;

/// <summary>Element types a checkpoint tensor may have; each is widened to float32 exactly on reading.</summary>
internal enum SafetensorsDtype
{
    F32,
    F16,
    BF16,
}

/// <summary>One tensor's entry in a safetensors header: where its bytes are, relative to the data section.</summary>
internal sealed record SafetensorsEntry(string Name, SafetensorsDtype Dtype, long[] Shape, long Begin, long End)
{
    public long Count => Shape.Aggregate(1L, (a, b) => a * b);

    public int ElementSize => Dtype == SafetensorsDtype.F32 ? 4 : 2;
}

/// <summary>
/// A .safetensors file (8-byte little-endian header length, JSON header, raw little-endian data) read by
/// positioned reads: a tensor's bytes are read when asked for, a slice at a time, so a 10 GB shard never sits in
/// memory. The handle stays open until the checkpoint is disposed.
/// </summary>
internal sealed class SafetensorsFile : IDisposable
{
    // A real header is a few hundred KB; anything near this is a corrupt or foreign file.
    private const long MaxHeaderBytes = 100L << 20;

    private readonly FileStream _file; // read only through RandomAccess at explicit offsets
    private readonly long _dataStart;

    private SafetensorsFile(string path, FileStream file, long dataStart, IReadOnlyDictionary<string, SafetensorsEntry> entries)
    {
        Path = path;
        _file = file;
        _dataStart = dataStart;
        Entries = entries;
    }

    public string Path { get; }

    public IReadOnlyDictionary<string, SafetensorsEntry> Entries { get; }

    public static SafetensorsFile Open(string path)
    {
        var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0, FileOptions.RandomAccess);
        try
        {
            var length = file.Length;
            var prefix = new byte[8];
            if (length < 8)
                throw new InvalidDataException($"{path}: not a safetensors file (shorter than its 8-byte header length)");
            ReadExactly(file, prefix, 0, path);
            var headerLength = BinaryPrimitives.ReadInt64LittleEndian(prefix);
            if (headerLength <= 0 || headerLength > MaxHeaderBytes || 8 + headerLength > length)
                throw new InvalidDataException($"{path}: not a safetensors file (header length {headerLength} does not fit the file of {length} bytes)");
            var header = new byte[headerLength];
            ReadExactly(file, header, 8, path);
            var dataStart = 8 + headerLength;
            var entries = ParseHeader(path, header, length - dataStart);
            return new SafetensorsFile(path, file, dataStart, entries);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>Reads <paramref name="destination"/>.Length elements from element <paramref name="start"/> of the tensor, widened to float32.</summary>
    public void Read(SafetensorsEntry entry, long start, Span<float> destination, byte[] scratch)
    {
        var bytes = destination.Length * entry.ElementSize;
        if (scratch.Length < bytes)
            throw new ArgumentException("scratch buffer too small", nameof(scratch));
        ReadExactly(_file, scratch.AsSpan(0, bytes), _dataStart + entry.Begin + start * entry.ElementSize, Path);
        WeightCodec.Widen(entry.Dtype, scratch.AsSpan(0, bytes), destination);
    }

    public void Dispose() => _file.Dispose();

    private static void ReadExactly(FileStream file, Span<byte> buffer, long offset, string path)
    {
        while (!buffer.IsEmpty)
        {
            var n = RandomAccess.Read(file.SafeFileHandle, buffer, offset);
            if (n <= 0)
                throw new InvalidDataException($"{path}: file ends early (truncated download?)");
            buffer = buffer[n..];
            offset += n;
        }
    }

    private static Dictionary<string, SafetensorsEntry> ParseHeader(string path, byte[] header, long dataLength)
    {
        using var doc = JsonDocument.Parse(header);
        var entries = new Dictionary<string, SafetensorsEntry>(StringComparer.Ordinal);
        foreach (var property in doc.RootElement.EnumerateObject())
        {
            if (property.Name == "__metadata__")
                continue;
            var e = property.Value;
            var dtypeName = e.GetProperty("dtype").GetString();
            SafetensorsDtype dtype = dtypeName switch
            {
                "F32" => SafetensorsDtype.F32,
                "F16" => SafetensorsDtype.F16,
                "BF16" => SafetensorsDtype.BF16,
                _ => throw new InvalidDataException($"{path}: tensor {property.Name} has dtype {dtypeName}; only F32, F16 and BF16 checkpoints can be installed"),
            };
            var shape = e.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()).ToArray();
            var offsets = e.GetProperty("data_offsets").EnumerateArray().Select(d => d.GetInt64()).ToArray();
            var entry = new SafetensorsEntry(property.Name, dtype, shape, offsets[0], offsets[1]);
            if (offsets.Length != 2 || entry.Begin < 0 || entry.End > dataLength || entry.End - entry.Begin != entry.Count * entry.ElementSize)
                throw new InvalidDataException($"{path}: tensor {property.Name} has data_offsets [{string.Join(", ", offsets)}] that do not match its shape [{string.Join(", ", shape)}] and dtype {dtypeName} within the file (truncated download?)");
            entries[property.Name] = entry;
        }
        return entries;
    }
}
