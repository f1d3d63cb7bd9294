using System.Runtime.InteropServices;
using ZImage.Engine.Models.Install.Checkpoint;
using ZImage.Engine.Models.Install.Protobuf;

namespace ZImage.Engine.Models.Install.Graphs;

/// <summary>
/// An ONNX graph that streams its weights into the external-data file (model.onnx.data) as they are added, so a
/// 12 GB transformer is never held as one protobuf (which is capped at 2 GB anyway); only the graph structure
/// and the small tensors stay in memory until <see cref="Save"/>. Names, numbering, initializer order, alignment
/// and the embed limit are those of the Python export this replaced, so the same checkpoint gives the same
/// files byte for byte.
/// </summary>
internal sealed class OnnxGraph : IDisposable
{
    public const int Opset = 17;
    public const string MsDomain = "com.microsoft";
    public const long IrVersion = 8; // opset 17; read by ONNX Runtime 1.14 and later
    public const string DataFileName = "model.onnx.data";

    /// <summary>Tensors of at most this many bytes live inside model.onnx.</summary>
    public const int EmbedLimit = 1024;

    // Weights are converted and written in slices of this many elements (4 MB of float32).
    private const int SliceElements = 1 << 20;

    private readonly string _folder;
    private readonly FileStream _data;
    private readonly CancellationToken _ct;
    private readonly Action<long>? _written;
    private readonly List<byte[]> _nodes = [];
    private readonly List<byte[]> _initializers = [];
    private readonly List<byte[]> _inputs = [];
    private readonly List<byte[]> _outputs = [];
    private readonly Dictionary<string, string> _consts = new(StringComparer.Ordinal);
    // One pair of slice buffers for every tensor: fresh 4 MB arrays per tensor would churn the large-object heap.
    private readonly float[] _floats = new float[SliceElements];
    private readonly byte[] _bytes = new byte[SliceElements * 4];
    private long _offset;
    private int _n;

    /// <param name="written">Told the number of bytes after each tensor that went to the data file.</param>
    public OnnxGraph(string name, string folder, CancellationToken ct = default, Action<long>? written = null)
    {
        Name = name;
        _folder = folder;
        _ct = ct;
        _written = written;
        Directory.CreateDirectory(folder);
        _data = new FileStream(Path.Combine(folder, DataFileName), FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20);
    }

    public string Name { get; }

    /// <summary>Elements of every weight added with <see cref="Weight"/> (constants not counted).</summary>
    public long ParamCount { get; private set; }

    public string Fresh(string hint) => $"{hint}_{++_n}";

    public string Weight(string name, WeightData data, WeightDtype dtype = WeightDtype.Fp32)
    {
        _ct.ThrowIfCancellationRequested();
        ParamCount += data.Count;
        return Init(name, data, dtype);
    }

    /// <summary>A float constant (stored as <paramref name="dtype"/>), shared by every use of the same value, shape and dtype.</summary>
    public string Const(float[] values, long[] shape, WeightDtype dtype = WeightDtype.Fp32, string hint = "c")
    {
        var key = $"{WeightCodec.Name(dtype)}|{string.Join(",", shape)}|{Convert.ToHexString(MemoryMarshal.AsBytes(values.AsSpan()))}";
        if (_consts.TryGetValue(key, out var existing))
            return existing;
        var name = Init(Fresh(hint), WeightData.FromArray(values, shape, "constant"), dtype);
        _consts[key] = name;
        return name;
    }

    public string Const(float value, WeightDtype dtype = WeightDtype.Fp32, string hint = "c") => Const([value], [], dtype, hint);

    /// <summary>An int64 constant, kept in int64_data as onnx.helper.make_tensor writes it.</summary>
    public string Int64Const(long[] values, long[] shape, string hint = "c")
    {
        var key = $"i64|{string.Join(",", shape)}|{string.Join(",", values)}";
        if (_consts.TryGetValue(key, out var existing))
            return existing;
        var name = Fresh(hint);
        _initializers.Add(OnnxProto.Int64Tensor(name, shape, values));
        _consts[key] = name;
        return name;
    }

    /// <summary>A 1-D int64 constant.</summary>
    public string Ints(params long[] values) => Int64Const(values, [values.Length]);

    /// <summary>A scalar int64 constant.</summary>
    public string Scalar(long value) => Int64Const([value], []);

    public string Op(string opType, string[] inputs, string? hint = null, string? domain = null, params OnnxAttribute[] attributes) =>
        Op(opType, inputs, 1, hint, domain, attributes)[0];

    public string[] Op(string opType, string[] inputs, int outputs, string? hint = null, string? domain = null, params OnnxAttribute[] attributes)
    {
        var outs = new string[outputs];
        for (var i = 0; i < outputs; i++)
            outs[i] = Fresh(hint ?? opType.ToLowerInvariant());
        var sorted = attributes.OrderBy(a => a.Name, StringComparer.Ordinal).ToArray(); // onnx.helper.make_node sorts keyword attributes
        _nodes.Add(OnnxProto.Node(opType, inputs, outs, Fresh("n_" + opType), domain, sorted));
        return outs;
    }

    public string Input(string name, int elementType, params OnnxDim[] shape)
    {
        _inputs.Add(OnnxProto.ValueInfo(name, elementType, shape));
        return name;
    }

    public void Output(string source, string name, int elementType, params OnnxDim[] shape)
    {
        _nodes.Add(OnnxProto.Node("Identity", [source], [name], Fresh("n_out"), null, []));
        _outputs.Add(OnnxProto.ValueInfo(name, elementType, shape));
    }

    /// <summary>Closes the data file and writes model.onnx beside it.</summary>
    public string Save(string producerVersion, IEnumerable<KeyValuePair<string, string>> metadata)
    {
        _data.Flush(flushToDisk: true);
        _data.Dispose();
        var model = OnnxProto.Model(IrVersion, "zimage-export", producerVersion,
            OnnxProto.Graph(Name, _nodes, _initializers, _inputs, _outputs),
            [("", Opset), (MsDomain, 1)], metadata);
        var path = Path.Combine(_folder, "model.onnx");
        using (var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write))
        {
            file.Write(model);
            file.Flush(flushToDisk: true);
        }
        return path;
    }

    public void Dispose() => _data.Dispose();

    private string Init(string name, WeightData data, WeightDtype dtype)
    {
        var size = WeightCodec.ElementSize(dtype);
        var bytes = data.Count * size;
        var type = WeightCodec.OnnxType(dtype);
        if (bytes <= EmbedLimit)
        {
            var raw = WeightCodec.Bytes(data.ToArray(), dtype, data.Source);
            _initializers.Add(OnnxProto.RawTensor(name, type, data.Shape, raw));
            return name;
        }

        // Large tensors start on a 4096-byte boundary (64 KB and more) or a 64-byte one, so a memory-mapped
        // load can use them in place.
        var align = bytes >= 65536 ? 4096 : 64;
        var pad = (int)((align - _offset % align) % align);
        if (pad > 0)
        {
            _data.Write(new byte[pad]);
            _offset += pad;
        }
        var start = _offset;
        for (long done = 0; done < data.Count; done += SliceElements)
        {
            _ct.ThrowIfCancellationRequested(); // the embedding alone is 389 M elements: do not wait for its end
            var n = (int)Math.Min(SliceElements, data.Count - done);
            data.Read(done, _floats.AsSpan(0, n));
            WeightCodec.Narrow(_floats.AsSpan(0, n), dtype, _bytes.AsSpan(0, n * size), data.Source);
            _data.Write(_bytes, 0, n * size);
        }
        _offset += bytes;
        _initializers.Add(OnnxProto.ExternalTensor(name, type, data.Shape, DataFileName, start, bytes));
        _written?.Invoke(bytes + pad);
        return name;
    }
}

/// <summary>Layer helpers over an <see cref="OnnxGraph"/>. Activations are float32 unless a helper says so.</summary>
internal sealed class Ops(OnnxGraph g, WeightDtype dtype)
{
    private readonly TransposeScratch _scratch = new();

    public const int ElemFloat = 1, ElemInt64 = 7;

    public static OnnxAttribute A(string name, long value) => new(name, value);

    public static OnnxAttribute A(string name, float value) => new(name, value);

    public static OnnxAttribute A(string name, string value) => new(name, value);

    public static OnnxAttribute A(string name, long[] value) => new(name, value);

    /// <summary>Cast from float32 (norms, residual stream, RoPE) to the compute type.</summary>
    public string ToCompute(string x) => dtype == WeightDtype.Fp32 ? x : g.Op("Cast", [x], attributes: A("to", WeightCodec.OnnxType(dtype)));

    public string ToF32(string x) => dtype == WeightDtype.Fp32 ? x : g.Op("Cast", [x], attributes: A("to", (long)ElemFloat));

    /// <summary>x @ w.T (+ b). w is [out, in] as torch stores it; the graph keeps w.T.</summary>
    public string Linear(string x, string name, WeightData w, WeightData? b = null, WeightDtype weightDtype = WeightDtype.Fp32, float scale = 1f)
    {
        var wt = w.Transpose(_scratch).Scale(scale);
        var y = g.Op("MatMul", [x, g.Weight(name + ".weight", wt, weightDtype)], hint: "mm");
        if (b is not null)
            y = g.Op("Add", [y, g.Weight(name + ".bias", b.Scale(scale), weightDtype)], hint: "add");
        return y;
    }

    /// <summary>
    /// float32 x * 1/sqrt(mean(x^2) + eps) * w; the Pow/ReduceMean/Add/Sqrt/Div/Mul pattern is the one ONNX
    /// Runtime fuses into SimplifiedLayerNormalization.
    /// </summary>
    public string RmsNorm(string x, string name, WeightData w, double eps)
    {
        var sq = g.Op("Pow", [x, g.Const(2f)]);
        var ms = g.Op("ReduceMean", [sq], attributes: [A("axes", new long[] { -1 }), A("keepdims", 1L)]);
        var den = g.Op("Sqrt", [g.Op("Add", [ms, g.Const((float)eps)])]);
        var y = g.Op("Div", [x, den]);
        return g.Op("Mul", [y, g.Weight(name + ".weight", w)]);
    }

    public string Silu(string x) => g.Op("Mul", [x, g.Op("Sigmoid", [x])]);

    /// <summary>com.microsoft.MultiHeadAttention on [1, S, heads*head_dim] inputs, default scale 1/sqrt(head_dim).</summary>
    public string Mha(string q, string k, string v, int heads, string? bias = null)
    {
        string[] inputs = bias is null ? [q, k, v] : [q, k, v, "", "", bias];
        return g.Op("MultiHeadAttention", inputs, hint: "attn", domain: OnnxGraph.MsDomain, attributes: A("num_heads", (long)heads));
    }

    /// <summary>A 1-element int64 tensor holding x.shape[axis].</summary>
    public string ShapeDim(string x, long axis)
    {
        var s = g.Op("Shape", [x]);
        return g.Op("Gather", [s, g.Ints(axis)]);
    }
}
