using System.Diagnostics;
using System.Runtime.InteropServices;
using CnnNative.Interop;

namespace CnnNative;

/// <summary>
/// Runs a backward pass: topological order from the root (iterative DFS), one gradient buffer per node
/// (written by its consumers, the first with accumulate = 0, the next ones with accumulate = 1, and freed
/// as soon as the node itself has run), leaf gradients accumulated into <see cref="Tensor.Grad"/>.
/// </summary>
internal static unsafe class Engine
{
    [ThreadStatic]
    private static BackwardContext? t_context;

    private static int s_mark;

    /// <summary>Backward from <paramref name="root"/> with the seed <paramref name="gradient"/> (null: ones).</summary>
    public static void Run(Tensor root, Tensor? gradient, bool retainGraph)
    {
        AutogradNode? rootNode = root.GradFnInternal;
        if (rootNode is null)
        {
            if (!root.RequiresGrad)
            {
                throw new InvalidOperationException(
                    $"Backward: tensor {Tensor.FormatShape(root.Dims)} does not require grad and has no GradFn " +
                    "(set RequiresGrad = true on a leaf, or compute it with grad mode on from tensors that require grad).");
            }

            AccumulateLeaf(root, gradient);
            return;
        }

        BackwardContext context = t_context ??= new BackwardContext();
        if (context.Running)
        {
            throw new InvalidOperationException("Backward: a backward pass is already running on this thread.");
        }

        List<AutogradNode> order = context.Order;
        order.Clear();
        TopologicalOrder(rootNode, order, context.Stack);

        context.Running = true;
        context.RetainGraph = retainGraph;
        try
        {
            // Seed.
            NativeBuffer seed = context.Rent(rootNode.OutputLength);
            float* s = (float*)seed.DangerousGetHandle();
            if (gradient is null)
            {
                for (long i = 0; i < rootNode.OutputLength; i++)
                {
                    s[i] = 1f;
                }
            }
            else
            {
                using TensorPin pg = gradient.Pin();
                Buffer.MemoryCopy(pg.Pointer, s, rootNode.OutputLength * sizeof(float), rootNode.OutputLength * sizeof(float));
            }

            rootNode.GradOutput = seed;
            BackwardProfile? profile = BackwardProfile.Active;

            for (int i = 0; i < order.Count; i++)
            {
                AutogradNode node = order[i];
                NativeBuffer? grad = node.GradOutput;
                if (grad is not null)
                {
                    context.StoleCurrent = false;
                    if (profile is null)
                    {
                        node.Backward(context, grad);
                    }
                    else
                    {
                        long start = Stopwatch.GetTimestamp();
                        node.Backward(context, grad);
                        profile.Add(node.Name, Stopwatch.GetTimestamp() - start);
                    }
                    node.GradOutput = null;
                    if (!context.StoleCurrent)
                    {
                        context.Return(grad);
                    }
                }

                if (!retainGraph)
                {
                    node.Free();
                }
            }
        }
        finally
        {
            foreach (AutogradNode node in order)
            {
                if (node.GradOutput is { } leftover)
                {
                    node.GradOutput = null;
                    leftover.Dispose();
                }

                if (!retainGraph)
                {
                    node.Free();
                    node.DropEdges();
                }
            }

            order.Clear();
            context.Running = false;
            context.Trim();
        }
    }

    private static void TopologicalOrder(AutogradNode root, List<AutogradNode> order, Stack<(AutogradNode Node, int Next)> stack)
    {
        int mark = Interlocked.Increment(ref s_mark);
        stack.Clear();
        CheckNotFreed(root);
        root.Mark = mark;
        stack.Push((root, 0));
        var postorder = order;
        while (stack.Count > 0)
        {
            (AutogradNode node, int next) = stack.Pop();
            Edge[] edges = node.Edges;
            bool descended = false;
            while (next < edges.Length)
            {
                AutogradNode? child = edges[next].Node;
                next++;
                if (child is null)
                {
                    continue;
                }

                if (child.Mark != mark)
                {
                    CheckNotFreed(child);
                    child.Mark = mark;
                    stack.Push((node, next));
                    stack.Push((child, 0));
                    descended = true;
                    break;
                }
            }

            if (!descended)
            {
                postorder.Add(node);
            }
        }

        postorder.Reverse();
    }

    private static void CheckNotFreed(AutogradNode node)
    {
        if (node.IsFreed)
        {
            throw new InvalidOperationException(
                $"Backward: graph already freed ({node.Name} ran in an earlier backward pass and released what it saved); " +
                "pass retainGraph: true to the first Backward to run backward through the same graph twice.");
        }
    }

    private static void AccumulateLeaf(Tensor leaf, Tensor? gradient)
    {
        Tensor grad = leaf.GetOrCreateGrad(out _);
        float* g = grad.Pointer;
        if (gradient is null)
        {
            for (long i = 0; i < grad.Length; i++)
            {
                g[i] += 1f;
            }
        }
        else
        {
            using TensorPin pg = gradient.Pin();
            for (long i = 0; i < grad.Length; i++)
            {
                g[i] += pg.Pointer[i];
            }
        }
    }
}

/// <summary>
/// What a node's backward uses to deliver gradients: the destination of each input edge (the producer's
/// gradient buffer or the leaf's <see cref="Tensor.Grad"/>) with the accumulate flag to use, and
/// temporary buffers reused within the pass.
/// </summary>
internal sealed unsafe class BackwardContext
{
    private readonly List<NativeBuffer> _pool = [];

    internal readonly List<AutogradNode> Order = [];
    internal readonly Stack<(AutogradNode Node, int Next)> Stack = new();
    internal bool Running;
    internal bool RetainGraph;
    internal bool StoleCurrent;

    /// <summary>A buffer of at least <paramref name="count"/> floats (contents undefined).</summary>
    public NativeBuffer Rent(long count)
    {
        long bytes = count * sizeof(float);
        for (int i = _pool.Count - 1; i >= 0; i--)
        {
            if (_pool[i].ByteLength == bytes)
            {
                NativeBuffer found = _pool[i];
                _pool[i] = _pool[^1];
                _pool.RemoveAt(_pool.Count - 1);
                return found;
            }
        }

        return NativeBuffer.Allocate(bytes);
    }

    /// <summary>Gives a rented buffer back for reuse within this pass.</summary>
    public void Return(NativeBuffer buffer) => _pool.Add(buffer);

    /// <summary>Frees the pooled buffers (end of the pass).</summary>
    public void Trim()
    {
        foreach (NativeBuffer buffer in _pool)
        {
            buffer.Dispose();
        }

        _pool.Clear();
    }

    /// <summary>Whether the edge's destination holds no gradient yet (so a kernel may overwrite it).</summary>
    public static bool IsFresh(in Edge edge)
    {
        if (edge.Node is { } node)
        {
            return node.GradOutput is null;
        }

        return edge.Leaf is not { } leaf || leaf.GradInternal is null;
    }

    /// <summary>
    /// The destination of an edge (null if the edge needs no gradient, or its leaf was disposed).
    /// A fresh destination's contents are undefined unless <paramref name="zeroIfFresh"/>.
    /// </summary>
    public float* Target(in Edge edge, bool zeroIfFresh, out bool fresh)
    {
        if (edge.Node is { } node)
        {
            NativeBuffer? buffer = node.GradOutput;
            fresh = buffer is null;
            if (buffer is null)
            {
                buffer = Rent(node.OutputLength);
                node.GradOutput = buffer;
                if (zeroIfFresh)
                {
                    NativeMemory.Clear((void*)buffer.DangerousGetHandle(), (nuint)buffer.ByteLength);
                }
            }

            return (float*)buffer.DangerousGetHandle();
        }

        if (edge.Leaf is { } leaf && !leaf.IsDisposed)
        {
            Tensor grad = leaf.GetOrCreateGrad(out fresh); // a new Grad is zero-filled
            return grad.Pointer;
        }

        fresh = false;
        return null;
    }

    /// <summary>The destination of an edge and the accumulate flag for a kernel writing only it.</summary>
    public float* Target(in Edge edge, out int accumulate)
    {
        float* p = Target(edge, zeroIfFresh: false, out bool fresh);
        accumulate = fresh ? 0 : 1;
        return p;
    }

    /// <summary>
    /// Adds <paramref name="source"/> (count floats) to an edge's gradient: a copy for a fresh destination;
    /// with <paramref name="canSteal"/> and a fresh producer buffer, the source buffer itself becomes the
    /// producer's gradient (no copy; the caller must then not reuse it). Returns whether it was stolen.
    /// </summary>
    public bool Pass(in Edge edge, NativeBuffer source, long count, bool canSteal)
    {
        if (!edge.Needed)
        {
            return false;
        }

        if (canSteal && edge.Node is { } node && node.GradOutput is null && source.ByteLength == node.OutputLength * sizeof(float))
        {
            node.GradOutput = source;
            return true;
        }

        Accumulate(edge, (float*)source.DangerousGetHandle(), count, 1f);
        return false;
    }

    /// <summary>Adds <paramref name="alpha"/> * source (count floats) to an edge's gradient.</summary>
    public void Accumulate(in Edge edge, float* source, long count, float alpha)
    {
        float* target = Target(edge, zeroIfFresh: false, out bool fresh);
        if (target is null)
        {
            return;
        }

        if (fresh && alpha == 1f)
        {
            Buffer.MemoryCopy(source, target, count * sizeof(float), count * sizeof(float));
            return;
        }

        if (fresh)
        {
            NativeMemory.Clear(target, (nuint)(count * sizeof(float)));
        }

        Native.Check(NativeMethods.cnn_axpy(Native.ContextPointer, count, alpha, source, target));
    }
}
