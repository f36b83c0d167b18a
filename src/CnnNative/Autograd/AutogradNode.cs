using CnnNative.Interop;

namespace CnnNative;

/// <summary>
/// A recorded operation in the autograd graph (PyTorch's <c>grad_fn</c>): it knows the op's inputs
/// (the nodes that produced them, or the leaf tensors that receive gradients), keeps what its backward
/// pass needs (references to storage, so disposing an intermediate <see cref="Tensor"/> object does not
/// free it), and computes the gradients of its inputs from the gradient of its output by calling the
/// native backward kernels. Saved storage is released once the node's backward has run (or when the
/// graph is no longer referenced).
/// </summary>
public abstract class AutogradNode
{
    private int _refs;
    private Edge[] _edges;

    /// <summary>Creates a node with its input edges (each edge already holds a reference on its producer).</summary>
    private protected AutogradNode(Edge[] edges, long outputLength)
    {
        _edges = edges;
        OutputLength = outputLength;
    }

    /// <summary>The op's name, as in PyTorch (<c>ConvolutionBackward</c>, <c>AddBackward</c>, ...).</summary>
    public abstract string Name { get; }

    /// <summary>
    /// The nodes producing this op's inputs, in input order; null for an input that is a leaf or needs
    /// no gradient (PyTorch's <c>next_functions</c>). Empty once the graph has been freed.
    /// </summary>
    public IReadOnlyList<AutogradNode?> NextFunctions
    {
        get
        {
            var result = new AutogradNode?[_edges.Length];
            for (int i = 0; i < _edges.Length; i++)
            {
                result[i] = _edges[i].Node;
            }

            return result;
        }
    }

    /// <summary>Whether the backward pass ran and released what it saved (a second pass is an error).</summary>
    public bool IsFreed { get; private set; }

    /// <summary>The input edges.</summary>
    internal Edge[] Edges => _edges;

    /// <summary>Elements of the op's output (the size of its gradient buffer).</summary>
    internal long OutputLength { get; }

    // Engine bookkeeping for one backward pass.
    internal NativeBuffer? GradOutput;
    internal int Mark;

    /// <inheritdoc />
    public override string ToString() => Name;

    /// <summary>Computes the gradients of the inputs from <paramref name="gradOutput"/> (OutputLength floats).</summary>
    internal abstract unsafe void Backward(BackwardContext context, NativeBuffer gradOutput);

    /// <summary>Releases saved storage (idempotent).</summary>
    private protected abstract void ReleaseSaved();

    /// <summary>Takes a reference (a tensor whose GradFn this is, or a consumer's edge).</summary>
    internal void AddRef() => Interlocked.Increment(ref _refs);

    /// <summary>Drops a reference; the last one releases the saved storage and the input edges.</summary>
    internal void Release()
    {
        if (Interlocked.Decrement(ref _refs) == 0)
        {
            ReleaseSaved();
            Edge[] edges = Interlocked.Exchange(ref _edges, []);
            foreach (Edge edge in edges)
            {
                edge.Node?.Release();
            }
        }
    }

    /// <summary>After the backward pass ran: release saved storage and mark freed.</summary>
    internal void Free()
    {
        IsFreed = true;
        ReleaseSaved();
    }

    /// <summary>
    /// Once the whole pass is done: drops the input edges (all producers ran too, so nothing is left to
    /// release through them; their references are simply forgotten).
    /// </summary>
    internal void DropEdges() => _edges = [];
}

/// <summary>An input of a recorded op: the producing node, a leaf receiving a gradient, or nothing.</summary>
internal readonly struct Edge
{
    private Edge(AutogradNode? node, Tensor? leaf)
    {
        Node = node;
        Leaf = leaf;
    }

    /// <summary>The node that produced the input (non-leaf), or null.</summary>
    public AutogradNode? Node { get; }

    /// <summary>The leaf tensor whose <see cref="Tensor.Grad"/> receives the gradient, or null.</summary>
    public Tensor? Leaf { get; }

    /// <summary>Whether the input needs a gradient.</summary>
    public bool Needed => Node is not null || Leaf is not null;

    /// <summary>The edge to a tensor: its GradFn (referenced), itself if it is a leaf requiring grad, else none.</summary>
    public static Edge To(Tensor? tensor)
    {
        if (tensor is null)
        {
            return default;
        }

        AutogradNode? node = tensor.GradFnInternal;
        if (node is not null)
        {
            node.AddRef();
            return new Edge(node, null);
        }

        return tensor.RequiresGrad ? new Edge(null, tensor) : default;
    }
}

/// <summary>
/// Storage a node keeps for its backward pass: a reference on the buffer (released by
/// <see cref="Release"/> or, if forgotten, by the lease's finalizer) and the version it had when saved.
/// </summary>
internal unsafe struct Saved
{
    private NativeBufferLease? _lease;
    private NativeBuffer? _buffer;
    private int _version;
    private float* _pointer;

    /// <summary>Saves the storage of a tensor (at its current version).</summary>
    public static Saved Of(Tensor tensor) => Of(tensor, tensor.Storage.Version);

    /// <summary>Saves the storage of a tensor, as it was at <paramref name="version"/> (read before the op wrote its output).</summary>
    public static Saved Of(Tensor tensor, int version)
    {
        NativeBuffer buffer = tensor.Storage;
        return new Saved
        {
            _lease = new NativeBufferLease(buffer),
            _buffer = buffer,
            _version = version,
            _pointer = (float*)buffer.DangerousGetHandle(),
        };
    }

    /// <summary>Whether something is saved (and not released).</summary>
    public readonly bool IsSet => _lease is not null;

    /// <summary>The saved data; throws if it was modified in place since it was saved, or released.</summary>
    public readonly float* Get(string what)
    {
        if (_lease is null)
        {
            throw new InvalidOperationException($"autograd: the saved {what} has already been freed (graph already freed).");
        }

        if (_buffer!.Version != _version)
        {
            throw new InvalidOperationException(
                $"autograd: the {what} saved for the backward pass was modified by an in-place operation after it was saved " +
                $"(version {_buffer.Version}, expected {_version}); use an out-of-place op or clone it first.");
        }

        return _pointer;
    }

    /// <summary>The saved data, or null if nothing was saved.</summary>
    public readonly float* GetOrNull(string what) => _lease is null ? null : Get(what);

    /// <summary>Releases the reference (idempotent).</summary>
    public void Release()
    {
        NativeBufferLease? lease = _lease;
        _lease = null;
        _buffer = null;
        _pointer = null;
        lease?.Dispose();
    }
}
