using CnnNative.Interop;

namespace CnnNative;

// Shape and element-wise helpers the model zoo and the ONNX importer need: ReLU6, clamp,
// concatenation / narrowing, adaptive average pooling, per-channel scale/shift and Conv1d.
public static unsafe partial class Functional
{
    // ------------------------------------------------------------------------------------------
    // ReLU6 and clamp
    // ------------------------------------------------------------------------------------------

    /// <summary><c>min(max(x, 0), 6)</c> element-wise (PyTorch's <c>relu6</c>; NaN stays NaN).</summary>
    /// <param name="input">Any shape.</param>
    /// <returns>A new tensor of the input's shape.</returns>
    public static Tensor Relu6(Tensor input) => Activate(input, Activation.Relu6);

    /// <summary><c>min(max(x, 0), 6)</c> element-wise into a caller-owned output.</summary>
    /// <param name="input">Any shape.</param>
    /// <param name="output">The input's shape; may be <paramref name="input"/> (in place).</param>
    /// <returns><paramref name="output"/>.</returns>
    public static Tensor Relu6(Tensor input, Tensor output) => Activate(input, Activation.Relu6, output);

    /// <summary>
    /// <c>torch.clamp(input, min, max)</c> (ONNX Clip, <c>hardtanh</c>): <c>min(max(x, min), max)</c> element-wise;
    /// NaN stays NaN. The gradient is torch's clamp gradient: passed where <c>min &lt;= x &lt;= max</c>, else 0.
    /// </summary>
    /// <param name="input">Any shape.</param>
    /// <param name="min">Lower bound (may be -infinity, not NaN).</param>
    /// <param name="max">Upper bound (may be +infinity, not NaN), &gt;= <paramref name="min"/>.</param>
    /// <returns>A new tensor of the input's shape.</returns>
    /// <exception cref="ArgumentException">A bound is NaN or <paramref name="min"/> &gt; <paramref name="max"/>.</exception>
    public static Tensor Clamp(Tensor input, float min, float max)
    {
        ArgumentNullException.ThrowIfNull(input);
        CheckClampBounds(min, max);
        Tensor output = Tensor.Create(input.Shape);
        try
        {
            return Clamp(input, min, max, output);
        }
        catch
        {
            output.Dispose();
            throw;
        }
    }

    /// <summary><c>torch.clamp(input, min, max)</c> into a caller-owned output.</summary>
    /// <param name="input">Any shape.</param>
    /// <param name="min">Lower bound (may be -infinity, not NaN).</param>
    /// <param name="max">Upper bound (may be +infinity, not NaN), &gt;= <paramref name="min"/>.</param>
    /// <param name="output">The input's shape; may be <paramref name="input"/> (in place, without autograd).</param>
    /// <returns><paramref name="output"/>.</returns>
    /// <exception cref="ArgumentException">A bound is invalid or the output has another shape.</exception>
    public static Tensor Clamp(Tensor input, float min, float max, Tensor output)
    {
        ArgumentNullException.ThrowIfNull(input);
        CheckClampBounds(min, max);
        CheckOutput(output, input.Dims);
        bool record = BeginWrite(output, Autograd.ShouldRecord(input));
        int inputVersion = input.Storage.Version;
        using (TensorPin pi = input.Pin())
        using (TensorPin po = output.Pin())
        {
            Native.Check(NativeMethods.cnn_clip_forward(Native.ContextPointer, input.Length, pi.Pointer, min, max, po.Pointer));
        }

        Inference.Trace.Clamp(min, max, input, output);
        output.MarkWritten();
        output.SetGradFn(record ? new ClampNode(min, max, input, inputVersion, output) : null);
        return output;
    }

    private static void CheckClampBounds(float min, float max)
    {
        if (float.IsNaN(min) || float.IsNaN(max) || min > max)
        {
            throw new ArgumentException($"clamp bounds min = {min} and max = {max} must not be NaN and need min <= max.", nameof(min));
        }
    }

    // ------------------------------------------------------------------------------------------
    // Concatenation and narrowing
    // ------------------------------------------------------------------------------------------

    /// <summary>
    /// <c>torch.cat(inputs, dim)</c>: the inputs joined along <paramref name="dim"/>. All inputs have the same rank
    /// and the same sizes except along <paramref name="dim"/>. The gradient flows to every input that requires it.
    /// </summary>
    /// <param name="inputs">At least one tensor.</param>
    /// <param name="dim">The dimension; negative counts from the end.</param>
    /// <returns>A new tensor whose size along <paramref name="dim"/> is the sum of the inputs'.</returns>
    /// <exception cref="ArgumentException">No inputs, or the shapes do not match.</exception>
    public static Tensor Concat(IReadOnlyList<Tensor> inputs, int dim)
    {
        int[] shape = ConcatShape(inputs, dim, out _);
        Tensor output = Tensor.Create(shape);
        try
        {
            return Concat(inputs, dim, output);
        }
        catch
        {
            output.Dispose();
            throw;
        }
    }

    /// <summary><c>torch.cat(inputs, dim)</c> into a caller-owned output.</summary>
    /// <param name="inputs">At least one tensor.</param>
    /// <param name="dim">The dimension; negative counts from the end.</param>
    /// <param name="output">The concatenated shape, not sharing storage with any input.</param>
    /// <returns><paramref name="output"/>.</returns>
    /// <exception cref="ArgumentException">No inputs, the shapes do not match, or the output has another shape.</exception>
    public static Tensor Concat(IReadOnlyList<Tensor> inputs, int dim, Tensor output)
    {
        int[] shape = ConcatShape(inputs, dim, out int d);
        CheckOutput(output, shape);
        bool anyGrad = false;
        for (int i = 0; i < inputs.Count; i++)
        {
            CheckNotAliased(output, inputs[i], $"inputs[{i}]");
            anyGrad |= inputs[i].RequiresGrad;
        }

        bool record = BeginWrite(output, Autograd.IsEnabled && anyGrad);
        (long outer, long inner) = OuterInner(shape, d);
        long dstStride = shape[d] * inner;
        long offset = 0;
        var blocks = new long[inputs.Count];
        using (TensorPin po = output.Pin())
        {
            for (int i = 0; i < inputs.Count; i++)
            {
                long block = inputs[i].Dims[d] * inner;
                using TensorPin pi = inputs[i].Pin();
                Native.Check(NativeMethods.cnn_copy_blocks(
                    Native.ContextPointer, outer, block, pi.Pointer, block, po.Pointer + offset, dstStride, 0));
                blocks[i] = block;
                offset += block;
            }
        }

        Inference.Trace.Concat(inputs, d, output);
        output.MarkWritten();
        output.SetGradFn(record ? new ConcatNode(inputs, outer, blocks, dstStride, output) : null);
        return output;
    }

    /// <summary>
    /// A copy of <c>torch.narrow(input, dim, start, length)</c>: elements <paramref name="start"/> ...
    /// <paramref name="start"/> + <paramref name="length"/> - 1 along <paramref name="dim"/>, with autograd.
    /// </summary>
    /// <param name="input">Any shape.</param>
    /// <param name="dim">The dimension; negative counts from the end.</param>
    /// <param name="start">First index, 0 ... size - 1 (negative counts from the end, as torch).</param>
    /// <param name="length">Number of elements, 1 ... size - start.</param>
    /// <returns>A new tensor (own storage).</returns>
    /// <exception cref="ArgumentException">The range is outside the dimension.</exception>
    public static Tensor Narrow(Tensor input, int dim, int start, int length)
    {
        ArgumentNullException.ThrowIfNull(input);
        ReadOnlySpan<int> x = input.Dims;
        int d = Tensor.NormalizeDim(dim, x.Length, nameof(dim));
        int size = x[d];
        int s = start < 0 ? start + size : start;
        if (s < 0 || s >= size)
        {
            throw new ArgumentOutOfRangeException(nameof(start), start,
                $"start must be in [{-size}, {size - 1}] for dimension {dim} of size {size} (input {Tensor.FormatShape(x)}).");
        }

        if (length < 1 || length > size - s)
        {
            throw new ArgumentOutOfRangeException(nameof(length), length,
                $"length must be in [1, {size - s}] for start {s} in dimension {dim} of size {size} (input {Tensor.FormatShape(x)}).");
        }

        int[] shape = x.ToArray();
        shape[d] = length;
        (long outer, long inner) = OuterInner(shape, d);
        long srcStride = size * inner, block = length * inner, offset = s * inner;
        bool record = Autograd.ShouldRecord(input);
        Tensor output = Tensor.Create(shape);
        try
        {
            using (TensorPin pi = input.Pin())
            using (TensorPin po = output.Pin())
            {
                Native.Check(NativeMethods.cnn_copy_blocks(
                    Native.ContextPointer, outer, block, pi.Pointer + offset, srcStride, po.Pointer, block, 0));
            }
        }
        catch
        {
            output.Dispose();
            throw;
        }

        Inference.Trace.Narrow(outer, block, srcStride, offset, input, output);
        output.MarkWritten();
        output.SetGradFn(record ? new NarrowNode(input, outer, block, srcStride, offset, output) : null);
        return output;
    }

    private static int[] ConcatShape(IReadOnlyList<Tensor> inputs, int dim, out int d)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        if (inputs.Count == 0)
        {
            throw new ArgumentException("Concat needs at least one input tensor.", nameof(inputs));
        }

        for (int i = 0; i < inputs.Count; i++)
        {
            if (inputs[i] is null)
            {
                throw new ArgumentNullException(nameof(inputs), $"inputs[{i}] is null.");
            }
        }

        ReadOnlySpan<int> first = inputs[0].Dims;
        d = Tensor.NormalizeDim(dim, first.Length, nameof(dim));
        int[] shape = first.ToArray();
        long total = first[d];
        for (int i = 1; i < inputs.Count; i++)
        {
            ReadOnlySpan<int> x = inputs[i].Dims;
            bool ok = x.Length == first.Length;
            for (int k = 0; ok && k < x.Length; k++)
            {
                ok = k == d || x[k] == first[k];
            }

            if (!ok)
            {
                throw new ArgumentException(
                    $"inputs[{i}] has shape {Tensor.FormatShape(x)}; expected the shape of inputs[0] {Tensor.FormatShape(first)} " +
                    $"except along dimension {d}.", nameof(inputs));
            }

            total += x[d];
        }

        if (total > int.MaxValue)
        {
            throw new ArgumentException($"the concatenated size along dimension {d} is {total}, more than {int.MaxValue}.", nameof(inputs));
        }

        shape[d] = (int)total;
        Tensor.CheckShape(shape, nameof(inputs));
        return shape;
    }

    /// <summary>Products of the dimensions before and after <paramref name="d"/>.</summary>
    private static (long Outer, long Inner) OuterInner(ReadOnlySpan<int> shape, int d)
    {
        long outer = 1, inner = 1;
        for (int i = 0; i < d; i++)
        {
            outer *= shape[i];
        }

        for (int i = d + 1; i < shape.Length; i++)
        {
            inner *= shape[i];
        }

        return (outer, inner);
    }

    // ------------------------------------------------------------------------------------------
    // Adaptive average pooling
    // ------------------------------------------------------------------------------------------

    /// <summary>
    /// PyTorch's <c>adaptive_avg_pool2d(input, outputSize)</c>: output cell (oh, ow) averages input rows
    /// floor(oh*H/OH) ... ceil((oh+1)*H/OH) - 1 (and columns likewise). Output sizes may exceed the input's.
    /// </summary>
    /// <param name="input">[N, C, H, W].</param>
    /// <param name="outputSize">(OH, OW), each &gt;= 1.</param>
    /// <returns>A new [N, C, OH, OW] tensor.</returns>
    /// <exception cref="ArgumentException">The input is not 4-D or a size is below 1.</exception>
    public static Tensor AdaptiveAvgPool2d(Tensor input, (int H, int W) outputSize)
    {
        ReadOnlySpan<int> s = CheckRank(input, 4, "[N, C, H, W]", nameof(input));
        CheckAdaptiveSize(outputSize);
        Tensor output = Tensor.Create([s[0], s[1], outputSize.H, outputSize.W]);
        try
        {
            return AdaptiveAvgPool2d(input, outputSize, output);
        }
        catch
        {
            output.Dispose();
            throw;
        }
    }

    /// <summary>Adaptive average pooling into a caller-owned output.</summary>
    /// <param name="input">[N, C, H, W].</param>
    /// <param name="outputSize">(OH, OW), each &gt;= 1.</param>
    /// <param name="output">[N, C, OH, OW], not sharing storage with the input.</param>
    /// <returns><paramref name="output"/>.</returns>
    /// <exception cref="ArgumentException">A shape is invalid.</exception>
    public static Tensor AdaptiveAvgPool2d(Tensor input, (int H, int W) outputSize, Tensor output)
    {
        ReadOnlySpan<int> s = CheckRank(input, 4, "[N, C, H, W]", nameof(input));
        CheckAdaptiveSize(outputSize);
        CheckOutput(output, [s[0], s[1], outputSize.H, outputSize.W]);
        CheckNotAliased(output, input, nameof(input));
        bool record = BeginWrite(output, Autograd.ShouldRecord(input));
        using (TensorPin pi = input.Pin())
        using (TensorPin po = output.Pin())
        {
            Native.Check(NativeMethods.cnn_adaptive_avg_pool2d_forward(
                Native.ContextPointer, s[0], s[1], s[2], s[3], outputSize.H, outputSize.W, pi.Pointer, po.Pointer));
        }

        Inference.Trace.AdaptiveAvgPool2d(input, output);
        output.MarkWritten();
        output.SetGradFn(record ? new AdaptiveAvgPool2dNode(s[0], s[1], s[2], s[3], outputSize.H, outputSize.W, input, output) : null);
        return output;
    }

    private static void CheckAdaptiveSize((int H, int W) outputSize)
    {
        if (outputSize.H < 1 || outputSize.W < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(outputSize), outputSize, "adaptive pooling output sizes must be >= 1.");
        }
    }

    // ------------------------------------------------------------------------------------------
    // Per-channel scale and shift
    // ------------------------------------------------------------------------------------------

    /// <summary>
    /// <c>input * scale + shift</c> with <paramref name="scale"/> and <paramref name="shift"/> broadcast along
    /// <paramref name="dim"/> (ONNX Mul / Add with a per-channel or scalar constant): a multiply, then an add.
    /// Autograd flows to the input only (gradient <c>g * scale</c>).
    /// </summary>
    /// <param name="input">Any shape.</param>
    /// <param name="dim">The channel dimension; negative counts from the end.</param>
    /// <param name="scale">1-D of length <c>input.Size(dim)</c> or 1 (a scalar), or null for 1.</param>
    /// <param name="shift">1-D of length <c>input.Size(dim)</c> or 1 (a scalar), or null for 0.</param>
    /// <returns>A new tensor of the input's shape.</returns>
    /// <exception cref="ArgumentException">A shape is invalid.</exception>
    /// <exception cref="NotSupportedException">With grad mode on, <paramref name="scale"/> or <paramref name="shift"/> requires grad.</exception>
    public static Tensor ScaleShift(Tensor input, int dim, Tensor? scale, Tensor? shift)
    {
        ArgumentNullException.ThrowIfNull(input);
        Tensor output = Tensor.Create(input.Shape);
        try
        {
            return ScaleShift(input, dim, scale, shift, output);
        }
        catch
        {
            output.Dispose();
            throw;
        }
    }

    /// <summary><c>input * scale + shift</c> broadcast along <paramref name="dim"/> into a caller-owned output.</summary>
    /// <param name="input">Any shape.</param>
    /// <param name="dim">The channel dimension; negative counts from the end.</param>
    /// <param name="scale">1-D of length <c>input.Size(dim)</c> or 1, or null for 1.</param>
    /// <param name="shift">1-D of length <c>input.Size(dim)</c> or 1, or null for 0.</param>
    /// <param name="output">The input's shape; may be <paramref name="input"/> (in place); not sharing storage with scale or shift.</param>
    /// <returns><paramref name="output"/>.</returns>
    /// <exception cref="ArgumentException">A shape is invalid.</exception>
    /// <exception cref="NotSupportedException">With grad mode on, <paramref name="scale"/> or <paramref name="shift"/> requires grad.</exception>
    public static Tensor ScaleShift(Tensor input, int dim, Tensor? scale, Tensor? shift, Tensor output)
    {
        ArgumentNullException.ThrowIfNull(input);
        ReadOnlySpan<int> x = input.Dims;
        int d = Tensor.NormalizeDim(dim, x.Length, nameof(dim));
        int channels = x[d];
        CheckBroadcastVector(scale, channels, nameof(scale));
        CheckBroadcastVector(shift, channels, nameof(shift));
        CheckOutput(output, x);
        if (Autograd.IsEnabled && ((scale?.RequiresGrad ?? false) || (shift?.RequiresGrad ?? false)))
        {
            throw new NotSupportedException(
                "ScaleShift has no gradient for scale or shift: they are constants (detach them or set RequiresGrad = false).");
        }

        if (scale is not null)
        {
            CheckNotAliased(output, scale, nameof(scale));
        }

        if (shift is not null)
        {
            CheckNotAliased(output, shift, nameof(shift));
        }

        // A per-channel vector needs the [outer, channels, inner] view; scalars alone treat the tensor as one run.
        bool perChannel = (scale?.Length ?? 1) != 1 || (shift?.Length ?? 1) != 1;
        (long outer, long inner) = OuterInner(x, d);
        long c = perChannel ? channels : 1;
        if (!perChannel)
        {
            (outer, inner) = (1, input.Length);
        }

        float[]? s = ChannelValues(scale, c);
        float[]? b = ChannelValues(shift, c);
        bool record = BeginWrite(output, Autograd.ShouldRecord(input));
        using (TensorPin pi = input.Pin())
        using (TensorPin po = output.Pin())
        {
            fixed (float* ps = s)
            fixed (float* pb = b)
            {
                Native.Check(NativeMethods.cnn_scale_shift_forward(Native.ContextPointer, outer, c, inner, pi.Pointer, ps, pb, po.Pointer));
            }
        }

        Inference.Trace.ScaleShift(outer, c, inner, s, b, scale, shift, input, output);
        output.MarkWritten();
        output.SetGradFn(record ? new ScaleShiftNode(outer, c, inner, s, input, output) : null);
        return output;
    }

    private static void CheckBroadcastVector(Tensor? vector, int channels, string paramName)
    {
        if (vector is not null && !vector.HasShape([channels]) && !vector.HasShape([1]))
        {
            throw new ArgumentException(
                $"{paramName} has shape {Tensor.FormatShape(vector.Dims)}; expected [{channels}] (the input's size along dim) or [1].",
                paramName);
        }
    }

    /// <summary>The vector's values broadcast to <paramref name="count"/> entries (a managed copy), or null.</summary>
    private static float[]? ChannelValues(Tensor? vector, long count)
    {
        if (vector is null)
        {
            return null;
        }

        float[] values = vector.ToArray();
        return values.Length == count ? values : Enumerable.Repeat(values[0], (int)count).ToArray();
    }

    // ------------------------------------------------------------------------------------------
    // Conv1d
    // ------------------------------------------------------------------------------------------

    /// <summary>
    /// 1D convolution (PyTorch's <c>conv1d</c>) with an optional fused activation, run by the 2D kernels on a
    /// [N, C, 1, L] view.
    /// </summary>
    /// <param name="input">[N, C, L].</param>
    /// <param name="weight">[out_channels, C / groups, kernel].</param>
    /// <param name="bias">[out_channels], or null.</param>
    /// <param name="options">Stride, padding, dilation and groups.</param>
    /// <param name="activation">Activation fused into the output.</param>
    /// <returns>A new [N, out_channels, OL] tensor.</returns>
    /// <exception cref="ArgumentException">A shape or option is invalid.</exception>
    public static Tensor Conv1d(Tensor input, Tensor weight, Tensor? bias, Conv1dOptions options, Activation activation = Activation.None)
    {
        ArgumentNullException.ThrowIfNull(options);
        ReadOnlySpan<int> x = CheckRank(input, 3, "[N, C, L]", nameof(input));
        ReadOnlySpan<int> w = CheckRank(weight, 3, "[out_channels, in_channels / groups, kernel]", nameof(weight));
        using Tensor x4 = input.Reshape(x[0], x[1], 1, x[2]);
        using Tensor w4 = weight.Reshape(w[0], w[1], 1, w[2]);
        using Tensor y4 = Conv2d(x4, w4, bias, options.As2d(), activation);
        return y4.Reshape(y4.Size(0), y4.Size(1), y4.Size(3));
    }

    /// <summary>1D convolution without activation into a caller-owned output.</summary>
    /// <param name="input">[N, C, L].</param>
    /// <param name="weight">[out_channels, C / groups, kernel].</param>
    /// <param name="bias">[out_channels], or null.</param>
    /// <param name="options">Stride, padding, dilation and groups.</param>
    /// <param name="output">[N, out_channels, OL], not sharing storage with the inputs.</param>
    /// <returns><paramref name="output"/>.</returns>
    /// <exception cref="ArgumentException">A shape or option is invalid.</exception>
    public static Tensor Conv1d(Tensor input, Tensor weight, Tensor? bias, Conv1dOptions options, Tensor output) =>
        Conv1d(input, weight, bias, options, Activation.None, output);

    /// <summary>1D convolution with a fused activation into a caller-owned output.</summary>
    /// <param name="input">[N, C, L].</param>
    /// <param name="weight">[out_channels, C / groups, kernel].</param>
    /// <param name="bias">[out_channels], or null.</param>
    /// <param name="options">Stride, padding, dilation and groups.</param>
    /// <param name="activation">Activation fused into the output.</param>
    /// <param name="output">[N, out_channels, OL], not sharing storage with the inputs.</param>
    /// <returns><paramref name="output"/>.</returns>
    /// <exception cref="ArgumentException">A shape or option is invalid.</exception>
    public static Tensor Conv1d(Tensor input, Tensor weight, Tensor? bias, Conv1dOptions options, Activation activation, Tensor output)
    {
        ArgumentNullException.ThrowIfNull(options);
        ReadOnlySpan<int> x = CheckRank(input, 3, "[N, C, L]", nameof(input));
        ReadOnlySpan<int> w = CheckRank(weight, 3, "[out_channels, in_channels / groups, kernel]", nameof(weight));
        ReadOnlySpan<int> o = CheckRank(output, 3, "[N, out_channels, OL]", nameof(output));
        using Tensor x4 = input.Reshape(x[0], x[1], 1, x[2]);
        using Tensor w4 = weight.Reshape(w[0], w[1], 1, w[2]);
        if (Autograd.IsEnabled)
        {
            output.CheckWritableUnderGrad();
        }

        using Tensor o4 = output.Reshape(o[0], o[1], 1, o[2]);
        Conv2d(x4, w4, bias, options.As2d(), activation, o4);
        // The conv node sits on the 4-D view; the caller's tensor gets a view node on top of it.
        output.SetGradFn(o4.GradFnInternal is not null ? new ViewNode(Edge.To(o4), output.Length) : null);
        return output;
    }
}
