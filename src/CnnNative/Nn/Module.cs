using System.Globalization;
using System.Text;
using CnnNative.IO;

namespace CnnNative.Nn;

/// <summary>
/// Base class of every layer and model, modelled on PyTorch's <c>torch.nn.Module</c>: a module owns
/// named parameters, named buffers and named child modules, registered in declaration order, from
/// which <see cref="StateDict"/> builds PyTorch's keys (<c>features.0.weight</c>, <c>bn1.running_mean</c>).
/// </summary>
/// <remarks>
/// <para>Ownership: a module owns its parameters, buffers and children and frees them in
/// <see cref="Dispose()"/>. <see cref="Forward"/> never disposes its input and always returns a new
/// <see cref="Tensor"/> object that the caller owns (it may be a view sharing the input's storage,
/// e.g. <see cref="Flatten"/>; views keep that storage alive on their own).</para>
/// <para>A module starts in training mode, as in PyTorch; call <see cref="Eval"/> for inference.</para>
/// </remarks>
public abstract class Module : IDisposable
{
    private readonly List<(string Name, Tensor Tensor)> _parameters = [];
    private readonly List<BufferEntry> _buffers = [];
    private readonly List<(string Name, Module Module)> _children = [];
    private bool _disposed;

    private sealed record BufferEntry(string Name, Tensor Tensor, bool Persistent, SafetensorsDType StorageDType, bool OptionalOnLoad, bool Scalar);

    /// <summary>Computes the module's output. The input is not disposed; the caller owns the result.</summary>
    public abstract Tensor Forward(Tensor input);

    /// <summary>True in training mode (the default), false after <see cref="Eval"/>.</summary>
    public bool Training { get; private set; } = true;

    /// <summary>Sets training mode on this module and all its descendants; returns this module.</summary>
    public Module Train(bool on = true)
    {
        Training = on;
        foreach (var (_, child) in _children) child.Train(on);
        return this;
    }

    /// <summary>Sets evaluation (inference) mode on this module and all its descendants; returns this module.</summary>
    public Module Eval() => Train(false);

    // ------------------------------------------------------------------------------------------
    // Registration
    // ------------------------------------------------------------------------------------------

    /// <summary>
    /// Registers a parameter under <paramref name="name"/> (after those already registered) and returns it.
    /// A leaf parameter gets <see cref="Tensor.RequiresGrad"/> = true (set it to false to freeze it).
    /// </summary>
    protected Tensor RegisterParameter(string name, Tensor tensor)
    {
        CheckNewName(name);
        ArgumentNullException.ThrowIfNull(tensor);
        if (tensor.IsLeaf)
            tensor.RequiresGrad = true;
        _parameters.Add((name, tensor));
        return tensor;
    }

    /// <summary>
    /// Registers a buffer: state that is not a parameter (running statistics). Persistent buffers are
    /// in <see cref="StateDict"/>. <paramref name="storageDType"/> is the dtype safetensors files use for it
    /// (tensors are always float32 in memory; <c>num_batches_tracked</c> is I64 in PyTorch).
    /// <paramref name="optionalOnLoad"/>: a state dict without this key is not an error (the value is kept).
    /// <paramref name="scalar"/>: a one-element tensor that PyTorch holds as a 0-dim scalar (written with shape []).
    /// </summary>
    protected Tensor RegisterBuffer(string name, Tensor tensor, bool persistent = true,
        SafetensorsDType storageDType = SafetensorsDType.F32, bool optionalOnLoad = false, bool scalar = false)
    {
        CheckNewName(name);
        ArgumentNullException.ThrowIfNull(tensor);
        if (scalar && tensor.Length != 1)
            throw new ArgumentException($"Buffer '{name}' is declared scalar but has shape {Fmt(tensor.Shape)}.", nameof(tensor));
        _buffers.Add(new BufferEntry(name, tensor, persistent, storageDType, optionalOnLoad, scalar));
        return tensor;
    }

    /// <summary>Registers a child module under <paramref name="name"/> (after those already registered) and returns it.</summary>
    protected T RegisterModule<T>(string name, T module) where T : Module
    {
        CheckNewName(name);
        ArgumentNullException.ThrowIfNull(module);
        if (ReferenceEquals(module, this)) throw new ArgumentException("A module cannot be its own child.", nameof(module));
        _children.Add((name, module));
        return module;
    }

    /// <summary>
    /// Replaces the registered child <paramref name="name"/> with <paramref name="module"/> (PyTorch's
    /// <c>model.fc = nn.Linear(...)</c>, for transfer learning) and returns the old child, which the
    /// caller now owns (dispose it). The new module's parameters appear under the same keys.
    /// </summary>
    public Module ReplaceChild(string name, Module module)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(module);
        if (ReferenceEquals(module, this)) throw new ArgumentException("A module cannot be its own child.", nameof(module));
        int index = _children.FindIndex(c => c.Name == name);
        if (index < 0)
            throw new ArgumentException($"{GetType().Name} has no child named '{name}'; children: {string.Join(", ", _children.Select(c => c.Name))}.", nameof(name));
        Module old = _children[index].Module;
        _children[index] = (name, module);
        OnChildReplaced(name, old, module);
        return old;
    }

    /// <summary>Lets a module that keeps its children in fields too (e.g. <see cref="Sequential"/>) follow <see cref="ReplaceChild"/>.</summary>
    protected virtual void OnChildReplaced(string name, Module oldModule, Module newModule)
    {
    }

    private void CheckNewName(string name)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (name.Contains('.'))
            throw new ArgumentException($"Name '{name}' must not contain '.'.", nameof(name));
        if (_parameters.Any(p => p.Name == name) || _buffers.Any(b => b.Name == name) || _children.Any(c => c.Name == name))
            throw new ArgumentException($"'{name}' is already registered in {GetType().Name}.", nameof(name));
    }

    // ------------------------------------------------------------------------------------------
    // Enumeration
    // ------------------------------------------------------------------------------------------

    /// <summary>
    /// Parameters with their dotted names (<c>conv1.weight</c>): this module's own, in registration order,
    /// then each child's, depth first (PyTorch's order). A tensor registered twice is listed once.
    /// </summary>
    public IEnumerable<(string Name, Tensor Parameter)> NamedParameters(bool recurse = true)
    {
        var seen = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        foreach (var (prefix, module) in NamedModulesInternal("", recurse))
            foreach (var (name, p) in module._parameters)
                if (seen.Add(p))
                    yield return (prefix + name, p);
    }

    /// <summary>The parameters, in <see cref="NamedParameters"/> order.</summary>
    public IEnumerable<Tensor> Parameters(bool recurse = true) => NamedParameters(recurse).Select(p => p.Parameter);

    /// <summary>Buffers with their dotted names (<c>bn1.running_mean</c>), in PyTorch's order.</summary>
    public IEnumerable<(string Name, Tensor Buffer)> NamedBuffers(bool recurse = true)
    {
        var seen = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        foreach (var (prefix, module) in NamedModulesInternal("", recurse))
            foreach (var b in module._buffers)
                if (seen.Add(b.Tensor))
                    yield return (prefix + b.Name, b.Tensor);
    }

    /// <summary>The direct children with their names, in registration order.</summary>
    public IEnumerable<(string Name, Module Module)> NamedChildren()
    {
        foreach (var c in _children) yield return c;
    }

    /// <summary>The direct children, in registration order.</summary>
    public IEnumerable<Module> Children() => _children.Select(c => c.Module);

    /// <summary>This module (name "") and all descendants with dotted names, depth first (PyTorch's <c>named_modules</c>).</summary>
    public IEnumerable<(string Name, Module Module)> NamedModules()
    {
        var seen = new HashSet<Module>(ReferenceEqualityComparer.Instance);
        foreach (var (prefix, module) in NamedModulesInternal("", recurse: true))
            if (seen.Add(module))
                yield return (prefix.Length == 0 ? "" : prefix[..^1], module);
    }

    /// <summary>
    /// Fills the <see cref="Tensor.Grad"/> of every parameter with zeros (keeping the buffers for the next
    /// backward pass); parameters without a gradient are left alone.
    /// </summary>
    public void ZeroGrad()
    {
        ThrowIfDisposed();
        foreach (var (_, p) in NamedParameters())
            p.ZeroGrad();
    }

    /// <summary>Number of parameter elements (each shared tensor counted once).</summary>
    public long ParameterCount() => Parameters().Sum(p => p.Length);

    // Yields (prefix-with-trailing-dot, module), pre-order.
    private IEnumerable<(string Prefix, Module Module)> NamedModulesInternal(string prefix, bool recurse)
    {
        yield return (prefix, this);
        if (!recurse) yield break;
        foreach (var (name, child) in _children)
            foreach (var item in child.NamedModulesInternal(prefix + name + ".", true))
                yield return item;
    }

    // ------------------------------------------------------------------------------------------
    // State dict
    // ------------------------------------------------------------------------------------------

    private readonly record struct StateEntry(string Key, Tensor Tensor, SafetensorsDType DType, bool Optional, bool Scalar);

    private IEnumerable<StateEntry> StateEntries()
    {
        // PyTorch: for each module (pre-order), its own parameters, then its own persistent buffers.
        foreach (var (prefix, module) in NamedModulesInternal("", recurse: true))
        {
            foreach (var (name, p) in module._parameters)
                yield return new StateEntry(prefix + name, p, SafetensorsDType.F32, false, false);
            foreach (var b in module._buffers)
                if (b.Persistent)
                    yield return new StateEntry(prefix + b.Name, b.Tensor, b.StorageDType, b.OptionalOnLoad, b.Scalar);
        }
    }

    /// <summary>
    /// The module's state with PyTorch's keys and order: for each module (depth first), its own parameters,
    /// then its own persistent buffers. The tensors are the module's own (not copies): do not dispose them.
    /// </summary>
    public IReadOnlyList<(string Key, Tensor Value)> StateDict()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return StateEntries().Select(e => (e.Key, e.Tensor)).ToList();
    }

    /// <summary>
    /// Copies values into the module's parameters and buffers. Everything is checked first — missing keys
    /// and unexpected keys (when <paramref name="strict"/>), shape mismatches (always) — and a single
    /// <see cref="ArgumentException"/> lists every problem; then values are copied. Nothing is loaded
    /// if anything is wrong. (As in PyTorch, a missing BatchNorm <c>num_batches_tracked</c> is tolerated.)
    /// </summary>
    /// <param name="state">Key to tensor, e.g. from <see cref="Safetensors.Load(string)"/>. Not disposed.</param>
    /// <param name="strict">When false, missing and unexpected keys are ignored (shape mismatches are still errors).</param>
    public void LoadStateDict(IReadOnlyDictionary<string, Tensor> state, bool strict = true)
    {
        ArgumentNullException.ThrowIfNull(state);
        var problems = CheckState(state, strict, out var plan);
        if (problems.Count > 0)
            throw new ArgumentException(DescribeProblems(problems), nameof(state));
        Apply(plan);
    }

    /// <summary>Like <see cref="LoadStateDict(IReadOnlyDictionary{string, Tensor}, bool)"/>, from an ordered list such as another module's <see cref="StateDict"/>.</summary>
    public void LoadStateDict(IEnumerable<(string Key, Tensor Value)> state, bool strict = true)
    {
        ArgumentNullException.ThrowIfNull(state);
        var dict = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (key, value) in state)
            if (!dict.TryAdd(key, value))
                throw new ArgumentException($"Key '{key}' appears more than once in the state.", nameof(state));
        LoadStateDict(dict, strict);
    }

    /// <summary>
    /// Loads parameters and buffers from a safetensors file (F32; I64/F64/F16/BF16 converted), with the same
    /// all-or-nothing checks as <see cref="LoadStateDict(IReadOnlyDictionary{string, Tensor}, bool)"/>; problems
    /// are reported as one <see cref="InvalidDataException"/> naming the file. The checks run on the file's header,
    /// before any tensor is allocated or read (a file that does not fit costs no more than its header), and only the
    /// tensors the module takes are read.
    /// </summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is malformed or does not fit this module.</exception>
    /// <exception cref="NotSupportedException">A tensor's dtype cannot be read, it is empty, or it has more than 2^31 - 1 elements.</exception>
    public void LoadSafetensors(string path, bool strict = true)
    {
        ArgumentNullException.ThrowIfNull(path);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!File.Exists(path))
            throw new FileNotFoundException($"Safetensors file '{path}' not found.", path);
        // The header's names and shapes are checked before any tensor is read, so a file that does not fit
        // costs no more than its header; only the tensors this module takes are read.
        var loaded = Safetensors.Load(path, header =>
        {
            var shapes = new Dictionary<string, int[]>(header.Count, StringComparer.Ordinal);
            foreach (var (name, _, shape) in header) shapes[name] = shape;
            var problems = CheckState(shapes, shape => (shape, null), strict, out var plan);
            if (problems.Count > 0)
                throw DoesNotFit(path, problems);
            return plan.Select(p => p.Key).ToHashSet(StringComparer.Ordinal);
        }, out _);
        try
        {
            var problems = CheckState(loaded, strict, out var plan);
            if (problems.Count > 0) // only if the file changed between its header and its data
                throw DoesNotFit(path, problems);
            Apply(plan);
        }
        finally
        {
            foreach (var t in loaded.Values) t.Dispose();
        }
    }

    /// <summary>
    /// Writes <see cref="StateDict"/> to a safetensors file that PyTorch's <c>safetensors.torch.load_file</c> reads
    /// back into <c>load_state_dict</c> (<c>num_batches_tracked</c> is written as I64, like PyTorch's).
    /// </summary>
    public void SaveSafetensors(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        ObjectDisposedException.ThrowIf(_disposed, this);
        var entries = StateEntries().ToList();
        var dtypes = entries.Where(e => e.DType != SafetensorsDType.F32).ToDictionary(e => e.Key, e => e.DType, StringComparer.Ordinal);
        var scalars = entries.Where(e => e.Scalar).Select(e => e.Key).ToList();
        Safetensors.Save(path, entries.Select(e => new KeyValuePair<string, Tensor>(e.Key, e.Tensor)), dtypes, scalars: scalars);
    }

    private InvalidDataException DoesNotFit(string path, List<string> problems) =>
        new($"Safetensors file '{path}' does not fit {GetType().Name}: " + DescribeProblems(problems));

    private List<string> CheckState(IReadOnlyDictionary<string, Tensor> state, bool strict, out List<(Tensor Dest, Tensor Src)> plan)
    {
        var problems = CheckState(state, ShapeOf, strict, out var keyed);
        plan = keyed.Select(p => (p.Dest, p.Src)).ToList();
        return problems;

        static (int[]? Shape, string? Problem) ShapeOf(Tensor? t)
        {
            if (t is null) return (null, "maps to null");
            try { return (t.Shape, null); }
            catch (ObjectDisposedException) { return (null, "maps to a disposed tensor"); }
        }
    }

    /// <summary>
    /// Matches a state (tensors, or the shapes of a file's header) against this module's entries: the problems
    /// (missing/unexpected keys, shape mismatches, sources <paramref name="shapeOf"/> rejects) and the copies to make.
    /// </summary>
    private List<string> CheckState<TSrc>(IReadOnlyDictionary<string, TSrc> state, Func<TSrc, (int[]? Shape, string? Problem)> shapeOf,
        bool strict, out List<(Tensor Dest, string Key, TSrc Src)> plan)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var problems = new List<string>();
        plan = [];
        var expectedKeys = new HashSet<string>(StringComparer.Ordinal);
        foreach (var e in StateEntries())
        {
            expectedKeys.Add(e.Key);
            int[] expected = e.Tensor.Shape;
            if (!state.TryGetValue(e.Key, out var src))
            {
                if (strict && !e.Optional)
                    problems.Add($"missing key '{e.Key}' (expected shape {Fmt(expected)})");
                continue;
            }
            var (found, problem) = shapeOf(src);
            if (found is null)
            {
                problems.Add($"key '{e.Key}' {problem} (expected shape {Fmt(expected)})");
                continue;
            }
            if (!ShapesMatch(expected, found))
            {
                problems.Add($"size mismatch for '{e.Key}': expected shape {Fmt(expected)}, found {Fmt(found)}");
                continue;
            }
            plan.Add((e.Tensor, e.Key, src));
        }
        if (strict)
            foreach (var key in state.Keys.Where(k => !expectedKeys.Contains(k)).Order(StringComparer.Ordinal))
            {
                var (shape, problem) = shapeOf(state[key]);
                problems.Add($"unexpected key '{key}' ({(shape is null ? problem : "shape " + Fmt(shape))})");
            }
        return problems;
    }

    // Equal shapes, or both a single element (PyTorch loads a [1] tensor into a scalar, e.g. num_batches_tracked).
    private static bool ShapesMatch(int[] expected, int[] found)
    {
        if (expected.AsSpan().SequenceEqual(found)) return true;
        return expected.Length <= 1 && found.Length <= 1 && Product(expected) == 1 && Product(found) == 1;
    }

    private static long Product(int[] shape)
    {
        long n = 1;
        foreach (int d in shape) n *= d;
        return n;
    }

    private static void Apply(List<(Tensor Dest, Tensor Src)> plan)
    {
        // A source that shares storage with some destination (e.g. this module's own state under other keys)
        // is snapshotted first, so that every value is read before anything is overwritten.
        var snapshots = new List<Tensor>();
        try
        {
            var sources = new Tensor[plan.Count];
            for (int i = 0; i < plan.Count; i++)
            {
                var (dest, src) = plan[i];
                sources[i] = src;
                if (ReferenceEquals(dest, src)) continue;
                foreach (var (other, _) in plan)
                {
                    if (other.SharesStorageWith(src))
                    {
                        sources[i] = src.Clone();
                        snapshots.Add(sources[i]);
                        break;
                    }
                }
            }
            for (int i = 0; i < plan.Count; i++)
                if (!ReferenceEquals(plan[i].Dest, sources[i]))
                    sources[i].AsSpan().CopyTo(plan[i].Dest.AsSpan());
        }
        finally
        {
            foreach (var t in snapshots) t.Dispose();
        }
    }

    private string DescribeProblems(List<string> problems)
    {
        var sb = new StringBuilder();
        sb.Append($"Error(s) in loading state dict for {GetType().Name} ({problems.Count} problem{(problems.Count == 1 ? "" : "s")}; nothing was loaded):");
        foreach (var p in problems) sb.Append("\n  - ").Append(p);
        return sb.ToString();
    }

    private static string Fmt(int[] shape) => "[" + string.Join(", ", shape) + "]";


    // ------------------------------------------------------------------------------------------
    // Display
    // ------------------------------------------------------------------------------------------

    /// <summary>The part of <see cref="ToString"/> inside the parentheses (PyTorch's <c>extra_repr</c>).</summary>
    protected virtual string ExtraRepr() => "";

    /// <summary>A PyTorch-like description of the module tree.</summary>
    public override string ToString()
    {
        var sb = new StringBuilder();
        sb.Append(GetType().Name).Append('(').Append(ExtraRepr());
        if (_children.Count > 0)
        {
            sb.Append('\n');
            foreach (var (name, child) in _children)
            {
                string text = child.ToString().Replace("\n", "\n  ");
                sb.Append("  (").Append(name).Append("): ").Append(text).Append('\n');
            }
        }
        sb.Append(')');
        return sb.ToString();
    }

    // ------------------------------------------------------------------------------------------
    // Disposal
    // ------------------------------------------------------------------------------------------

    /// <summary>True once <see cref="Dispose()"/> has run.</summary>
    protected bool IsDisposed => _disposed;

    /// <summary>Frees the parameters, buffers and child modules.</summary>
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Frees owned tensors and children; override to free more (call the base).</summary>
    protected virtual void Dispose(bool disposing)
    {
        if (_disposed) return;
        _disposed = true;
        if (!disposing) return;
        foreach (var (_, p) in _parameters) p.Dispose();
        foreach (var b in _buffers) b.Tensor.Dispose();
        foreach (var (_, c) in _children) c.Dispose();
    }

    /// <summary>Throws <see cref="ObjectDisposedException"/> if this module has been disposed.</summary>
    protected void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    // ------------------------------------------------------------------------------------------
    // Helpers for subclasses
    // ------------------------------------------------------------------------------------------

    /// <summary>
    /// Checks, before anything is allocated, that a layer's parameter of this shape can exist: at most 2^31 - 1
    /// elements (it is initialised through a span). Else an <see cref="ArgumentOutOfRangeException"/> for
    /// <paramref name="paramName"/> naming the shape; the element count is computed without overflow.
    /// </summary>
    internal static void CheckParameterSize(string what, string paramName, params int[] shape)
    {
        double count = 1;
        foreach (int d in shape) count *= d;
        if (count > int.MaxValue)
            throw new ArgumentOutOfRangeException(paramName,
                string.Create(CultureInfo.InvariantCulture, $"{what} of shape {Tensor.FormatShape(shape)} would hold {count:0.###e+0} elements; a layer's parameter holds at most {int.MaxValue} (2^31 - 1)."));
    }

    /// <summary>A new tensor filled with U(<paramref name="low"/>, <paramref name="high"/>) from the <see cref="Cnn.ManualSeed"/> generator.</summary>
    internal static Tensor UniformInit(float low, float high, params int[] shape)
    {
        var t = Tensor.Zeros(shape);
        try
        {
            var span = t.AsSpan();
            var rng = Cnn.Rng;
            float range = high - low;
            for (int i = 0; i < span.Length; i++)
                span[i] = low + range * rng.NextSingle();
        }
        catch
        {
            t.Dispose();
            throw;
        }
        return t;
    }

    /// <summary>A new tensor filled with <paramref name="value"/>.</summary>
    internal static Tensor Filled(float value, params int[] shape) => Tensor.Full(value, shape);

    /// <summary>Checks that a tensor is NCHW, naming the module in the message.</summary>
    internal static void RequireRank(Tensor input, int rank, string module)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.Rank != rank)
            throw new ArgumentException($"{module} expects a rank-{rank} input{(rank == 4 ? " [N, C, H, W]" : "")}, got shape {Fmt(input.Shape)}.", nameof(input));
    }
}
