using CnnNative.Onnx.Proto;

namespace CnnNative.Onnx;

/// <summary>
/// Typed access to a node's attributes. Every attribute an operator reads is marked as known; once an
/// operator is compiled, <see cref="RejectUnknown"/> names any attribute it did not read, so no
/// attribute is silently ignored.
/// </summary>
internal sealed class OnnxAttributes
{
    private readonly NodeProto _node;
    private readonly Dictionary<string, AttributeProto> _byName = new(StringComparer.Ordinal);
    private readonly HashSet<string> _read = new(StringComparer.Ordinal);

    public OnnxAttributes(NodeProto node)
    {
        _node = node;
        foreach (AttributeProto a in node.Attribute)
        {
            if (!_byName.TryAdd(a.Name, a))
                throw new InvalidDataException($"{Describe(node)} has the attribute '{a.Name}' twice");
        }
    }

    public static string Describe(NodeProto node) =>
        $"node '{(node.Name.Length > 0 ? node.Name : "(unnamed) -> " + string.Join(", ", node.Output))}' ({node.OpType})";

    public NotSupportedException Unsupported(string what) =>
        new($"ONNX {Describe(_node)}: {what} is not supported.");

    public bool Has(string name)
    {
        _read.Add(name);
        return _byName.ContainsKey(name);
    }

    public long Int(string name, long fallback)
    {
        AttributeProto? a = Get(name, AttributeProto.Types.AttributeType.Int);
        return a == null ? fallback : a.I;
    }

    public float Float(string name, float fallback)
    {
        AttributeProto? a = Get(name, AttributeProto.Types.AttributeType.Float);
        return a == null ? fallback : a.F;
    }

    public string String(string name, string fallback)
    {
        AttributeProto? a = Get(name, AttributeProto.Types.AttributeType.String);
        return a == null ? fallback : a.S.ToStringUtf8();
    }

    public long[]? Ints(string name)
    {
        AttributeProto? a = Get(name, AttributeProto.Types.AttributeType.Ints);
        return a?.Ints.ToArray();
    }

    public float[]? Floats(string name)
    {
        AttributeProto? a = Get(name, AttributeProto.Types.AttributeType.Floats);
        return a?.Floats.ToArray();
    }

    public TensorProto? Tensor(string name)
    {
        AttributeProto? a = Get(name, AttributeProto.Types.AttributeType.Tensor);
        return a?.T;
    }

    /// <summary>Reads an int attribute that must be one of the values listed (else NotSupported naming it).</summary>
    public long IntIn(string name, long fallback, params long[] allowed)
    {
        long v = Int(name, fallback);
        if (!allowed.Contains(v))
            throw Unsupported($"attribute {name}={v} (supported: {string.Join(", ", allowed)})");
        return v;
    }

    public void RejectUnknown()
    {
        foreach (string name in _byName.Keys)
        {
            if (!_read.Contains(name))
                throw Unsupported($"attribute '{name}'");
        }
    }

    private AttributeProto? Get(string name, AttributeProto.Types.AttributeType type)
    {
        _read.Add(name);
        if (!_byName.TryGetValue(name, out AttributeProto? a))
            return null;
        // Old exporters leave 'type' unset (UNDEFINED); trust the field then.
        if (a.Type != type && a.Type != AttributeProto.Types.AttributeType.Undefined)
            throw new InvalidDataException($"ONNX {Describe(_node)}: attribute '{name}' has type {a.Type}, expected {type}");
        return a;
    }
}
