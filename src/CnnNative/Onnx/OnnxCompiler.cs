using CnnNative.Onnx.Proto;

namespace CnnNative.Onnx;

/// <summary>
/// Turns the nodes of a checked <see cref="OnnxGraph"/> into <see cref="OnnxStep"/>s, each a call of
/// <see cref="Functional"/> ops (the operator set is listed in <see cref="Supported"/>). Anything outside
/// it throws <see cref="NotSupportedException"/> naming the node, the operator and the attribute or shape.
/// Folds for free: a zero Pad into the next Conv/AveragePool, a Relu/Sigmoid/Tanh/Clip(0,6) into the
/// Conv, Gemm, MatMul, BatchNormalization or Add before it (the fused activation of those kernels).
/// </summary>
internal sealed partial class OnnxCompiler
{
    /// <summary>The ONNX operators (default domain) the importer handles (plus, on constants only, <see cref="OnnxConstantFolder.Foldable"/>).</summary>
    public static readonly string[] Supported =
    [
        "Add", "AveragePool", "BatchNormalization", "Clip", "Concat", "Constant", "Conv", "Dropout", "Flatten", "Gemm",
        "GlobalAveragePool", "Identity", "LogSoftmax", "MatMul", "MaxPool", "Mul", "Pad", "Relu", "Reshape", "Sigmoid",
        "Softmax", "Tanh",
    ];

    private readonly OnnxGraph _graph;
    private readonly int _opset;
    private readonly OnnxLoadOptions _options;
    private readonly Dictionary<string, OnnxConstant> _constants;
    private readonly Func<OnnxConstant, Tensor> _tensorOf;
    private readonly HashSet<string> _graphOutputs;
    private readonly Dictionary<string, OnnxValueInfo> _graphInputs;
    private readonly HashSet<NodeProto> _absorbed = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<string, (string Input, long[] Pads, NodeProto Node)> _pads = new(StringComparer.Ordinal);
    private readonly List<OnnxStep> _steps = [];

    /// <param name="graph">The checked graph.</param>
    /// <param name="opset">The default-domain opset (11..17).</param>
    /// <param name="options">Limits for Constant nodes.</param>
    /// <param name="constants">Initializers by name; Constant nodes are added while compiling.</param>
    /// <param name="tensorOf">The tensor holding a float constant (the model owns it).</param>
    /// <param name="graphOutputs">The graph's output names (never fused away).</param>
    /// <param name="graphInputs">The graph's inputs: their declared shapes let a window be checked at load.</param>
    public OnnxCompiler(OnnxGraph graph, int opset, OnnxLoadOptions options, Dictionary<string, OnnxConstant> constants,
        Func<OnnxConstant, Tensor> tensorOf, IEnumerable<string> graphOutputs, IEnumerable<OnnxValueInfo> graphInputs)
    {
        _graphInputs = graphInputs.ToDictionary(i => i.Name, StringComparer.Ordinal);
        _graph = graph;
        _opset = opset;
        _options = options;
        _constants = constants;
        _tensorOf = tensorOf;
        _graphOutputs = graphOutputs.ToHashSet(StringComparer.Ordinal);
    }

    public List<OnnxStep> Compile()
    {
        // First the constants (Constant nodes and the shape arithmetic on them, in topological order), so
        // that fusion can read a Clip's bounds however the exporter ordered the nodes.
        foreach (NodeProto node in _graph.Order)
        {
            CheckDomain(node);
            if (node.OpType != "Constant" && !OnnxConstantFolder.CanFold(node, _constants))
                continue;
            var attrs = new OnnxAttributes(node);
            RequireOneOutput(node);
            _constants[node.Output[0]] = node.OpType == "Constant"
                ? ReadConstant(node, attrs)
                : OnnxConstantFolder.Fold(node, attrs, _constants, _opset, _options.MaxFoldedElements);
            attrs.RejectUnknown();
            _absorbed.Add(node);
        }

        foreach (NodeProto node in _graph.Order)
        {
            if (_absorbed.Contains(node))
                continue;
            var attrs = new OnnxAttributes(node);
            CompileNode(node, attrs);
            attrs.RejectUnknown();
        }

        foreach ((string output, (_, _, NodeProto node)) in _pads)
        {
            if (!_absorbed.Contains(node))
                throw new NotSupportedException($"ONNX {OnnxAttributes.Describe(node)}: a Pad is supported only right before a Conv or AveragePool, where it folds into their padding ('{output}' is read elsewhere).");
        }

        return _steps;
    }

    private static void CheckDomain(NodeProto node)
    {
        if (node.Domain is not ("" or "ai.onnx"))
            throw new NotSupportedException($"ONNX {OnnxAttributes.Describe(node)} is in the operator domain '{node.Domain}'; only the default domain (ai.onnx) is supported.");
    }

    private void CompileNode(NodeProto node, OnnxAttributes a)
    {
        switch (node.OpType)
        {
            case "Conv": CompileConv(node, a); break;
            case "MaxPool": CompilePool(node, a, max: true); break;
            case "AveragePool": CompilePool(node, a, max: false); break;
            case "GlobalAveragePool": Emit(node, [Runtime(node, 0)], x => Functional.GlobalAvgPool2d(x[0])); break;
            case "BatchNormalization": CompileBatchNorm(node, a); break;
            case "Relu": Emit(node, [Runtime(node, 0)], x => Functional.Activate(x[0], Activation.Relu)); break;
            case "Sigmoid": Emit(node, [Runtime(node, 0)], x => Functional.Activate(x[0], Activation.Sigmoid)); break;
            case "Tanh": Emit(node, [Runtime(node, 0)], x => Functional.Activate(x[0], Activation.Tanh)); break;
            case "Clip": CompileClip(node); break;
            case "Gemm": CompileGemm(node, a); break;
            case "MatMul": CompileMatMul(node); break;
            case "Add": CompileBinary(node, add: true); break;
            case "Mul": CompileBinary(node, add: false); break;
            case "Concat": CompileConcat(node, a); break;
            case "Flatten": CompileFlatten(node, a); break;
            case "Reshape": CompileReshape(node, a); break;
            case "Pad": CompilePad(node, a); break;
            case "Softmax": CompileSoftmax(node, a, log: false); break;
            case "LogSoftmax": CompileSoftmax(node, a, log: true); break;
            case "Dropout": CompileDropout(node, a); break;
            case "Identity": Emit(node, [Runtime(node, 0)], x => x[0].Reshape(x[0].Shape)); break;
            default:
                throw new NotSupportedException(
                    $"ONNX {OnnxAttributes.Describe(node)}: operator '{node.OpType}' is not supported. Supported operators: {string.Join(", ", Supported)} (and {string.Join(", ", OnnxConstantFolder.Foldable)} on constants).");
        }
    }

    // ------------------------------------------------------------------------------------------
    // Values
    // ------------------------------------------------------------------------------------------

    private static string InputName(NodeProto node, int i) => i < node.Input.Count ? node.Input[i] : "";

    /// <summary>Input i, which must be computed at run time (not a constant).</summary>
    private string Runtime(NodeProto node, int i)
    {
        string name = InputName(node, i);
        if (name.Length == 0)
            throw new InvalidDataException($"ONNX {OnnxAttributes.Describe(node)} lacks its required input {i}");
        if (_constants.ContainsKey(name))
            throw new NotSupportedException($"ONNX {OnnxAttributes.Describe(node)}: input {i} ('{name}') is a constant; a constant is supported there only as weights/parameters.");
        if (_pads.ContainsKey(name))
            throw new NotSupportedException($"ONNX {OnnxAttributes.Describe(node)}: a Pad before {node.OpType} is not supported (only before Conv and AveragePool).");
        return name;
    }

    /// <summary>Input i as a constant, or null if it is absent; NotSupported if computed at run time.</summary>
    private OnnxConstant? Constant(NodeProto node, int i, string role)
    {
        string name = InputName(node, i);
        if (name.Length == 0)
            return null;
        if (!_constants.TryGetValue(name, out OnnxConstant? c))
            throw new NotSupportedException($"ONNX {OnnxAttributes.Describe(node)}: the {role} ('{name}') is computed at run time; it must be an initializer or Constant.");
        return c;
    }

    private OnnxConstant RequiredConstant(NodeProto node, int i, string role) =>
        Constant(node, i, role) ?? throw new InvalidDataException($"ONNX {OnnxAttributes.Describe(node)} lacks its {role} (input {i})");

    private Tensor FloatTensor(NodeProto node, OnnxConstant c, string role)
    {
        if (c.Floats == null)
            throw new NotSupportedException($"ONNX {OnnxAttributes.Describe(node)}: the {role} '{c.Name}' is not FLOAT.");
        if (c.Length == 0)
            throw new NotSupportedException($"ONNX {OnnxAttributes.Describe(node)}: the {role} '{c.Name}' is empty ({c.ShapeText}).");
        return _tensorOf(c);
    }

    private static float Scalar(NodeProto node, OnnxConstant c, string role)
    {
        if (c.Floats is not { Length: 1 })
            throw new NotSupportedException($"ONNX {OnnxAttributes.Describe(node)}: the {role} '{c.Name}' must be one FLOAT value (it is {c.ShapeText}).");
        return c.Floats[0];
    }

    private static long[] Longs(NodeProto node, OnnxConstant c, string role) =>
        c.Longs ?? throw new NotSupportedException($"ONNX {OnnxAttributes.Describe(node)}: the {role} '{c.Name}' must be INT64.");

    /// <summary>Tensors made while compiling (views, broadcast scalars) that the model must dispose.</summary>
    public List<Tensor> Owned { get; } = [];

    private Tensor Own(Tensor t)
    {
        lock (Owned)
            Owned.Add(t);
        return t;
    }

    private void Emit(NodeProto node, string[] inputs, Func<Tensor[], Tensor> run, string? output = null, string? opType = null)
    {
        RequireOneOutput(node);
        string name = node.Name.Length > 0 ? node.Name : node.Output[0];
        _steps.Add(new OnnxStep(name, opType ?? node.OpType, inputs, output ?? node.Output[0], run));
    }

    private static void RequireOneOutput(NodeProto node)
    {
        if (node.Output.Count == 0 || node.Output[0].Length == 0)
            throw new InvalidDataException($"ONNX {OnnxAttributes.Describe(node)} has no output");
        for (int i = 1; i < node.Output.Count; i++)
        {
            if (node.Output[i].Length > 0)
                throw new NotSupportedException($"ONNX {OnnxAttributes.Describe(node)}: output {i} ('{node.Output[i]}') is not supported (only the first output).");
        }
    }

    /// <summary>
    /// If the node's only reader is an activation the kernel can fuse (and the value is not a graph
    /// output), absorbs it: returns the activation and the name the fused step must write.
    /// </summary>
    private (Activation Activation, string Output, string OpType) FuseActivation(NodeProto node)
    {
        string output = node.Output[0];
        IReadOnlyList<NodeProto> readers = _graph.Consumers(output);
        if (_graphOutputs.Contains(output) || readers.Count != 1 || readers[0].Input.Count(i => i == output) != 1 || readers[0].Input[0] != output)
            return (Activation.None, output, node.OpType);
        NodeProto next = readers[0];
        Activation? act = next.OpType switch
        {
            "Relu" when next.Attribute.Count == 0 => Activation.Relu,
            "Sigmoid" when next.Attribute.Count == 0 => Activation.Sigmoid,
            "Tanh" when next.Attribute.Count == 0 => Activation.Tanh,
            "Clip" when next.Attribute.Count == 0 && ClipBounds(next) is (0f, 6f) => Activation.Relu6,
            _ => null,
        };
        if (act == null || next.Output.Count != 1)
            return (Activation.None, output, node.OpType);
        _absorbed.Add(next);
        return (act.Value, next.Output[0], node.OpType + "+" + next.OpType);
    }

    private (float? Min, float? Max) ClipBounds(NodeProto node)
    {
        OnnxConstant? min = Constant(node, 1, "minimum");
        OnnxConstant? max = Constant(node, 2, "maximum");
        return (min == null ? null : Scalar(node, min, "minimum"), max == null ? null : Scalar(node, max, "maximum"));
    }

    // ------------------------------------------------------------------------------------------
    // Constant
    // ------------------------------------------------------------------------------------------

    private OnnxConstant ReadConstant(NodeProto node, OnnxAttributes a)
    {
        string name = node.Output[0];
        OnnxConstant c;
        if (a.Tensor("value") is TensorProto t)
            c = OnnxReader.Decode(t, name, _options);
        else if (a.Has("value_float"))
            c = new OnnxConstant(name, [], [a.Float("value_float", 0)], null);
        else if (a.Floats("value_floats") is float[] fs)
            c = new OnnxConstant(name, [fs.Length], fs, null);
        else if (a.Has("value_int"))
            c = new OnnxConstant(name, [], null, [a.Int("value_int", 0)]);
        else if (a.Ints("value_ints") is long[] ls)
            c = new OnnxConstant(name, [ls.Length], null, ls);
        else
        {
            a.Has("sparse_value");
            a.Has("value_string");
            a.Has("value_strings");
            throw a.Unsupported("a Constant other than a dense tensor, float(s) or int(s)");
        }

        return c;
    }
}
