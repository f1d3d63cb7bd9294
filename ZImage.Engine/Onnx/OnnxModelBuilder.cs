using System.Runtime.InteropServices;
using ZImage.Engine.Models.Install.Protobuf;

namespace ZImage.Engine.Onnx;

/// <summary>
/// Writes small ONNX models (ModelProto) for the tests and the ort-check command, through the same protobuf encoder
/// (<see cref="OnnxProto"/>) as the model installer's graph writer. Real models come from the installer.
/// </summary>
internal sealed class OnnxModelBuilder
{
    // IR version 8 is the one that goes with opset 17 (onnx/helper.py VERSION_TABLE); ORT 1.29 reads both.
    private const long IrVersion = 8;

    private readonly int _opset;
    private readonly List<byte[]> _nodes = [];
    private readonly List<byte[]> _initializers = [];
    private readonly List<byte[]> _inputs = [];
    private readonly List<byte[]> _outputs = [];

    public OnnxModelBuilder(int opset = 17) => _opset = opset;

    public OnnxModelBuilder Input(string name, TensorElementType type, params OnnxDim[] shape)
    {
        _inputs.Add(OnnxProto.ValueInfo(name, (int)type, shape));
        return this;
    }

    public OnnxModelBuilder Output(string name, TensorElementType type, params OnnxDim[] shape)
    {
        _outputs.Add(OnnxProto.ValueInfo(name, (int)type, shape));
        return this;
    }

    public OnnxModelBuilder Initializer<T>(string name, T[] data, params long[] shape) where T : unmanaged
    {
        // raw_data is little-endian, as is x64
        _initializers.Add(OnnxProto.RawTensor(name, (int)TensorTypes.Of<T>(), shape, MemoryMarshal.AsBytes(data.AsSpan())));
        return this;
    }

    /// <summary>Adds a node; attribute values may be long/int, float, string or long[].</summary>
    public OnnxModelBuilder Node(string opType, string[] inputs, string[] outputs, params (string Name, object Value)[] attributes)
    {
        var converted = attributes.Select(a => new OnnxAttribute(a.Name, a.Value is int i ? (long)i : a.Value)).ToArray();
        _nodes.Add(OnnxProto.Node(opType, inputs, outputs, $"{opType}_{_nodes.Count}", domain: null, converted));
        return this;
    }

    public byte[] Build() =>
        OnnxProto.Model(IrVersion, "ZImage.OnnxModelBuilder", producerVersion: null,
            OnnxProto.Graph("zimage_test_graph", _nodes, _initializers, _inputs, _outputs),
            [("", _opset)]);

    /// <summary>Writes the model to <paramref name="path"/> (through a temporary file, so no half-written model is left).</summary>
    public string Save(string path)
    {
        var temporary = path + ".tmp";
        File.WriteAllBytes(temporary, Build());
        File.Move(temporary, path, overwrite: true);
        return path;
    }
}
