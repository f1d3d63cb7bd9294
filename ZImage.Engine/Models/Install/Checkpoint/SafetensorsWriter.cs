using System.Buffers.Binary;
using System.Text.Json;

namespace ZImage.Engine.Models.Install.Checkpoint;

/// <summary>A tensor to write: its values are produced a slice at a time (start element, destination) as float32.</summary>
public sealed record SafetensorsTensor(string Name, string Dtype, long[] Shape, Action<long, Span<float>> Fill)
{
    public long Count => Shape.Aggregate(1L, (a, b) => a * b);

    public int ElementSize => Dtype switch
    {
        "F32" => 4,
        "F16" or "BF16" => 2,
        _ => throw new ArgumentException($"tensor {Name}: dtype {Dtype} is not F32, F16 or BF16"),
    };

    public static SafetensorsTensor FromArray(string name, string dtype, long[] shape, float[] values) =>
        new(name, dtype, shape, (start, destination) => values.AsSpan((int)start, destination.Length).CopyTo(destination));
}

/// <summary>
/// Writes .safetensors files (header keys: __metadata__ then the tensors by name, data in the same order, header
/// padded with spaces to 8 bytes, as the Python tooling wrote them), streaming each tensor in slices so a
/// multi-GB synthetic checkpoint never sits in memory. For test checkpoints and the converter benchmark.
/// </summary>
public static class SafetensorsWriter
{
    private const int SliceElements = 1 << 20;

    public static void Write(string path, IEnumerable<SafetensorsTensor> tensors)
    {
        var ordered = tensors.OrderBy(t => t.Name, StringComparer.Ordinal).ToList();
        var header = new MemoryStream();
        using (var json = new Utf8JsonWriter(header, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            json.WriteStartObject("__metadata__");
            json.WriteString("format", "pt");
            json.WriteEndObject();
            long offset = 0;
            foreach (var t in ordered)
            {
                var bytes = t.Count * t.ElementSize;
                json.WriteStartObject(t.Name);
                json.WriteString("dtype", t.Dtype);
                json.WriteStartArray("shape");
                foreach (var d in t.Shape)
                    json.WriteNumberValue(d);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + bytes);
                json.WriteEndArray();
                json.WriteEndObject();
                offset += bytes;
            }
            json.WriteEndObject();
        }
        var headerBytes = header.ToArray().ToList();
        while (headerBytes.Count % 8 != 0)
            headerBytes.Add((byte)' ');

        var temporary = path + ".tmp";
        using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
        {
            Span<byte> length = stackalloc byte[8];
            BinaryPrimitives.WriteInt64LittleEndian(length, headerBytes.Count);
            file.Write(length);
            file.Write(headerBytes.ToArray());
            var floats = new float[SliceElements];
            var output = new byte[SliceElements * 4];
            foreach (var t in ordered)
            {
                var size = t.ElementSize;
                for (long done = 0; done < t.Count; done += SliceElements)
                {
                    var n = (int)Math.Min(SliceElements, t.Count - done);
                    t.Fill(done, floats.AsSpan(0, n));
                    var dest = output.AsSpan(0, n * size);
                    switch (t.Dtype)
                    {
                        case "F32":
                            WeightCodec.Narrow(floats.AsSpan(0, n), WeightDtype.Fp32, dest, t.Name);
                            break;
                        case "F16":
                            WeightCodec.Narrow(floats.AsSpan(0, n), WeightDtype.Fp16, dest, t.Name);
                            break;
                        default:
                            WeightCodec.Narrow(floats.AsSpan(0, n), WeightDtype.Bf16, dest, t.Name);
                            break;
                    }
                    file.Write(dest);
                }
            }
        }
        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>Writes a diffusers/transformers shard index (metadata.total_size and the sorted weight_map).</summary>
    public static void WriteIndex(string path, IReadOnlyDictionary<string, string> weightMap, long totalSize)
    {
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write);
        using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        json.WriteStartObject();
        json.WriteStartObject("metadata");
        json.WriteNumber("total_size", totalSize);
        json.WriteEndObject();
        json.WriteStartObject("weight_map");
        foreach (var (name, file) in weightMap.OrderBy(p => p.Key, StringComparer.Ordinal))
            json.WriteString(name, file);
        json.WriteEndObject();
        json.WriteEndObject();
    }
}
