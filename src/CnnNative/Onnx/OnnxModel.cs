using CnnNative.Nn;
using CnnNative.Onnx.Proto;

namespace CnnNative.Onnx;

/// <summary>
/// An ONNX model (opsets 11..17, default domain) imported as a <see cref="Nn.Module"/>: the graph runs as
/// a sequence of <see cref="Functional"/> calls (so anything that observes Functional ops sees it), and
/// the float initializers are its parameters and buffers (BatchNormalization mean/var), with the
/// initializer names as <see cref="Nn.Module.StateDict"/> keys. Loaded models are in eval mode.
/// </summary>
/// <remarks>
/// Supported operators: <see cref="SupportedOperators"/>. Loading fails with
/// <see cref="InvalidDataException"/> (malformed file), <see cref="NotSupportedException"/> (valid but
/// outside that set, naming the node, operator and attribute), <see cref="ArgumentException"/> (bad
/// options) or <see cref="IOException"/> (file errors), and nothing else.
/// A Gemm(transB=0)/MatMul weight runs from a transposed copy made at load time: changing that
/// initializer through <see cref="Nn.Module.LoadStateDict(IReadOnlyDictionary{string, Tensor}, bool)"/>
/// does not reach it.
/// </remarks>
public sealed class OnnxModel : Module
{
    private readonly List<OnnxStep> _steps;
    private readonly Dictionary<string, int> _lastUse;
    private readonly List<Tensor> _owned = [];

    private OnnxModel(ModelProto proto, OnnxLoadOptions options)
    {
        GraphProto graph = proto.Graph ?? throw new InvalidDataException("the ONNX file has no graph");
        Opset = ReadOpset(proto, graph);
        var constants = new Dictionary<string, OnnxConstant>(StringComparer.Ordinal);
        foreach (TensorProto t in graph.Initializer)
        {
            if (t.Name.Length == 0)
                throw new InvalidDataException("an ONNX initializer has no name");
            if (!constants.TryAdd(t.Name, OnnxReader.Decode(t, t.Name, options)))
                throw new InvalidDataException($"the ONNX initializer '{t.Name}' is defined twice");
        }

        Inputs = graph.Input.Where(i => !constants.ContainsKey(i.Name)).Select(i => ValueInfo(i, "input", options)).ToList();
        Outputs = graph.Output.Select(o => ValueInfo(o, "output", options)).ToList();
        if (Outputs.Count == 0)
            throw new InvalidDataException("the ONNX graph has no output");
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (OnnxValueInfo v in Inputs.Concat(Outputs))
        {
            if (!names.Add(v.Name))
                throw new InvalidDataException($"the ONNX graph declares '{v.Name}' twice among its inputs and outputs");
        }

        var predefined = Inputs.Select(i => i.Name).Concat(constants.Keys).ToHashSet(StringComparer.Ordinal);
        var structure = new OnnxGraph(graph, predefined);
        foreach (OnnxValueInfo o in Outputs)
        {
            if (!structure.Produced.Contains(o.Name) && !Inputs.Any(i => i.Name == o.Name))
                throw new InvalidDataException($"the ONNX graph output '{o.Name}' is not computed by any node");
        }

        // Registered tensors: the float initializers (BatchNormalization statistics as buffers).
        var statistics = graph.Node.Where(n => n.OpType == "BatchNormalization").SelectMany(n => n.Input.Skip(3).Take(2)).ToHashSet(StringComparer.Ordinal);
        var tensors = new Dictionary<OnnxConstant, Tensor>(ReferenceEqualityComparer.Instance);
        try
        {
            _steps = Build(structure, constants, statistics, tensors, options);
        }
        catch
        {
            Dispose(); // the tensors made so far
            throw;
        }

        _lastUse = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < _steps.Count; i++)
        {
            foreach (string input in _steps[i].Inputs)
                _lastUse[input] = i;
        }

        Eval();
    }

    private List<OnnxStep> Build(OnnxGraph structure, Dictionary<string, OnnxConstant> constants, HashSet<string> statistics,
        Dictionary<OnnxConstant, Tensor> tensors, OnnxLoadOptions options)
    {
        foreach (OnnxConstant c in constants.Values.Where(c => c.Floats is { Length: > 0 }))
        {
            Tensor t = Tensor.FromArray(c.Floats!, c.Dims.Length == 0 ? [1] : c.Dims);
            try
            {
                AddInitializer(c.Name, t, parameter: !statistics.Contains(c.Name));
            }
            catch
            {
                t.Dispose();
                throw;
            }

            tensors[c] = t;
        }

        Tensor TensorOf(OnnxConstant c)
        {
            if (!tensors.TryGetValue(c, out Tensor? t))
            {
                tensors[c] = t = Tensor.FromArray(c.Floats!, c.Dims.Length == 0 ? [1] : c.Dims);
                _owned.Add(t);
            }

            return t;
        }

        var compiler = new OnnxCompiler(structure, Opset, options, constants, TensorOf, Outputs.Select(o => o.Name), Inputs);
        try
        {
            return compiler.Compile();
        }
        finally
        {
            _owned.AddRange(compiler.Owned);
        }
    }

    /// <summary>The ONNX operators (default domain) the importer supports.</summary>
    public static IReadOnlyList<string> SupportedOperators => OnnxCompiler.Supported;

    /// <summary>The graph inputs (initializers listed as inputs by old exporters are left out).</summary>
    public IReadOnlyList<OnnxValueInfo> Inputs { get; }

    /// <summary>The graph outputs.</summary>
    public IReadOnlyList<OnnxValueInfo> Outputs { get; }

    /// <summary>The version of the default-domain operator set the model imports (11..17).</summary>
    public int Opset { get; }

    /// <summary>Loads an ONNX file.</summary>
    /// <param name="path">The .onnx file.</param>
    /// <param name="options">Limits; null for <see cref="OnnxLoadOptions.Default"/>.</param>
    /// <exception cref="InvalidDataException">The file is not a valid ONNX model.</exception>
    /// <exception cref="NotSupportedException">The model uses an operator, attribute, type or opset not supported.</exception>
    /// <exception cref="ArgumentException">The path or an option is invalid.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static OnnxModel Load(string path, OnnxLoadOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        (options ?? OnnxLoadOptions.Default).Validate();
        // Every message names the file once, here: "ONNX file 'PATH': problem" (the parts below never name it).
        FileStream stream;
        try
        {
            stream = File.OpenRead(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new FileNotFoundException($"ONNX file '{path}' not found.", path, e);
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            throw new IOException($"ONNX file '{path}' cannot be read: {e.Message}", e);
        }

        using (stream)
        {
            try
            {
                return Load(stream, options);
            }
            catch (InvalidDataException e)
            {
                throw new InvalidDataException($"ONNX file '{path}': {e.Message}", e);
            }
            catch (NotSupportedException e)
            {
                throw new NotSupportedException($"ONNX file '{path}': {e.Message}", e);
            }
        }
    }

    /// <summary>Loads an ONNX model from a stream (read to its end, at most <see cref="OnnxLoadOptions.MaxFileBytes"/>).</summary>
    /// <inheritdoc cref="Load(string, OnnxLoadOptions?)"/>
    public static OnnxModel Load(Stream stream, OnnxLoadOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        options ??= OnnxLoadOptions.Default;
        options.Validate();
        ModelProto proto = OnnxReader.Parse(stream, options);
        return new OnnxModel(proto, options);
    }

    /// <summary>Runs a model with one input and one output.</summary>
    /// <param name="input">The input, of the declared shape (dynamic dimensions free). Not disposed.</param>
    /// <returns>The output; the caller owns it.</returns>
    /// <exception cref="InvalidOperationException">The model has more than one input or output.</exception>
    public override Tensor Forward(Tensor input)
    {
        if (Inputs.Count != 1 || Outputs.Count != 1)
        {
            throw new InvalidOperationException(
                $"Forward needs a model with one input and one output; this one has inputs [{string.Join(", ", Inputs)}] and outputs [{string.Join(", ", Outputs)}]: use Run.");
        }

        return Run(new Dictionary<string, Tensor> { [Inputs[0].Name] = input })[Outputs[0].Name];
    }

    /// <summary>Runs the graph.</summary>
    /// <param name="inputs">Every graph input by name, each of its declared shape. Not disposed.</param>
    /// <returns>Every graph output by name; the caller owns the tensors.</returns>
    /// <exception cref="ArgumentException">An input is missing, unknown or has the wrong shape.</exception>
    public IReadOnlyDictionary<string, Tensor> Run(IReadOnlyDictionary<string, Tensor> inputs)
    {
        ThrowIfDisposed();
        ArgumentNullException.ThrowIfNull(inputs);
        foreach (string name in inputs.Keys)
        {
            if (!Inputs.Any(i => i.Name == name))
                throw new ArgumentException($"'{name}' is not an input of this ONNX model (inputs: {string.Join(", ", Inputs)})", nameof(inputs));
        }

        var env = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (OnnxValueInfo info in Inputs)
        {
            if (!inputs.TryGetValue(info.Name, out Tensor? t) || t is null)
                throw new ArgumentException($"the ONNX model input '{info.Name}' is missing", nameof(inputs));
            int[] s = t.Shape;
            if (s.Length != info.Shape.Count || info.Shape.Where((d, i) => d >= 0 && d != s[i]).Any())
                throw new ArgumentException($"the ONNX model input {info} got a tensor of shape {Tensor.FormatShape(s)}", nameof(inputs));
            env[info.Name] = t;
        }

        var owned = new HashSet<string>(StringComparer.Ordinal);
        var outputs = Outputs.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        using IDisposable? noGrad = Training ? null : Autograd.NoGrad();
        try
        {
            for (int i = 0; i < _steps.Count; i++)
            {
                OnnxStep step = _steps[i];
                Tensor[] args = step.Inputs.Select(n => env[n]).ToArray();
                Tensor result;
                Inference.Trace.BeginNode(step.NodeName, step.OpType);
                try
                {
                    result = step.Run(args);
                }
                catch (ArgumentException e)
                {
                    throw new ArgumentException($"ONNX node '{step.NodeName}' ({step.OpType}): {e.Message}", e);
                }

                Inference.Trace.EndNode(result); // a row per node in cnn inspect, views and copies too

                env[step.Output] = result;
                owned.Add(step.Output);
                foreach (string input in step.Inputs.Distinct())
                {
                    if (!outputs.Contains(input) && _lastUse[input] == i && owned.Remove(input))
                    {
                        env[input].Dispose();
                        env.Remove(input);
                    }
                }
            }

            var result2 = new Dictionary<string, Tensor>(StringComparer.Ordinal);
            var given = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
            foreach (OnnxValueInfo o in Outputs)
            {
                Tensor t = env[o.Name];
                // The caller owns every output: inputs passed through, or one value listed twice, are copied.
                result2[o.Name] = owned.Contains(o.Name) && given.Add(t) ? t : t.Clone();
            }

            owned.ExceptWith(result2.Keys);
            return result2;
        }
        finally
        {
            foreach (string name in owned)
                env[name].Dispose();
        }
    }

    /// <inheritdoc/>
    protected override string ExtraRepr() => $"opset={Opset}, inputs=[{string.Join("; ", Inputs)}], outputs=[{string.Join("; ", Outputs)}], nodes={_steps.Count}";

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (disposing && !IsDisposed)
        {
            foreach (Tensor t in _owned)
                t.Dispose();
        }

        base.Dispose(disposing);
    }

    private void AddInitializer(string name, Tensor tensor, bool parameter)
    {
        string[] parts = name.Split('.');
        OnnxScope.Place(parts, 0, name, part => OnnxScope.ChildOf(this, part, RegisterModule), leaf =>
        {
            if (parameter)
                RegisterParameter(leaf, tensor);
            else
                RegisterBuffer(leaf, tensor);
        }, (child, next) => child.Add(parts, next, tensor, parameter, name));
    }

    private static int ReadOpset(ModelProto proto, GraphProto graph)
    {
        int opset = -1;
        foreach (OperatorSetIdProto id in proto.OpsetImport)
        {
            if (id.Domain is "" or "ai.onnx")
            {
                if (id.Version is < 11 or > 17)
                    throw new NotSupportedException($"the ONNX model uses opset {id.Version} of the default domain; supported: 11 to 17 (re-export with opset_version=17, or convert with onnx.version_converter).");
                opset = (int)id.Version;
            }
            else if (graph.Node.Any(n => n.Domain == id.Domain))
            {
                throw new NotSupportedException($"the ONNX model uses the operator domain '{id.Domain}' (version {id.Version}); only the default domain (ai.onnx, opsets 11 to 17) is supported.");
            }
        }

        return opset >= 0 ? opset : throw new InvalidDataException("the ONNX model imports no default-domain opset (opset_import)");
    }

    private static OnnxValueInfo ValueInfo(ValueInfoProto v, string role, OnnxLoadOptions options)
    {
        if (v.Name.Length == 0)
            throw new InvalidDataException($"an ONNX graph {role} has no name");
        TypeProto.Types.Tensor? t = v.Type?.TensorType;
        if (t == null)
            throw new NotSupportedException($"the ONNX graph {role} '{v.Name}' is not a tensor (sequences, maps and optionals are not supported)");
        if (t.ElemType != (int)TensorProto.Types.DataType.Float)
        {
            var type = (TensorProto.Types.DataType)t.ElemType;
            throw new NotSupportedException($"the ONNX graph {role} '{v.Name}' has element type {(Enum.IsDefined(type) ? type.ToString().ToUpperInvariant() : "#" + t.ElemType)}; only FLOAT is supported");
        }

        if (t.Shape == null)
            throw new NotSupportedException($"the ONNX graph {role} '{v.Name}' has no declared rank");
        var dims = t.Shape.Dim.Select(d => d.HasDimValue ? d.DimValue : -1).ToList();
        if (t.Shape.Dim.Any(d => d.HasDimValue && d.DimValue < 0))
            throw new InvalidDataException($"the ONNX graph {role} '{v.Name}' has a negative dimension [{string.Join(", ", t.Shape.Dim.Select(d => d.DimValue))}]");
        var known = dims.Select(d => Math.Max(d, 1)).ToList();
        OnnxReader.CheckDims(known, $"graph {role} '{v.Name}'", options);
        if (dims.Any(d => d == 0))
            throw new NotSupportedException($"the ONNX graph {role} '{v.Name}' has an empty dimension");
        return new OnnxValueInfo(v.Name, dims.Select(d => d < 0 ? -1 : (int)d).ToArray());
    }
}
