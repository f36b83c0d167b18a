using System.Numerics;
using System.Runtime.InteropServices;
using CnnNative.Interop;

namespace CnnNative.Optim;

/// <summary>Gradient clipping (PyTorch's <c>torch.nn.utils.clip_grad_norm_</c>).</summary>
public static unsafe class GradClip
{
    /// <summary>
    /// Computes the L2 norm of all gradients together (as if concatenated into one vector) and, when
    /// it exceeds <paramref name="maxNorm"/>, scales every gradient in place by
    /// <c>maxNorm / (totalNorm + 1e-6)</c>, exactly like PyTorch's <c>clip_grad_norm_</c> (norm type 2).
    /// Parameters whose <see cref="Tensor.Grad"/> is null are ignored.
    /// </summary>
    /// <param name="parameters">The parameters whose gradients are clipped (e.g. <c>model.Parameters()</c>).</param>
    /// <param name="maxNorm">The largest allowed total norm, &gt;= 0.</param>
    /// <returns>The total norm before clipping (0 when no parameter has a gradient); may be infinite or NaN
    /// if a gradient is (the gradients are then scaled by 0 or NaN, as in PyTorch).</returns>
    /// <exception cref="ArgumentNullException"><paramref name="parameters"/> or an element is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxNorm"/> is negative or NaN.</exception>
    /// <exception cref="ObjectDisposedException">A parameter or gradient is disposed.</exception>
    public static float ClipGradNorm(IEnumerable<Tensor> parameters, float maxNorm)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (!(maxNorm >= 0f))
        {
            throw new ArgumentOutOfRangeException(nameof(maxNorm), maxNorm, $"maxNorm must be >= 0, got {maxNorm}.");
        }

        // Collect first: the same gradient must not be scaled twice (a parameter listed twice).
        var grads = new List<Tensor>();
        var seen = new HashSet<object>(ReferenceEqualityComparer.Instance);
        foreach (Tensor? parameter in parameters)
        {
            if (parameter is null)
            {
                throw new ArgumentNullException(nameof(parameters), $"parameter {grads.Count} is null.");
            }

            Tensor? grad = parameter.Grad;
            if (grad is not null && seen.Add(grad.Storage))
            {
                grads.Add(grad);
            }
        }

        if (grads.Count == 0)
        {
            return 0f;
        }

        double sumSquares = 0;
        foreach (Tensor grad in grads)
        {
            double sum;
            using TensorPin pin = grad.Pin();
            Native.Check(NativeMethods.cnn_sum_squares(Native.ContextPointer, grad.Length, pin.Pointer, &sum));
            sumSquares += sum;
        }

        // PyTorch computes the norm as a float32 tensor and the coefficient in float32.
        float totalNorm = (float)Math.Sqrt(sumSquares);
        float clipCoef = maxNorm / (totalNorm + 1e-6f);
        if (clipCoef < 1f || float.IsNaN(clipCoef))
        {
            foreach (Tensor grad in grads)
            {
                using TensorPin pin = grad.Pin();
                Scale(pin.Pointer, grad.Length, clipCoef);
                grad.MarkWritten();
            }
        }

        return totalNorm;
    }

    /// <summary>x[i] *= factor for count elements (in chunks a span can address).</summary>
    private static void Scale(float* x, long count, float factor)
    {
        const int Chunk = 1 << 30;
        for (long offset = 0; offset < count; offset += Chunk)
        {
            var span = new Span<float>(x + offset, (int)Math.Min(Chunk, count - offset));
            Span<Vector<float>> vectors = MemoryMarshal.Cast<float, Vector<float>>(span);
            var f = new Vector<float>(factor);
            for (int i = 0; i < vectors.Length; i++)
            {
                vectors[i] *= f;
            }

            for (int i = vectors.Length * Vector<float>.Count; i < span.Length; i++)
            {
                span[i] *= factor;
            }
        }
    }
}
