using System.Text;

namespace ZImage.Engine.Tests.Models.Install;

/// <summary>One initializer of a model.onnx: where its bytes are (inside the model or in the data file).</summary>
internal sealed record OnnxInitializer(string Name, int DataType, long[] Dims, byte[]? Raw, long Offset, long Length);

/// <summary>One node of a model.onnx (what the tests need to tell how a weight is used).</summary>
internal sealed record OnnxNode(string OpType, string[] Inputs, string[] Outputs);

/// <summary>
/// Reads the graph of a model.onnx written by the installer or the old Python export: nodes and initializers,
/// decoded from the protobuf wire format directly (a test-side reader, independent of the writer under test).
/// </summary>
internal sealed class OnnxFileReader
{
    private OnnxFileReader(List<OnnxNode> nodes, List<OnnxInitializer> initializers)
    {
        Nodes = nodes;
        Initializers = initializers;
    }

    public IReadOnlyList<OnnxNode> Nodes { get; }

    public IReadOnlyList<OnnxInitializer> Initializers { get; }

    public static OnnxFileReader Read(string path)
    {
        var model = Fields(File.ReadAllBytes(path));
        var graph = Fields(model.Single(f => f.Field == 7).Bytes!);
        var nodes = new List<OnnxNode>();
        var initializers = new List<OnnxInitializer>();
        foreach (var (field, _, bytes) in graph)
        {
            if (field == 1)
            {
                var n = Fields(bytes!);
                nodes.Add(new OnnxNode(
                    Text(n.First(f => f.Field == 4).Bytes!),
                    n.Where(f => f.Field == 1).Select(f => Text(f.Bytes!)).ToArray(),
                    n.Where(f => f.Field == 2).Select(f => Text(f.Bytes!)).ToArray()));
            }
            else if (field == 5)
            {
                var t = Fields(bytes!);
                var name = Text(t.First(f => f.Field == 8).Bytes!);
                var dims = t.Where(f => f.Field == 1).Select(f => (long)f.Value).ToArray();
                var type = (int)t.First(f => f.Field == 2).Value;
                var raw = t.FirstOrDefault(f => f.Field == 9).Bytes;
                long offset = 0, length = 0;
                foreach (var entry in t.Where(f => f.Field == 13))
                {
                    var kv = Fields(entry.Bytes!);
                    var key = Text(kv.First(f => f.Field == 1).Bytes!);
                    var value = long.Parse(Text(kv.First(f => f.Field == 2).Bytes!) is var s && key != "location" ? s : "0");
                    if (key == "offset") offset = value;
                    if (key == "length") length = value;
                }
                initializers.Add(new OnnxInitializer(name, type, dims, raw, offset, length));
            }
        }
        return new OnnxFileReader(nodes, initializers);
    }

    /// <summary>The initializer's values as float32 (FLOAT tensors only), from the model or its data file.</summary>
    public static float[] Floats(OnnxInitializer init, string dataFile)
    {
        Assert.Equal(1, init.DataType);
        var bytes = Bytes(init, dataFile);
        var values = new float[bytes.Length / 4];
        Buffer.BlockCopy(bytes, 0, values, 0, bytes.Length);
        return values;
    }

    /// <summary>An FLOAT16 initializer's values, widened to float32.</summary>
    public static float[] Halves(OnnxInitializer init, string dataFile)
    {
        Assert.Equal(10, init.DataType);
        var bytes = Bytes(init, dataFile);
        return Enumerable.Range(0, bytes.Length / 2).Select(i => (float)BitConverter.ToHalf(bytes, 2 * i)).ToArray();
    }

    public static byte[] Bytes(OnnxInitializer init, string dataFile)
    {
        if (init.Raw is not null)
            return init.Raw;
        var bytes = new byte[init.Length];
        using var f = File.OpenRead(dataFile);
        f.Position = init.Offset;
        f.ReadExactly(bytes);
        return bytes;
    }

    private static string Text(byte[] b) => Encoding.UTF8.GetString(b);

    private static List<(int Field, ulong Value, byte[]? Bytes)> Fields(byte[] b)
    {
        var result = new List<(int, ulong, byte[]?)>();
        var i = 0;
        while (i < b.Length)
        {
            var tag = Varint(b, ref i);
            var field = (int)(tag >> 3);
            switch (tag & 7)
            {
                case 0: result.Add((field, Varint(b, ref i), null)); break;
                case 2:
                    var n = (int)Varint(b, ref i);
                    result.Add((field, 0, b[i..(i + n)]));
                    i += n;
                    break;
                case 5: result.Add((field, BitConverter.ToUInt32(b, i), null)); i += 4; break;
                case 1: result.Add((field, BitConverter.ToUInt64(b, i), null)); i += 8; break;
                default: throw new InvalidDataException($"wire type {tag & 7}");
            }
        }
        return result;
    }

    private static ulong Varint(byte[] b, ref int i)
    {
        ulong r = 0;
        for (var shift = 0; ; shift += 7)
        {
            var c = b[i++];
            r |= (ulong)(c & 0x7f) << shift;
            if (c < 0x80) return r;
        }
    }
}
