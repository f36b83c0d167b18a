using CnnNative.Interop;

namespace CnnNative;

// Inference-only ops the ONNX importer needs beyond the layers: add / multiply with numpy (ONNX multidirectional)
// broadcasting, and Gemm's transposed-A product.
public static unsafe partial class Functional
{
    /// <summary>
    /// The shape of <c>a (op) b</c> under numpy / ONNX multidirectional broadcasting: the shapes are aligned at
    /// their last dimension, and along each dimension the sizes are equal or one of them is 1 (or absent).
    /// </summary>
    /// <exception cref="ArgumentException">The shapes are not broadcast-compatible (the message names both), or the rank exceeds 8.</exception>
    internal static int[] BroadcastShape(ReadOnlySpan<int> a, ReadOnlySpan<int> b)
    {
        int rank = Math.Max(a.Length, b.Length);
        if (rank > MaxBroadcastRank)
        {
            throw new ArgumentException($"broadcasting {Tensor.FormatShape(a)} with {Tensor.FormatShape(b)}: rank {rank} exceeds {MaxBroadcastRank}.");
        }

        var shape = new int[rank];
        for (int i = 1; i <= rank; i++)
        {
            int x = i <= a.Length ? a[^i] : 1, y = i <= b.Length ? b[^i] : 1;
            if (x != y && x != 1 && y != 1)
            {
                throw new ArgumentException(
                    $"shapes {Tensor.FormatShape(a)} and {Tensor.FormatShape(b)} cannot be broadcast together " +
                    $"(dimension {rank - i}: {x} vs {y}; sizes must be equal or one of them 1).");
            }

            shape[rank - i] = Math.Max(x, y);
        }

        return shape;
    }

    /// <summary>
    /// <c>a (op) b</c> for <paramref name="op"/> Add, Mul, Sub, Div or Pow (powf) with numpy / ONNX broadcasting of any two compatible shapes up
    /// to rank 8 (<see cref="BroadcastShape"/>), by the native <c>cnn_broadcast_binary_forward</c>; one IEEE operation per element.
    /// Inference only (no autograd); an <see cref="Inference.InferenceSession"/> compiles it.
    /// </summary>
    /// <returns>A new tensor of the broadcast shape.</returns>
    /// <exception cref="ArgumentException">The shapes are not broadcast-compatible.</exception>
    /// <exception cref="NotSupportedException">With grad mode on, an operand requires grad.</exception>
    internal static Tensor Broadcast(CnnBinaryOp op, Tensor a, Tensor b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        int[] shape = BroadcastShape(a.Dims, b.Dims);
        if (Autograd.ShouldRecord(a, b))
        {
            throw new NotSupportedException("broadcasting add/mul has no gradient (it serves ONNX inference; detach the operands or use NoGrad).");
        }

        long* sa = stackalloc long[shape.Length];
        long* sb = stackalloc long[shape.Length];
        for (int i = 1; i <= shape.Length; i++)
        {
            sa[shape.Length - i] = i <= a.Rank ? a.Dims[^i] : 1;
            sb[shape.Length - i] = i <= b.Rank ? b.Dims[^i] : 1;
        }

        Tensor output = Tensor.Create(shape);
        try
        {
            using (TensorPin pa = a.Pin())
            using (TensorPin pb = b.Pin())
            using (TensorPin po = output.Pin())
            {
                Native.Check(NativeMethods.cnn_broadcast_binary_forward(Native.ContextPointer, op, shape.Length, sa, pa.Pointer, sb, pb.Pointer, po.Pointer));
            }

            Inference.Trace.Broadcast(op, a, b, output);
            output.MarkWritten();
            return output;
        }
        catch
        {
            output.Dispose();
            throw;
        }
    }

    /// <summary>
    /// <c>aᵀ b</c> for <paramref name="a"/> [K, M] and <paramref name="b"/> [K, N] (ONNX Gemm with transA = 1): the
    /// weight-gradient GEMM of <c>cnn_linear_backward_weights</c>, which sums over the shared leading dimension.
    /// Inference only, like <see cref="Broadcast"/>.
    /// </summary>
    /// <returns>A new [M, N] tensor.</returns>
    /// <exception cref="ArgumentException">The operands are not 2-D or their first dimensions differ.</exception>
    internal static Tensor MatMulTransposedA(Tensor a, Tensor b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (a.Rank != 2 || b.Rank != 2 || a.Dims[0] != b.Dims[0])
        {
            throw new ArgumentException(
                $"aᵀ b needs a [K, M] and b [K, N]; got a {Tensor.FormatShape(a.Dims)} and b {Tensor.FormatShape(b.Dims)}.");
        }

        if (Autograd.ShouldRecord(a, b))
        {
            throw new NotSupportedException("the transposed-A product has no gradient (it serves ONNX inference; detach the operands or use NoGrad).");
        }

        Inference.Trace.Unsupported("Functional.MatMulTransposedA");
        int k = a.Dims[0], m = a.Dims[1], n = b.Dims[1];
        Tensor output = Tensor.Create([m, n]);
        try
        {
            using (TensorPin pa = a.Pin())
            using (TensorPin pb = b.Pin())
            using (TensorPin po = output.Pin())
            {
                // grad_weight[o, i] = sum_batch grad_output[batch, o] * input[batch, i]: o = m, i = n, batch = k.
                Native.Check(NativeMethods.cnn_linear_backward_weights(Native.ContextPointer, k, n, m, pb.Pointer, pa.Pointer, 0, po.Pointer, null));
            }

            output.MarkWritten();
            return output;
        }
        catch
        {
            output.Dispose();
            throw;
        }
    }

    /// <summary>CNN_BROADCAST_MAX_RANK of the native header.</summary>
    private const int MaxBroadcastRank = Inference.BroadcastShapes.MaxRank;
}
