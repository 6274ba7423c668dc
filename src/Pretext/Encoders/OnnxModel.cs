using System.Runtime.InteropServices;
using Google.Protobuf;

namespace Pretext.Encoders;

/// <summary>A tensor stored in an ONNX file (an initializer, or the value of a Constant node): name, shape and fp32 values.</summary>
public sealed record OnnxTensor(string Name, long[] Shape, float[] Values);

/// <summary>One node of an ONNX graph: operator, input and output value names.</summary>
public sealed record OnnxNode(string Name, string Op, string[] Inputs, string[] Outputs);

/// <summary>
/// The parts of an ONNX model (https://onnx.ai, onnx.proto) that an import needs: the graph's fp32 and int64 initializers,
/// its nodes and the scalar values of its Constant nodes, read from the protobuf wire format with Google.Protobuf's
/// <see cref="CodedInputStream"/> (TorchSharp reads no ONNX). Nothing is executed; int64 tensors are converted to fp32 (they
/// are position ids and shape constants in the models read here). Tensors stored outside the file (external data) are refused.
/// </summary>
public sealed class OnnxModel
{
    // onnx.proto field numbers.
    private const int ModelGraph = 7;
    private const int GraphNode = 1, GraphInitializer = 5, GraphInput = 11, GraphOutput = 12;
    private const int NodeInput = 1, NodeOutput = 2, NodeName = 3, NodeOp = 4, NodeAttribute = 5;
    private const int AttributeName = 1, AttributeTensor = 5;
    private const int TensorDims = 1, TensorDataType = 2, TensorFloatData = 4, TensorInt64Data = 7, TensorName = 8, TensorRawData = 9,
        TensorExternalData = 13, TensorDataLocation = 14;
    private const int Float = 1, Int64 = 7;

    public IReadOnlyDictionary<string, OnnxTensor> Initializers { get; }
    public IReadOnlyList<OnnxNode> Nodes { get; }
    /// <summary>Values of Constant nodes, by the name of their output.</summary>
    public IReadOnlyDictionary<string, OnnxTensor> Constants { get; }
    public IReadOnlyList<string> Inputs { get; }
    public IReadOnlyList<string> Outputs { get; }

    private OnnxModel(Dictionary<string, OnnxTensor> initializers, List<OnnxNode> nodes, Dictionary<string, OnnxTensor> constants, List<string> inputs, List<string> outputs)
    {
        Initializers = initializers; Nodes = nodes; Constants = constants; Inputs = inputs; Outputs = outputs;
    }

    /// <summary>An initializer or Constant node's value by name, or null.</summary>
    public OnnxTensor? Value(string name) => Initializers.TryGetValue(name, out var t) ? t : Constants.TryGetValue(name, out var c) ? c : null;

    /// <exception cref="InvalidDataException">Not an ONNX model (no graph), or a tensor kept in an external file.</exception>
    public static OnnxModel Read(byte[] bytes, string source)
    {
        ByteString? graph = null;
        try
        {
            var model = new CodedInputStream(bytes);
            uint tag;
            while ((tag = model.ReadTag()) != 0)
            {
                if (WireFormat.GetTagFieldNumber(tag) == ModelGraph && WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited) graph = model.ReadBytes();
                else model.SkipLastField();
            }
        }
        catch (InvalidProtocolBufferException e) { throw new InvalidDataException($"'{source}' is not an ONNX model ({e.Message}).", e); }
        if (graph is null) throw new InvalidDataException($"'{source}' is not an ONNX model: it has no graph.");

        var initializers = new Dictionary<string, OnnxTensor>(StringComparer.Ordinal);
        var nodes = new List<OnnxNode>();
        var constants = new Dictionary<string, OnnxTensor>(StringComparer.Ordinal);
        var inputs = new List<string>();
        var outputs = new List<string>();
        try
        {
            var g = graph.CreateCodedInput();
            uint tag;
            while ((tag = g.ReadTag()) != 0)
            {
                switch (WireFormat.GetTagFieldNumber(tag))
                {
                    case GraphNode:
                        var node = ReadNode(g.ReadBytes(), source, out var value);
                        nodes.Add(node);
                        if (node.Op == "Constant" && value is not null && node.Outputs.Length == 1) constants[node.Outputs[0]] = value with { Name = node.Outputs[0] };
                        break;
                    case GraphInitializer:
                        var t = ReadTensor(g.ReadBytes(), source);
                        if (t is not null) initializers[t.Name] = t;
                        break;
                    case GraphInput: inputs.Add(ReadName(g.ReadBytes())); break;
                    case GraphOutput: outputs.Add(ReadName(g.ReadBytes())); break;
                    default: g.SkipLastField(); break;
                }
            }
        }
        catch (InvalidProtocolBufferException e) { throw new InvalidDataException($"'{source}': the ONNX graph is damaged ({e.Message}).", e); }
        return new OnnxModel(initializers, nodes, constants, inputs, outputs);
    }

    /// <summary>ValueInfoProto's name (field 1).</summary>
    private static string ReadName(ByteString bytes)
    {
        var s = bytes.CreateCodedInput();
        uint tag;
        while ((tag = s.ReadTag()) != 0)
        {
            if (WireFormat.GetTagFieldNumber(tag) == 1) return s.ReadString();
            s.SkipLastField();
        }
        return "";
    }

    private static OnnxNode ReadNode(ByteString bytes, string source, out OnnxTensor? value)
    {
        var s = bytes.CreateCodedInput();
        var ins = new List<string>();
        var outs = new List<string>();
        string name = "", op = "";
        value = null;
        uint tag;
        while ((tag = s.ReadTag()) != 0)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case NodeInput: ins.Add(s.ReadString()); break;
                case NodeOutput: outs.Add(s.ReadString()); break;
                case NodeName: name = s.ReadString(); break;
                case NodeOp: op = s.ReadString(); break;
                case NodeAttribute:
                    var a = s.ReadBytes().CreateCodedInput();
                    string attribute = "";
                    ByteString? tensor = null;
                    uint at;
                    while ((at = a.ReadTag()) != 0)
                    {
                        int f = WireFormat.GetTagFieldNumber(at);
                        if (f == AttributeName) attribute = a.ReadString();
                        else if (f == AttributeTensor) tensor = a.ReadBytes();
                        else a.SkipLastField();
                    }
                    if (attribute == "value" && tensor is not null) value = ReadTensor(tensor, source);
                    break;
                default: s.SkipLastField(); break;
            }
        }
        return new OnnxNode(name, op, [.. ins], [.. outs]);
    }

    /// <summary>A TensorProto as fp32 values, or null for a data type other than float and int64 (not needed here).</summary>
    private static OnnxTensor? ReadTensor(ByteString bytes, string source)
    {
        var s = bytes.CreateCodedInput();
        var dims = new List<long>();
        var floats = new List<float>();
        var longs = new List<long>();
        ByteString? raw = null;
        int type = 0;
        string name = "";
        bool external = false;
        uint tag;
        while ((tag = s.ReadTag()) != 0)
        {
            int f = WireFormat.GetTagFieldNumber(tag);
            bool packed = WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited;
            switch (f)
            {
                case TensorDims: ReadInt64s(s, packed, dims); break;
                case TensorDataType: type = s.ReadInt32(); break;
                case TensorName: name = s.ReadString(); break;
                case TensorRawData: raw = s.ReadBytes(); break;
                case TensorInt64Data: ReadInt64s(s, packed, longs); break;
                case TensorFloatData:
                    if (packed)
                    {
                        var p = s.ReadBytes().Span;
                        floats.AddRange(MemoryMarshal.Cast<byte, float>(p).ToArray());
                    }
                    else floats.Add(s.ReadFloat());
                    break;
                case TensorExternalData: external = true; s.SkipLastField(); break;
                case TensorDataLocation: external |= s.ReadInt32() == 1; break;
                default: s.SkipLastField(); break;
            }
        }
        if (external) throw new InvalidDataException($"'{source}': tensor '{name}' is stored in an external file; save the model with its weights inside the .onnx file.");
        if (type != Float && type != Int64) return null;
        long count = dims.Aggregate(1L, (a, b) => a * b);
        float[] values;
        if (raw is not null)
        {
            var span = raw.Span;
            values = type == Float ? MemoryMarshal.Cast<byte, float>(span).ToArray()
                : MemoryMarshal.Cast<byte, long>(span).ToArray().Select(v => (float)v).ToArray();
        }
        else values = type == Float ? [.. floats] : [.. longs.Select(v => (float)v)];
        if (values.LongLength != count)
            throw new InvalidDataException($"'{source}': tensor '{name}' holds {values.LongLength} values, its shape [{string.Join(",", dims)}] needs {count}.");
        return new OnnxTensor(name, [.. dims], values);
    }

    private static void ReadInt64s(CodedInputStream s, bool packed, List<long> into)
    {
        if (!packed) { into.Add(s.ReadInt64()); return; }
        var p = s.ReadBytes().CreateCodedInput();
        while (!p.IsAtEnd) into.Add(p.ReadInt64());
    }
}
