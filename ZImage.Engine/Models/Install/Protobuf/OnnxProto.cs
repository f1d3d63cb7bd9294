using System.Buffers.Binary;
using System.Text;

namespace ZImage.Engine.Models.Install.Protobuf;

/// <summary>
/// The protobuf wire format for the parts of onnx.proto our graphs use, written by hand so the engine needs
/// neither the onnx package nor Google.Protobuf. Fields are written in field-number order, repeated int64 data
/// packed and dims/ints unpacked, and every set scalar is written even when zero: exactly what the onnx
/// package's helpers serialize, which is what lets the converter's model.onnx equal the Python export's byte
/// for byte. Both the converter's graph writer and <see cref="ZImage.Engine.Onnx.OnnxModelBuilder"/> write
/// through this one encoder.
/// </summary>
internal static class OnnxProto
{
    // onnx.proto field numbers.
    private const int ModelIrVersion = 1, ModelProducerName = 2, ModelProducerVersion = 3, ModelGraph = 7, ModelOpsetImport = 8, ModelMetadata = 14;
    private const int OpsetDomain = 1, OpsetVersion = 2;
    private const int GraphNode = 1, GraphName = 2, GraphInitializer = 5, GraphInput = 11, GraphOutput = 12;
    private const int NodeInput = 1, NodeOutput = 2, NodeName = 3, NodeOpType = 4, NodeAttribute = 5, NodeDomain = 7;
    private const int AttributeName = 1, AttributeFloat = 2, AttributeInt = 3, AttributeString = 4, AttributeInts = 8, AttributeType = 20;
    private const int AttributeTypeFloat = 1, AttributeTypeInt = 2, AttributeTypeString = 3, AttributeTypeInts = 7;
    private const int TensorDims = 1, TensorDataType = 2, TensorInt64Data = 7, TensorName = 8, TensorRawData = 9, TensorExternalData = 13, TensorDataLocation = 14;
    private const int EntryKey = 1, EntryValue = 2;
    private const int ValueInfoName = 1, ValueInfoType = 2;
    private const int TypeTensor = 1, TypeTensorElemType = 1, TypeTensorShape = 2;
    private const int ShapeDim = 1, DimValue = 1, DimParam = 2;
    private const int DataLocationExternal = 1;

    /// <summary>A tensor whose bytes are inside the model (raw_data).</summary>
    public static byte[] RawTensor(string name, int dataType, ReadOnlySpan<long> dims, ReadOnlySpan<byte> raw)
    {
        var w = TensorHead(dims, dataType);
        w.String(TensorName, name);
        w.Bytes(TensorRawData, raw);
        return w.ToArray();
    }

    /// <summary>An int64 tensor stored in int64_data, as onnx.helper.make_tensor writes small integer constants.</summary>
    public static byte[] Int64Tensor(string name, ReadOnlySpan<long> dims, ReadOnlySpan<long> values)
    {
        var w = TensorHead(dims, dataType: 7);
        w.PackedInt64(TensorInt64Data, values);
        w.String(TensorName, name);
        return w.ToArray();
    }

    /// <summary>A tensor whose bytes live in the external data file at <paramref name="offset"/>.</summary>
    public static byte[] ExternalTensor(string name, int dataType, ReadOnlySpan<long> dims, string location, long offset, long length)
    {
        var w = TensorHead(dims, dataType);
        w.String(TensorName, name);
        w.Message(TensorExternalData, Entry("location", location));
        w.Message(TensorExternalData, Entry("offset", offset.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        w.Message(TensorExternalData, Entry("length", length.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        w.Int64(TensorDataLocation, DataLocationExternal);
        return w.ToArray();
    }

    public static byte[] Node(string opType, IReadOnlyList<string> inputs, IReadOnlyList<string> outputs, string? name, string? domain,
        IReadOnlyList<OnnxAttribute> attributes)
    {
        var w = new ProtoWriter();
        foreach (var input in inputs)
            w.String(NodeInput, input);
        foreach (var output in outputs)
            w.String(NodeOutput, output);
        if (!string.IsNullOrEmpty(name))
            w.String(NodeName, name);
        w.String(NodeOpType, opType);
        foreach (var attribute in attributes)
            w.Message(NodeAttribute, Attribute(attribute));
        if (domain is not null)
            w.String(NodeDomain, domain);
        return w.ToArray();
    }

    public static byte[] ValueInfo(string name, int elementType, IReadOnlyList<OnnxDim> shape)
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
        tensor.Int64(TypeTensorElemType, elementType);
        tensor.Message(TypeTensorShape, dims.ToArray());
        var type = new ProtoWriter();
        type.Message(TypeTensor, tensor.ToArray());
        var info = new ProtoWriter();
        info.String(ValueInfoName, name);
        info.Message(ValueInfoType, type.ToArray());
        return info.ToArray();
    }

    public static byte[] Graph(string name, IEnumerable<byte[]> nodes, IEnumerable<byte[]> initializers, IEnumerable<byte[]> inputs, IEnumerable<byte[]> outputs)
    {
        var w = new ProtoWriter();
        foreach (var node in nodes)
            w.Message(GraphNode, node);
        w.String(GraphName, name);
        foreach (var initializer in initializers)
            w.Message(GraphInitializer, initializer);
        foreach (var input in inputs)
            w.Message(GraphInput, input);
        foreach (var output in outputs)
            w.Message(GraphOutput, output);
        return w.ToArray();
    }

    /// <param name="opsets">(domain, version); the default ai.onnx domain is the empty string.</param>
    public static byte[] Model(long irVersion, string producerName, string? producerVersion, byte[] graph,
        IEnumerable<(string Domain, long Version)> opsets, IEnumerable<KeyValuePair<string, string>>? metadata = null)
    {
        var w = new ProtoWriter();
        w.Int64(ModelIrVersion, irVersion);
        w.String(ModelProducerName, producerName);
        if (producerVersion is not null)
            w.String(ModelProducerVersion, producerVersion);
        w.Message(ModelGraph, graph);
        foreach (var (domain, version) in opsets)
        {
            var opset = new ProtoWriter();
            opset.String(OpsetDomain, domain);
            opset.Int64(OpsetVersion, version);
            w.Message(ModelOpsetImport, opset.ToArray());
        }
        foreach (var (key, value) in metadata ?? [])
            w.Message(ModelMetadata, Entry(key, value));
        return w.ToArray();
    }

    private static ProtoWriter TensorHead(ReadOnlySpan<long> dims, int dataType)
    {
        var w = new ProtoWriter();
        foreach (var d in dims)
            w.Int64(TensorDims, d);
        w.Int64(TensorDataType, dataType);
        return w;
    }

    private static byte[] Entry(string key, string value)
    {
        var w = new ProtoWriter();
        w.String(EntryKey, key);
        w.String(EntryValue, value);
        return w.ToArray();
    }

    private static byte[] Attribute(OnnxAttribute attribute)
    {
        var w = new ProtoWriter();
        w.String(AttributeName, attribute.Name);
        switch (attribute.Value)
        {
            case long i:
                w.Int64(AttributeInt, i);
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
                throw new ArgumentException($"Attribute '{attribute.Name}' has a value of type {attribute.Value.GetType().Name}; use long, float, string or long[].");
        }
        return w.ToArray();
    }

    /// <summary>Varints (wire type 0), 32-bit (5) and length-delimited (2) fields.</summary>
    private sealed class ProtoWriter
    {
        private readonly MemoryStream _buffer = new();

        public void Int64(int field, long value)
        {
            Tag(field, 0);
            Varint((ulong)value); // negative numbers take ten bytes, as protobuf's int64 does
        }

        public void PackedInt64(int field, ReadOnlySpan<long> values)
        {
            if (values.IsEmpty)
                return; // an empty packed field is not written at all
            var packed = new ProtoWriter();
            foreach (var v in values)
                packed.Varint((ulong)v);
            Bytes(field, packed.ToArray());
        }

        public void Float(int field, float value)
        {
            Tag(field, 5);
            Span<byte> bytes = stackalloc byte[4];
            BinaryPrimitives.WriteSingleLittleEndian(bytes, value);
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

/// <summary>A node attribute: long, float, string or long[] (the kinds our graphs use).</summary>
internal readonly record struct OnnxAttribute(string Name, object Value);

/// <summary>A tensor dimension in a graph's signature: a fixed size or a symbolic name such as "batch".</summary>
internal readonly record struct OnnxDim(long Value, string? Symbol)
{
    public static implicit operator OnnxDim(long value) => new(value, null);

    public static implicit operator OnnxDim(int value) => new(value, null);

    public static implicit operator OnnxDim(string symbol) => new(-1, symbol);
}
