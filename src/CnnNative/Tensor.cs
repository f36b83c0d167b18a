using System.Runtime.InteropServices;
using System.Text;
using CnnNative.Interop;

namespace CnnNative;

/// <summary>
/// A dense, row-major float32 tensor in 64-byte aligned native memory (allocated by the native
/// library, so the native ops read and write it without copies).
/// </summary>
/// <remarks>
/// <para>
/// A tensor either owns its storage or is a view sharing another tensor's storage
/// (<see cref="Reshape"/>). The storage is freed when the owner and every view are disposed, or,
/// for forgotten ones, by the finalizer of the storage handle. Disposing a view never frees
/// storage another tensor still uses; disposing the owner leaves its live views working.
/// </para>
/// <para>
/// Every dimension is at least 1 (empty tensors are not supported: the native ops take counts
/// &gt;= 1), a tensor has at least one dimension, and at most 2^44 elements.
/// Any member of a disposed tensor other than <see cref="Dispose"/>, <see cref="IsDisposed"/> and
/// <see cref="ToString"/> throws <see cref="ObjectDisposedException"/>.
/// A tensor is not synchronized: do not dispose it while another thread uses it.
/// </para>
/// </remarks>
public sealed unsafe class Tensor : IDisposable
{
    /// <summary>The largest element count of one tensor (2^44, i.e. 2^46 bytes, the native allocation limit).</summary>
    public const long MaxLength = 1L << 44;

    private readonly NativeBuffer _buffer;

    // What Dispose releases: the buffer itself for the owner, a reference on it for a view.
    private readonly SafeHandle _lifetime;
    private readonly int[] _shape;
    private int _disposed;

    private readonly long _length;

    // Autograd state: a leaf's RequiresGrad flag and accumulated gradient; a non-leaf's recording node.
    private bool _requiresGrad;
    private AutogradNode? _gradFn;
    private Tensor? _grad;

    private Tensor(NativeBuffer buffer, SafeHandle lifetime, int[] shape, long length)
    {
        _buffer = buffer;
        _lifetime = lifetime;
        _shape = shape;
        _length = length;
    }

    /// <summary>The dimensions (a new array each call).</summary>
    public int[] Shape
    {
        get
        {
            ThrowIfDisposed();
            return (int[])_shape.Clone();
        }
    }

    /// <summary>The number of dimensions (at least 1).</summary>
    public int Rank
    {
        get
        {
            ThrowIfDisposed();
            return _shape.Length;
        }
    }

    /// <summary>The number of elements (the product of the dimensions).</summary>
    public long Length
    {
        get
        {
            ThrowIfDisposed();
            return _length;
        }
    }

    /// <summary>Whether <see cref="Dispose"/> has been called on this tensor.</summary>
    public bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    /// <summary>Whether this tensor is a view sharing another tensor's storage (made by <see cref="Reshape"/>).</summary>
    public bool IsView => !ReferenceEquals(_lifetime, _buffer);

    /// <summary>The dimensions without a copy (for the library's own checks).</summary>
    internal ReadOnlySpan<int> Dims
    {
        get
        {
            ThrowIfDisposed();
            return _shape;
        }
    }

    /// <summary>
    /// The first element, for native calls. The caller must keep this tensor alive (and undisposed)
    /// until the native call returns, e.g. with <see cref="GC.KeepAlive"/>, or use <see cref="Pin"/>.
    /// </summary>
    internal float* Pointer
    {
        get
        {
            ThrowIfDisposed();
            return (float*)_buffer.DangerousGetHandle();
        }
    }

    /// <summary>The storage (shared by views).</summary>
    internal NativeBuffer Storage => _buffer;

    /// <summary>The size of one dimension; negative values count from the end (-1 is the last).</summary>
    /// <param name="dim">The dimension, -Rank ... Rank - 1.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dim"/> is out of range.</exception>
    public int Size(int dim)
    {
        ThrowIfDisposed();
        return _shape[NormalizeDim(dim, _shape.Length, nameof(dim))];
    }

    /// <summary>A tensor with a copy of <paramref name="data"/>.</summary>
    /// <param name="data">The elements in row-major order.</param>
    /// <param name="shape">The dimensions; none means one dimension of <c>data.Length</c>.</param>
    /// <exception cref="ArgumentException">The shape is invalid or its element count differs from <c>data.Length</c>.</exception>
    public static Tensor FromArray(float[] data, params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(data);
        return FromSpan(data, shape);
    }

    /// <summary>A tensor with a copy of <paramref name="data"/>.</summary>
    /// <param name="data">The elements in row-major order.</param>
    /// <param name="shape">The dimensions; none means one dimension of <c>data.Length</c>.</param>
    /// <exception cref="ArgumentException">The shape is invalid or its element count differs from <c>data.Length</c>.</exception>
    public static Tensor FromSpan(ReadOnlySpan<float> data, params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        int[] dims = shape.Length == 0 ? [data.Length] : (int[])shape.Clone();
        long length = CheckShape(dims, nameof(shape));
        if (length != data.Length)
        {
            throw new ArgumentException(
                $"data has {data.Length} elements but shape {FormatShape(dims)} needs {length}.", nameof(data));
        }

        Tensor tensor = Allocate(dims, length);
        data.CopyTo(new Span<float>(tensor.Pointer, data.Length));
        return tensor;
    }

    /// <summary>A tensor of zeros.</summary>
    /// <param name="shape">The dimensions (at least one, each &gt;= 1).</param>
    /// <exception cref="ArgumentException">The shape is invalid.</exception>
    public static Tensor Zeros(params int[] shape) => Create(shape);

    /// <summary>A tensor with every element equal to <paramref name="value"/>.</summary>
    /// <param name="value">The value of every element.</param>
    /// <param name="shape">The dimensions (at least one, each &gt;= 1).</param>
    /// <exception cref="ArgumentException">The shape is invalid.</exception>
    public static Tensor Full(float value, params int[] shape)
    {
        Tensor tensor = Create(shape);
        if (value != 0f || float.IsNegative(value))
        {
            float* p = tensor.Pointer;
            for (long i = 0, n = tensor._length; i < n; i++)
            {
                p[i] = value;
            }
        }

        return tensor;
    }

    /// <summary>
    /// A tensor of standard normal samples (mean 0, variance 1), deterministic for a seed: Box-Muller
    /// over <c>new System.Random(seed)</c>, pairs of elements from pairs of uniforms.
    /// </summary>
    /// <param name="seed">The seed; the same seed and shape give the same tensor.</param>
    /// <param name="shape">The dimensions (at least one, each &gt;= 1).</param>
    /// <exception cref="ArgumentException">The shape is invalid.</exception>
    public static Tensor Randn(int seed, params int[] shape)
    {
        Tensor tensor = Create(shape);
        var rng = new Random(seed);
        float* p = tensor.Pointer;
        long n = tensor.Length;
        for (long i = 0; i < n; i += 2)
        {
            double u1 = 1.0 - rng.NextDouble(); // (0, 1]: the logarithm is finite
            double u2 = rng.NextDouble();
            double radius = Math.Sqrt(-2.0 * Math.Log(u1));
            double angle = 2.0 * Math.PI * u2;
            p[i] = (float)(radius * Math.Cos(angle));
            if (i + 1 < n)
            {
                p[i + 1] = (float)(radius * Math.Sin(angle));
            }
        }

        return tensor;
    }

    /// <summary>
    /// A tensor of samples uniform in [<paramref name="low"/>, <paramref name="high"/>), deterministic
    /// for a seed (<c>new System.Random(seed)</c>).
    /// </summary>
    /// <param name="seed">The seed; the same arguments give the same tensor.</param>
    /// <param name="low">The lower bound (inclusive).</param>
    /// <param name="high">The upper bound (exclusive, unless equal to <paramref name="low"/>).</param>
    /// <param name="shape">The dimensions (at least one, each &gt;= 1).</param>
    /// <exception cref="ArgumentException">The shape is invalid, a bound is not finite, or <paramref name="low"/> &gt; <paramref name="high"/>.</exception>
    public static Tensor Uniform(int seed, float low, float high, params int[] shape)
    {
        if (!float.IsFinite(low) || !float.IsFinite(high) || low > high)
        {
            throw new ArgumentException(
                $"Uniform needs finite bounds with low <= high, got low = {low}, high = {high}.", nameof(low));
        }

        Tensor tensor = Create(shape);
        var rng = new Random(seed);
        float* p = tensor.Pointer;
        double range = (double)high - low;
        for (long i = 0, n = tensor._length; i < n; i++)
        {
            float value = (float)(low + range * rng.NextDouble());
            p[i] = value >= high && high > low ? MathF.BitDecrement(high) : value;
        }

        return tensor;
    }

    /// <summary>
    /// The elements as a span over the native memory (no copy). It is valid only while this tensor
    /// is alive and not disposed: keep the tensor referenced (e.g. in a <c>using</c>) while using it.
    /// </summary>
    /// <exception cref="InvalidOperationException">The tensor has more than <see cref="int.MaxValue"/> elements.</exception>
    public Span<float> AsSpan()
    {
        Inference.Trace.Access(this, "Tensor.AsSpan");
        float* p = Pointer;
        return new Span<float>(p, SpanLength());
    }

    /// <summary>A copy of the elements in row-major order.</summary>
    /// <exception cref="InvalidOperationException">The tensor has more than <see cref="int.MaxValue"/> elements.</exception>
    public float[] ToArray()
    {
        Inference.Trace.Access(this, "Tensor.ToArray");
        using TensorPin pin = Pin();
        return new ReadOnlySpan<float>(pin.Pointer, SpanLength()).ToArray();
    }

    /// <summary>Copies the elements to <paramref name="destination"/>, which must have exactly <see cref="Length"/> elements.</summary>
    /// <param name="destination">Where to copy to.</param>
    /// <exception cref="ArgumentException">The destination length differs from <see cref="Length"/>.</exception>
    public void CopyTo(Span<float> destination)
    {
        Inference.Trace.Access(this, "Tensor.CopyTo");
        using TensorPin pin = Pin();
        if (destination.Length != Length)
        {
            throw new ArgumentException(
                $"destination has {destination.Length} elements; tensor {FormatShape(_shape)} has {Length}.", nameof(destination));
        }

        new ReadOnlySpan<float>(pin.Pointer, destination.Length).CopyTo(destination);
    }

    /// <summary>Overwrites the elements with <paramref name="source"/>, which must have exactly <see cref="Length"/> elements.</summary>
    /// <param name="source">The new elements in row-major order.</param>
    /// <exception cref="ArgumentException">The source length differs from <see cref="Length"/>.</exception>
    public void CopyFrom(ReadOnlySpan<float> source)
    {
        Inference.Trace.Access(this, "Tensor.CopyFrom");
        using TensorPin pin = Pin();
        if (source.Length != Length)
        {
            throw new ArgumentException(
                $"source has {source.Length} elements; tensor {FormatShape(_shape)} has {Length}.", nameof(source));
        }

        source.CopyTo(new Span<float>(pin.Pointer, source.Length));
        _buffer.Version++;
    }

    /// <summary>Overwrites the elements with those of <paramref name="source"/>, which must have the same shape.</summary>
    /// <param name="source">The tensor to copy from (may share storage with this one).</param>
    /// <exception cref="ArgumentException">The shapes differ.</exception>
    public void CopyFrom(Tensor source)
    {
        ArgumentNullException.ThrowIfNull(source);
        Inference.Trace.Access(source, "Tensor.CopyFrom");
        using TensorPin to = Pin();
        using TensorPin from = source.Pin();
        if (!source._shape.AsSpan().SequenceEqual(_shape))
        {
            throw new ArgumentException(
                $"source has shape {FormatShape(source._shape)}; expected {FormatShape(_shape)}.", nameof(source));
        }

        if (to.Pointer != from.Pointer)
        {
            Buffer.MemoryCopy(from.Pointer, to.Pointer, Length * sizeof(float), Length * sizeof(float));
            _buffer.Version++;
        }
    }

    /// <summary>A new tensor (own storage) with a copy of this one's shape and elements.</summary>
    public Tensor Clone()
    {
        Inference.Trace.Access(this, "Tensor.Clone");
        using TensorPin pin = Pin();
        Tensor copy = Allocate((int[])_shape.Clone(), Length);
        Buffer.MemoryCopy(pin.Pointer, copy.Pointer, Length * sizeof(float), Length * sizeof(float));
        return copy;
    }

    /// <summary>
    /// A view with another shape and the same elements (shared storage, no copy). One dimension may
    /// be -1: it is inferred from the element count. Dispose the view like any tensor.
    /// </summary>
    /// <param name="shape">The new dimensions, each &gt;= 1 except at most one -1.</param>
    /// <exception cref="ArgumentException">The shape is invalid or its element count differs from <see cref="Length"/>.</exception>
    public Tensor Reshape(params int[] shape)
    {
        ThrowIfDisposed();
        ArgumentNullException.ThrowIfNull(shape);
        if (shape.Length == 0)
        {
            throw new ArgumentException(
                $"cannot reshape tensor {FormatShape(_shape)} ({Length} elements) to []: a shape needs at least one dimension.",
                nameof(shape));
        }

        int[] dims = (int[])shape.Clone();
        int inferred = -1;
        long known = 1;
        for (int i = 0; i < dims.Length; i++)
        {
            if (dims[i] == -1 && inferred < 0)
            {
                inferred = i;
                continue;
            }

            if (dims[i] < 1)
            {
                string why = dims[i] == -1 ? "only one dimension may be -1" : $"dimension {i} is {dims[i]}; dimensions must be >= 1 (or one -1)";
                throw new ArgumentException(
                    $"cannot reshape tensor {FormatShape(_shape)} ({Length} elements) to {FormatShape(shape)}: {why}.", nameof(shape));
            }

            // Saturate past Length (no overflow; the shape is wrong anyway).
            known = dims[i] > Length / known ? Length + 1 : known * dims[i];
        }

        if (inferred >= 0)
        {
            long size = known <= Length && Length % known == 0 ? Length / known : 0;
            if (size > int.MaxValue)
            {
                throw new ArgumentException(
                    $"cannot reshape tensor {FormatShape(_shape)} ({Length} elements) to {FormatShape(shape)}: " +
                    $"the inferred dimension would be {size}, more than {int.MaxValue}.", nameof(shape));
            }

            if (size < 1)
            {
                throw new ArgumentException(
                    $"cannot reshape tensor {FormatShape(_shape)} ({Length} elements) to {FormatShape(shape)}: " +
                    $"the other dimensions hold {DescribeCount(dims.Where(d => d != -1).ToArray())} elements, which does not divide {Length}.",
                    nameof(shape));
            }

            dims[inferred] = (int)size;
        }
        else if (known != Length)
        {
            throw new ArgumentException(
                $"cannot reshape tensor {FormatShape(_shape)} ({Length} elements) to {FormatShape(shape)} ({DescribeCount(dims)} elements).",
                nameof(shape));
        }

        NativeBufferLease lease;
        try
        {
            lease = new NativeBufferLease(_buffer);
        }
        catch (ObjectDisposedException)
        {
            throw Disposed();
        }

        var view = new Tensor(_buffer, lease, dims, Length);
        if (Autograd.ShouldRecord(this))
        {
            view.SetGradFn(new ViewNode(Edge.To(this), Length));
        }

        return view;
    }

    // ------------------------------------------------------------------------------------------
    // Autograd
    // ------------------------------------------------------------------------------------------

    /// <summary>
    /// Whether gradients are computed for this tensor. Settable on leaves (tensors made by the user,
    /// parameters); a tensor computed by a recorded op (<see cref="GradFn"/> not null) always requires
    /// grad and setting it throws. Layer parameters start with true (freeze one with false).
    /// </summary>
    /// <exception cref="InvalidOperationException">Set on a non-leaf tensor.</exception>
    public bool RequiresGrad
    {
        get
        {
            ThrowIfDisposed();
            return _requiresGrad || _gradFn is not null;
        }

        set
        {
            ThrowIfDisposed();
            if (_gradFn is not null)
            {
                throw new InvalidOperationException(
                    $"RequiresGrad can only be set on a leaf tensor; {this} was computed by {_gradFn.Name} (use Detach() for a tensor outside the graph).");
            }

            _requiresGrad = value;
        }
    }

    /// <summary>
    /// The gradient accumulated by <see cref="Backward()"/> (same shape as this tensor), or null before
    /// the first backward pass reaching this leaf. It accumulates across passes until <see cref="ZeroGrad"/>.
    /// The tensor owns it (disposed with it). Setting replaces (and disposes) the current one; a new value
    /// must have this tensor's shape and is then owned by this tensor.
    /// </summary>
    /// <exception cref="ArgumentException">Set to a tensor of another shape, or to this tensor itself.</exception>
    public Tensor? Grad
    {
        get
        {
            ThrowIfDisposed();
            return _grad;
        }

        set
        {
            ThrowIfDisposed();
            if (ReferenceEquals(value, _grad))
            {
                return;
            }

            if (value is not null)
            {
                if (ReferenceEquals(value, this) || value.SharesStorageWith(this))
                {
                    throw new ArgumentException("a tensor cannot be its own gradient.", nameof(value));
                }

                if (!value.HasShape(_shape))
                {
                    throw new ArgumentException(
                        $"Grad has shape {FormatShape(value.Dims)}; expected {FormatShape(_shape)} (the tensor's shape).", nameof(value));
                }
            }

            Tensor? old = _grad;
            _grad = value;
            old?.Dispose();
        }
    }

    /// <summary>Whether this tensor is a leaf of the graph (not computed by a recorded op: <see cref="GradFn"/> is null).</summary>
    public bool IsLeaf
    {
        get
        {
            ThrowIfDisposed();
            return _gradFn is null;
        }
    }

    /// <summary>The node that recorded the op computing this tensor (PyTorch's <c>grad_fn</c>); null for leaves.</summary>
    public AutogradNode? GradFn
    {
        get
        {
            ThrowIfDisposed();
            return _gradFn;
        }
    }

    /// <summary>
    /// Computes the gradient of this scalar (one element) with respect to every leaf that requires grad
    /// and accumulates it into their <see cref="Grad"/>. The graph is freed afterwards (a second pass over
    /// it throws <see cref="InvalidOperationException"/>).
    /// </summary>
    /// <exception cref="ArgumentException">The tensor has more than one element (use <see cref="Backward(Tensor)"/>).</exception>
    /// <exception cref="InvalidOperationException">The tensor does not require grad, or its graph was already freed.</exception>
    public void Backward()
    {
        ThrowIfDisposed();
        if (_length != 1)
        {
            throw new ArgumentException(
                $"Backward() needs a scalar (one element); tensor {FormatShape(_shape)} has {_length}: pass the gradient with Backward(gradient).");
        }

        Engine.Run(this, null, retainGraph: false);
    }

    /// <summary>
    /// Computes the vector-Jacobian product of this tensor with <paramref name="gradient"/> (d(loss)/d(this))
    /// and accumulates it into the <see cref="Grad"/> of every leaf that requires grad; frees the graph.
    /// </summary>
    /// <param name="gradient">The gradient of this tensor, same shape.</param>
    /// <exception cref="ArgumentException">The gradient has another shape.</exception>
    /// <exception cref="InvalidOperationException">The tensor does not require grad, or its graph was already freed.</exception>
    public void Backward(Tensor gradient) => Backward(gradient, retainGraph: false);

    /// <summary>
    /// <see cref="Backward(Tensor)"/> (or, with a null gradient, <see cref="Backward()"/>), keeping the graph
    /// when <paramref name="retainGraph"/> is true so that another backward pass can run through it.
    /// </summary>
    /// <param name="gradient">The gradient of this tensor, same shape; null for a scalar (seed 1).</param>
    /// <param name="retainGraph">Keep what the graph saved (PyTorch's <c>retain_graph</c>).</param>
    /// <exception cref="ArgumentException">The gradient has another shape, or is null for a non-scalar.</exception>
    /// <exception cref="InvalidOperationException">The tensor does not require grad, or its graph was already freed.</exception>
    public void Backward(Tensor? gradient, bool retainGraph)
    {
        ThrowIfDisposed();
        if (gradient is null)
        {
            if (_length != 1)
            {
                throw new ArgumentException(
                    $"Backward needs a gradient for a non-scalar tensor {FormatShape(_shape)} ({_length} elements).", nameof(gradient));
            }
        }
        else if (!gradient.HasShape(_shape))
        {
            throw new ArgumentException(
                $"gradient has shape {FormatShape(gradient.Dims)}; expected {FormatShape(_shape)} (the tensor's shape).", nameof(gradient));
        }

        Engine.Run(this, gradient, retainGraph);
    }

    /// <summary>
    /// A view sharing this tensor's storage, outside the graph: a leaf with <see cref="RequiresGrad"/> false
    /// (PyTorch's <c>detach()</c>). Dispose it like any tensor.
    /// </summary>
    public Tensor Detach()
    {
        ThrowIfDisposed();
        NativeBufferLease lease;
        try
        {
            lease = new NativeBufferLease(_buffer);
        }
        catch (ObjectDisposedException)
        {
            throw Disposed();
        }

        return new Tensor(_buffer, lease, (int[])_shape.Clone(), _length);
    }

    /// <summary>Fills <see cref="Grad"/> with zeros (keeping its buffer for the next pass); nothing if there is none.</summary>
    public void ZeroGrad()
    {
        ThrowIfDisposed();
        if (_grad is { } grad && !grad.IsDisposed)
        {
            using TensorPin pin = grad.Pin();
            NativeMemory.Clear(pin.Pointer, (nuint)(grad._length * sizeof(float)));
            grad._buffer.Version++;
        }
    }

    /// <summary>The value of a one-element tensor (e.g. a loss).</summary>
    /// <exception cref="InvalidOperationException">The tensor has more than one element.</exception>
    public float Item()
    {
        Inference.Trace.Access(this, "Tensor.Item");
        using TensorPin pin = Pin();
        if (_length != 1)
        {
            throw new InvalidOperationException(
                $"Item() needs a tensor with one element; {FormatShape(_shape)} has {_length}.");
        }

        return pin.Pointer[0];
    }

    /// <summary>The recording node without the disposed check (for the engine).</summary>
    internal AutogradNode? GradFnInternal => _gradFn;

    /// <summary>The gradient without the disposed check (for the engine).</summary>
    internal Tensor? GradInternal => _grad;

    /// <summary>The gradient, created zero-filled if there is none yet (<paramref name="created"/>).</summary>
    internal Tensor GetOrCreateGrad(out bool created)
    {
        if (_grad is { } grad && !grad.IsDisposed)
        {
            created = false;
            return grad;
        }

        _grad = Allocate((int[])_shape.Clone(), _length);
        created = true;
        return _grad;
    }

    /// <summary>Sets the recording node (taking a reference on it), releasing the previous one.</summary>
    internal void SetGradFn(AutogradNode? node)
    {
        AutogradNode? old = _gradFn;
        node?.AddRef();
        _gradFn = node;
        old?.Release();
    }

    /// <summary>Records that the library wrote into this tensor's storage (in-place checks of saved storage).</summary>
    internal void MarkWritten() => _buffer.Version++;

    /// <summary>
    /// Throws if this tensor cannot receive an op's output while grad mode is on: a leaf that requires grad
    /// cannot be overwritten by a recorded op (its gradient would be meaningless).
    /// </summary>
    internal void CheckWritableUnderGrad()
    {
        if (_gradFn is null && _requiresGrad && Autograd.IsEnabled)
        {
            throw new InvalidOperationException(
                $"a leaf tensor that requires grad ({this}) is used as the output of an op; write into it inside Autograd.NoGrad(), or use another output.");
        }
    }

    /// <summary>
    /// Releases this tensor's hold on its storage (and its gradient, and its reference on the graph); the
    /// storage is freed when no tensor uses it. Calling it again does nothing.
    /// </summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _lifetime.Dispose();
            AutogradNode? node = _gradFn;
            _gradFn = null;
            node?.Release();
            Tensor? grad = _grad;
            _grad = null;
            grad?.Dispose();
        }
    }

    /// <summary>The shape, e.g. <c>Tensor([1, 3, 32, 32])</c>, marked if disposed or a view.</summary>
    public override string ToString()
    {
        string suffix = IsDisposed ? ", disposed" : IsView ? ", view" : string.Empty;
        return $"Tensor({FormatShape(_shape)}{suffix})";
    }

    /// <summary>Formats a shape as <c>[2, 3, 4]</c>.</summary>
    internal static string FormatShape(ReadOnlySpan<int> shape)
    {
        var text = new StringBuilder("[");
        for (int i = 0; i < shape.Length; i++)
        {
            text.Append(i == 0 ? string.Empty : ", ").Append(shape[i]);
        }

        return text.Append(']').ToString();
    }

    /// <summary>Maps a possibly negative dimension index into 0 ... rank - 1.</summary>
    internal static int NormalizeDim(int dim, int rank, string paramName)
    {
        int normalized = dim < 0 ? dim + rank : dim;
        if (normalized < 0 || normalized >= rank)
        {
            throw new ArgumentOutOfRangeException(
                paramName, dim, $"dimension {dim} is out of range for a tensor of rank {rank} (expected {-rank} ... {rank - 1}).");
        }

        return normalized;
    }

    /// <summary>Allocates a zero-filled tensor of a shape (validated and copied).</summary>
    internal static Tensor Create(int[] shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        int[] dims = (int[])shape.Clone();
        return Allocate(dims, CheckShape(dims, nameof(shape)));
    }

    /// <summary>Whether this tensor has exactly the given shape.</summary>
    internal bool HasShape(ReadOnlySpan<int> shape) => Dims.SequenceEqual(shape);

    /// <summary>Whether the two tensors use the same storage (the owner and its views).</summary>
    internal bool SharesStorageWith(Tensor other) => ReferenceEquals(_buffer, other._buffer);

    /// <summary>
    /// Takes a reference on the storage for the duration of a native call: the memory cannot be
    /// freed (by Dispose on another thread or by the finalizer) until the pin is disposed.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The tensor is disposed.</exception>
    internal TensorPin Pin()
    {
        ThrowIfDisposed();
        bool added = false;
        try
        {
            _buffer.DangerousAddRef(ref added);
        }
        catch (ObjectDisposedException)
        {
            throw Disposed();
        }

        return new TensorPin(_buffer, (float*)_buffer.DangerousGetHandle());
    }

    /// <summary><see cref="Pin"/> for an optional tensor: a null pointer for null.</summary>
    internal static TensorPin PinOrNull(Tensor? tensor) => tensor is null ? default : tensor.Pin();

    /// <summary>Throws <see cref="ObjectDisposedException"/> if the tensor is disposed.</summary>
    internal void ThrowIfDisposed()
    {
        if (Volatile.Read(ref _disposed) != 0)
        {
            throw Disposed();
        }
    }

    /// <summary>Validates a shape (rank &gt;= 1, dims &gt;= 1, at most <see cref="MaxLength"/> elements) and returns its element count.</summary>
    internal static long CheckShape(ReadOnlySpan<int> shape, string paramName)
    {
        if (shape.Length == 0)
        {
            throw new ArgumentException("a shape needs at least one dimension, got [].", paramName);
        }

        long length = 1;
        for (int i = 0; i < shape.Length; i++)
        {
            if (shape[i] < 1)
            {
                throw new ArgumentException(
                    $"shape {FormatShape(shape)} has dimension {i} = {shape[i]}; every dimension must be >= 1.", paramName);
            }

            length *= shape[i];
            if (length > MaxLength)
            {
                throw new ArgumentException(
                    $"shape {FormatShape(shape)} has {DescribeCount(shape)} elements, more than the limit of {MaxLength} (2^44).", paramName);
            }
        }

        return length;
    }

    private static string DescribeCount(ReadOnlySpan<int> shape)
    {
        System.Numerics.BigInteger count = 1;
        foreach (int dim in shape)
        {
            count *= dim;
        }

        return count.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    private static Tensor Allocate(int[] dims, long length)
    {
        NativeBuffer buffer = NativeBuffer.Allocate(length * sizeof(float));
        return new Tensor(buffer, buffer, dims, length);
    }

    private int SpanLength()
    {
        if (Length > int.MaxValue)
        {
            throw new InvalidOperationException(
                $"tensor {FormatShape(_shape)} has {Length} elements, too many for a span or array; use Reshape to work on it in parts.");
        }

        return (int)Length;
    }

    private ObjectDisposedException Disposed() =>
        new(nameof(Tensor), $"The tensor {FormatShape(_shape)} has been disposed.");
}

/// <summary>
/// A reference on a tensor's storage held across a native call (see <see cref="Tensor.Pin"/>);
/// <c>default</c> is the null pin of an absent optional tensor.
/// </summary>
internal readonly unsafe ref struct TensorPin
{
    private readonly NativeBuffer? _buffer;

    /// <summary>Creates a pin over a buffer the caller has already added a reference to.</summary>
    internal TensorPin(NativeBuffer buffer, float* pointer)
    {
        _buffer = buffer;
        Pointer = pointer;
    }

    /// <summary>The first element (null for the default pin).</summary>
    public float* Pointer { get; }

    /// <summary>Releases the reference.</summary>
    public void Dispose() => _buffer?.DangerousRelease();
}
