using System.Runtime.InteropServices;
using System.Text;

namespace ZImage.Engine.Onnx;

/// <summary>A tensor dimension in a model's signature: a fixed size or a symbolic name such as "batch".</summary>
internal readonly record struct Dim(long Value, string? Symbol)
{
    public static implicit operator Dim(long value) => new(value, null);

    public static implicit operator Dim(int value) => new(value, null);

    public static implicit operator Dim(string symbol) => new(-1, symbol);
}

/// <summary>
/// Writes small ONNX models (ModelProto) without the onnx package: a hand-written protobuf encoder for the fields
/// of onnx.proto that a graph of standard operators needs. Used by the tests and the ort-check command; real models
/// come from the exporter.
/// </summary>
internal sealed class OnnxModelBuilder
{
    // onnx.proto field numbers.
    private const int ModelIrVersion = 1, ModelProducerName = 2, ModelGraph = 7, ModelOpsetImport = 8;
    private const int OpsetVersion = 2;
    private const int GraphNode = 1, GraphName = 2, GraphInitializer = 5, GraphInput = 11, GraphOutput = 12;
    private const int NodeInput = 1, NodeOutput = 2, NodeName = 3, NodeOpType = 4, NodeAttribute = 5;
    private const int AttributeName = 1, AttributeFloat = 2, AttributeInt = 3, AttributeString = 4, AttributeInts = 8, AttributeType = 20;
    private const int AttributeTypeFloat = 1, AttributeTypeInt = 2, AttributeTypeString = 3, AttributeTypeInts = 7;
    private const int TensorDims = 1, TensorDataType = 2, TensorName = 8, TensorRawData = 9;
    private const int ValueInfoName = 1, ValueInfoType = 2;
    private const int TypeTensor = 1, TypeTensorElemType = 1, TypeTensorShape = 2;
    private const int ShapeDim = 1, DimValue = 1, DimParam = 2;

    // IR version 8 is the one that goes with opset 17 (onnx/helper.py VERSION_TABLE); ORT 1.29 reads both.
    private const long IrVersion = 8;

    private readonly int _opset;
    private readonly List<byte[]> _nodes = [];
    private readonly List<byte[]> _initializers = [];
    private readonly List<byte[]> _inputs = [];
    private readonly List<byte[]> _outputs = [];

    public OnnxModelBuilder(int opset = 17) => _opset = opset;

    public OnnxModelBuilder Input(string name, TensorElementType type, params Dim[] shape)
    {
        _inputs.Add(ValueInfo(name, type, shape));
        return this;
    }

    public OnnxModelBuilder Output(string name, TensorElementType type, params Dim[] shape)
    {
        _outputs.Add(ValueInfo(name, type, shape));
        return this;
    }

    public OnnxModelBuilder Initializer<T>(string name, T[] data, params long[] shape) where T : unmanaged
    {
        var w = new ProtoWriter();
        foreach (var dimension in shape)
            w.Int64(TensorDims, dimension);
        w.Int64(TensorDataType, (long)TensorTypes.Of<T>());
        w.String(TensorName, name);
        w.Bytes(TensorRawData, MemoryMarshal.AsBytes(data.AsSpan())); // raw_data is little-endian, as is x64
        _initializers.Add(w.ToArray());
        return this;
    }

    /// <summary>Adds a node; attribute values may be long/int, float, string or long[].</summary>
    public OnnxModelBuilder Node(string opType, string[] inputs, string[] outputs, params (string Name, object Value)[] attributes)
    {
        var w = new ProtoWriter();
        foreach (var input in inputs)
            w.String(NodeInput, input);
        foreach (var output in outputs)
            w.String(NodeOutput, output);
        w.String(NodeName, $"{opType}_{_nodes.Count}");
        w.String(NodeOpType, opType);
        foreach (var (name, value) in attributes)
            w.Message(NodeAttribute, Attribute(name, value));
        _nodes.Add(w.ToArray());
        return this;
    }

    public byte[] Build()
    {
        var graph = new ProtoWriter();
        foreach (var node in _nodes)
            graph.Message(GraphNode, node);
        graph.String(GraphName, "zimage_test_graph");
        foreach (var initializer in _initializers)
            graph.Message(GraphInitializer, initializer);
        foreach (var input in _inputs)
            graph.Message(GraphInput, input);
        foreach (var output in _outputs)
            graph.Message(GraphOutput, output);

        var opset = new ProtoWriter();
        opset.Int64(OpsetVersion, _opset); // empty domain = the default ai.onnx domain

        var model = new ProtoWriter();
        model.Int64(ModelIrVersion, IrVersion);
        model.String(ModelProducerName, "ZImage.OnnxModelBuilder");
        model.Message(ModelGraph, graph.ToArray());
        model.Message(ModelOpsetImport, opset.ToArray());
        return model.ToArray();
    }

    /// <summary>Writes the model to <paramref name="path"/> (through a temporary file, so no half-written model is left).</summary>
    public string Save(string path)
    {
        var temporary = path + ".tmp";
        File.WriteAllBytes(temporary, Build());
        File.Move(temporary, path, overwrite: true);
        return path;
    }

    private static byte[] ValueInfo(string name, TensorElementType type, Dim[] shape)
    {
        var dims = new ProtoWriter();
        foreach (var dim in shape)
        {
            var d = new ProtoWriter();
            if (dim.Symbol is null)
                d.Int64(DimValue, dim.Value);
            else
                d.String(DimParam, dim.Symbol);
            dims.Message(ShapeDim, d.ToArray());
        }
        var tensor = new ProtoWriter();
        tensor.Int64(TypeTensorElemType, (long)type);
        tensor.Message(TypeTensorShape, dims.ToArray());
        var typeProto = new ProtoWriter();
        typeProto.Message(TypeTensor, tensor.ToArray());
        var info = new ProtoWriter();
        info.String(ValueInfoName, name);
        info.Message(ValueInfoType, typeProto.ToArray());
        return info.ToArray();
    }

    private static byte[] Attribute(string name, object value)
    {
        var w = new ProtoWriter();
        w.String(AttributeName, name);
        switch (value)
        {
            case int or long:
                w.Int64(AttributeInt, Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture));
                w.Int64(AttributeType, AttributeTypeInt);
                break;
            case float f:
                w.Float(AttributeFloat, f);
                w.Int64(AttributeType, AttributeTypeFloat);
                break;
            case string s:
                w.String(AttributeString, s);
                w.Int64(AttributeType, AttributeTypeString);
                break;
            case long[] values:
                foreach (var v in values)
                    w.Int64(AttributeInts, v);
                w.Int64(AttributeType, AttributeTypeInts);
                break;
            default:
                throw new ArgumentException($"Attribute '{name}' has a value of type {value.GetType().Name}; use long, float, string or long[].", nameof(value));
        }
        return w.ToArray();
    }

    /// <summary>The protobuf wire format: varints (wire type 0), 32-bit (5) and length-delimited (2) fields.</summary>
    private sealed class ProtoWriter
    {
        private readonly MemoryStream _buffer = new();

        public void Int64(int field, long value)
        {
            Tag(field, 0);
            Varint((ulong)value); // negative numbers take ten bytes, as protobuf's int64 does
        }

        public void Float(int field, float value)
        {
            Tag(field, 5);
            Span<byte> bytes = stackalloc byte[4];
            BitConverter.TryWriteBytes(bytes, value);
            _buffer.Write(bytes);
        }

        public void String(int field, string value) => Bytes(field, Encoding.UTF8.GetBytes(value));

        public void Message(int field, byte[] message) => Bytes(field, message);

        public void Bytes(int field, ReadOnlySpan<byte> value)
        {
            Tag(field, 2);
            Varint((ulong)value.Length);
            _buffer.Write(value);
        }

        public byte[] ToArray() => _buffer.ToArray();

        private void Tag(int field, int wireType) => Varint(((ulong)field << 3) | (uint)wireType);

        private void Varint(ulong value)
        {
            while (value >= 0x80)
            {
                _buffer.WriteByte((byte)(value | 0x80));
                value >>= 7;
            }
            _buffer.WriteByte((byte)value);
        }
    }
}
