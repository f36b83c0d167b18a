using CnnNative.Interop;

namespace CnnNative;

/// <summary>
/// The native operators on tensors, with PyTorch's semantics (<c>torch.nn.functional</c>).
/// </summary>
/// <remarks>
/// Each op has two forms: one allocates and returns its output, the other writes into a
/// caller-owned <c>output</c> tensor of exactly the output shape and returns it (so a steady-state
/// caller allocates nothing per call). Shapes are checked before anything is allocated or written:
/// ranks and tensor-to-tensor shapes in C# (an <see cref="ArgumentException"/> naming the value and the
/// expected shape), hyper-parameters by the native core (an <see cref="ArgumentException"/> with the
/// native message). Ops run on the calling thread's native context (<see cref="Cnn.Isa"/>,
/// <see cref="Cnn.NumThreads"/>). Where the native op allows it (activations, batch norm, softmax,
/// add) <c>output</c> may be the input itself, for in-place use; convolution, pooling and linear
/// need an output that does not share storage with their inputs.
/// <para>Autograd: with grad mode on (<see cref="Autograd.IsEnabled"/>) and any input requiring grad, an op
/// records a node on its output (<see cref="Tensor.GradFn"/>) keeping what its backward pass needs.
/// In-place use is then checked: a leaf that requires grad cannot be an output, and storage saved for a
/// backward pass that is overwritten afterwards makes <see cref="Tensor.Backward()"/> throw.</para>
/// </remarks>
public static unsafe partial class Functional
{
    // ------------------------------------------------------------------------------------------
    // Convolution
    // ------------------------------------------------------------------------------------------

    /// <summary>
    /// 2D convolution (cross-correlation, PyTorch's <c>conv2d</c>) with an optional fused activation:
    /// <c>activation(conv2d(input, weight) + bias)</c>.
    /// </summary>
    /// <param name="input">[N, C, H, W].</param>
    /// <param name="weight">[out_channels, C / groups, kernel_height, kernel_width].</param>
    /// <param name="bias">[out_channels], or null for none.</param>
    /// <param name="options">Stride, padding, dilation and groups.</param>
    /// <param name="activation">Activation fused into the output.</param>
    /// <returns>A new [N, out_channels, OH, OW] tensor.</returns>
    /// <exception cref="ArgumentException">A shape or option is invalid.</exception>
    public static Tensor Conv2d(Tensor input, Tensor weight, Tensor? bias, Conv2dOptions options, Activation activation = Activation.None)
    {
        CnnConv2dParams p = PrepareConv2d(input, weight, bias, options, out int outHeight, out int outWidth);
        Tensor output = Tensor.Create([p.Batch, p.OutChannels, outHeight, outWidth]);
        try
        {
            return Conv2d(input, weight, bias, options, activation, output);
        }
        catch
        {
            output.Dispose();
            throw;
        }
    }

    /// <summary>2D convolution without activation into a caller-owned output.</summary>
    /// <param name="input">[N, C, H, W].</param>
    /// <param name="weight">[out_channels, C / groups, kernel_height, kernel_width].</param>
    /// <param name="bias">[out_channels], or null for none.</param>
    /// <param name="options">Stride, padding, dilation and groups.</param>
    /// <param name="output">[N, out_channels, OH, OW], not sharing storage with the inputs.</param>
    /// <returns><paramref name="output"/>.</returns>
    /// <exception cref="ArgumentException">A shape or option is invalid.</exception>
    public static Tensor Conv2d(Tensor input, Tensor weight, Tensor? bias, Conv2dOptions options, Tensor output) =>
        Conv2d(input, weight, bias, options, Activation.None, output);

    /// <summary>2D convolution with a fused activation into a caller-owned output.</summary>
    /// <param name="input">[N, C, H, W].</param>
    /// <param name="weight">[out_channels, C / groups, kernel_height, kernel_width].</param>
    /// <param name="bias">[out_channels], or null for none.</param>
    /// <param name="options">Stride, padding, dilation and groups.</param>
    /// <param name="activation">Activation fused into the output.</param>
    /// <param name="output">[N, out_channels, OH, OW], not sharing storage with the inputs.</param>
    /// <returns><paramref name="output"/>.</returns>
    /// <exception cref="ArgumentException">A shape or option is invalid.</exception>
    public static Tensor Conv2d(Tensor input, Tensor weight, Tensor? bias, Conv2dOptions options, Activation activation, Tensor output)
    {
        CnnConv2dParams p = PrepareConv2d(input, weight, bias, options, out int outHeight, out int outWidth);
        CheckOutput(output, [p.Batch, p.OutChannels, outHeight, outWidth]); // a stack span: the output form allocates nothing
        CheckNotAliased(output, input, nameof(input));
        CheckNotAliased(output, weight, nameof(weight));
        if (bias is not null)
        {
            CheckNotAliased(output, bias, nameof(bias));
        }

        bool record = BeginWrite(output, Autograd.ShouldRecord(input, weight, bias));
        CheckFusedTrainable(activation, record);
        int inputVersion = input.Storage.Version, weightVersion = weight.Storage.Version;
        using (TensorPin pi = input.Pin())
        using (TensorPin pw = weight.Pin())
        using (TensorPin pb = Tensor.PinOrNull(bias))
        using (TensorPin po = output.Pin())
        {
            Native.Check(NativeMethods.cnn_conv2d_forward(
                Native.ContextPointer, &p, pi.Pointer, pw.Pointer, pb.Pointer, (CnnActivation)activation, po.Pointer));
        }

        Inference.Trace.Conv2d(p, input, weight, bias, activation, output);
        output.MarkWritten();
        output.SetGradFn(record
            ? new Conv2dNode(p, (CnnActivation)activation, input, inputVersion, weight, weightVersion, bias, output)
            : null);
        return output;
    }

    // ------------------------------------------------------------------------------------------
    // Pooling
    // ------------------------------------------------------------------------------------------

    /// <summary>2D max pooling (PyTorch's <c>max_pool2d</c>; padding counts as -infinity).</summary>
    /// <param name="input">[N, C, H, W].</param>
    /// <param name="options">Kernel size, stride, padding, dilation, ceil mode.</param>
    /// <returns>A new [N, C, OH, OW] tensor.</returns>
    /// <exception cref="ArgumentException">A shape or option is invalid.</exception>
    public static Tensor MaxPool2d(Tensor input, Pool2dOptions options) => Pool2d(CnnPoolKind.Max, input, options);

    /// <summary>2D max pooling into a caller-owned output.</summary>
    /// <param name="input">[N, C, H, W].</param>
    /// <param name="options">Kernel size, stride, padding, dilation, ceil mode.</param>
    /// <param name="output">[N, C, OH, OW], not sharing storage with the input.</param>
    /// <returns><paramref name="output"/>.</returns>
    /// <exception cref="ArgumentException">A shape or option is invalid.</exception>
    public static Tensor MaxPool2d(Tensor input, Pool2dOptions options, Tensor output) => Pool2d(CnnPoolKind.Max, input, options, output);

    /// <summary>2D average pooling (PyTorch's <c>avg_pool2d</c>, with <c>count_include_pad</c> and <c>divisor_override</c>).</summary>
    /// <param name="input">[N, C, H, W].</param>
    /// <param name="options">Kernel size, stride, padding, ceil mode, count-include-pad, divisor override.</param>
    /// <returns>A new [N, C, OH, OW] tensor.</returns>
    /// <exception cref="ArgumentException">A shape or option is invalid.</exception>
    public static Tensor AvgPool2d(Tensor input, Pool2dOptions options) => Pool2d(CnnPoolKind.Average, input, options);

    /// <summary>2D average pooling into a caller-owned output.</summary>
    /// <param name="input">[N, C, H, W].</param>
    /// <param name="options">Kernel size, stride, padding, ceil mode, count-include-pad, divisor override.</param>
    /// <param name="output">[N, C, OH, OW], not sharing storage with the input.</param>
    /// <returns><paramref name="output"/>.</returns>
    /// <exception cref="ArgumentException">A shape or option is invalid.</exception>
    public static Tensor AvgPool2d(Tensor input, Pool2dOptions options, Tensor output) => Pool2d(CnnPoolKind.Average, input, options, output);

    /// <summary>2D power-average pooling (PyTorch's <c>lp_pool2d</c>): <c>(sum over window of x^p)^(1/p)</c>.</summary>
    /// <param name="input">[N, C, H, W].</param>
    /// <param name="options">Kernel size, stride, ceil mode and <see cref="Pool2dOptions.NormType"/> (no padding).</param>
    /// <returns>A new [N, C, OH, OW] tensor.</returns>
    /// <exception cref="ArgumentException">A shape or option is invalid.</exception>
    public static Tensor LpPool2d(Tensor input, Pool2dOptions options) => Pool2d(CnnPoolKind.Lp, input, options);

    /// <summary>2D power-average pooling into a caller-owned output.</summary>
    /// <param name="input">[N, C, H, W].</param>
    /// <param name="options">Kernel size, stride, ceil mode and <see cref="Pool2dOptions.NormType"/> (no padding).</param>
    /// <param name="output">[N, C, OH, OW], not sharing storage with the input.</param>
    /// <returns><paramref name="output"/>.</returns>
    /// <exception cref="ArgumentException">A shape or option is invalid.</exception>
    public static Tensor LpPool2d(Tensor input, Pool2dOptions options, Tensor output) => Pool2d(CnnPoolKind.Lp, input, options, output);

    /// <summary>Global average pooling: the mean over H and W of each channel.</summary>
    /// <param name="input">[N, C, H, W].</param>
    /// <returns>A new [N, C, 1, 1] tensor.</returns>
    /// <exception cref="ArgumentException">The input is not 4-D.</exception>
    public static Tensor GlobalAvgPool2d(Tensor input)
    {
        ReadOnlySpan<int> s = CheckRank(input, 4, "[N, C, H, W]", nameof(input));
        Tensor output = Tensor.Create([s[0], s[1], 1, 1]);
        try
        {
            return GlobalAvgPool2d(input, output);
        }
        catch
        {
            output.Dispose();
            throw;
        }
    }

    /// <summary>Global average pooling into a caller-owned output.</summary>
    /// <param name="input">[N, C, H, W].</param>
    /// <param name="output">[N, C, 1, 1] (or [N, C]), not sharing storage with the input.</param>
    /// <returns><paramref name="output"/>.</returns>
    /// <exception cref="ArgumentException">The input is not 4-D or the output has another shape.</exception>
    public static Tensor GlobalAvgPool2d(Tensor input, Tensor output)
    {
        ReadOnlySpan<int> s = CheckRank(input, 4, "[N, C, H, W]", nameof(input));
        ArgumentNullException.ThrowIfNull(output);
        int[] expected = [s[0], s[1], 1, 1];
        if (!output.HasShape(expected) && !output.HasShape([s[0], s[1]]))
        {
            throw new ArgumentException(
                $"output has shape {Tensor.FormatShape(output.Dims)}; expected {Tensor.FormatShape(expected)} (or [{s[0]}, {s[1]}]).",
                nameof(output));
        }

        CheckNotAliased(output, input, nameof(input));
        bool record = BeginWrite(output, Autograd.ShouldRecord(input));
        using (TensorPin pi = input.Pin())
        using (TensorPin po = output.Pin())
        {
            Native.Check(NativeMethods.cnn_global_average_pool2d_forward(
                Native.ContextPointer, s[0], s[1], s[2], s[3], pi.Pointer, po.Pointer));
        }

        Inference.Trace.GlobalAvgPool2d(input, output);
        output.MarkWritten();
        output.SetGradFn(record ? new GlobalAvgPool2dNode(s[0], s[1], s[2], s[3], input, output) : null);
        return output;
    }

    // ------------------------------------------------------------------------------------------
    // Batch normalization
    // ------------------------------------------------------------------------------------------

    /// <summary>
    /// Batch normalization with running statistics (eval mode), with an optional fused activation:
    /// <c>activation((input - mean[c]) / sqrt(var[c] + eps) * weight[c] + bias[c])</c>.
    /// </summary>
    /// <param name="input">[N, C, H, W].</param>
    /// <param name="runningMean">[C].</param>
    /// <param name="runningVar">[C].</param>
    /// <param name="weight">gamma [C], or null for 1.</param>
    /// <param name="bias">beta [C], or null for 0.</param>
    /// <param name="eps">Added to the variance; finite and &gt;= 0 (PyTorch's default is 1e-5).</param>
    /// <param name="activation">Activation fused into the output.</param>
    /// <returns>A new [N, C, H, W] tensor.</returns>
    /// <exception cref="ArgumentException">A shape or <paramref name="eps"/> is invalid.</exception>
    public static Tensor BatchNorm2d(Tensor input, Tensor runningMean, Tensor runningVar, Tensor? weight, Tensor? bias, float eps,
        Activation activation = Activation.None)
    {
        PrepareBatchNorm2d(input, runningMean, runningVar, weight, bias, eps);
        Tensor output = Tensor.Create(input.Shape);
        try
        {
            return BatchNorm2d(input, runningMean, runningVar, weight, bias, eps, activation, output);
        }
        catch
        {
            output.Dispose();
            throw;
        }
    }

    /// <summary>Batch normalization (eval mode) without activation into a caller-owned output.</summary>
    /// <param name="input">[N, C, H, W].</param>
    /// <param name="runningMean">[C].</param>
    /// <param name="runningVar">[C].</param>
    /// <param name="weight">gamma [C], or null for 1.</param>
    /// <param name="bias">beta [C], or null for 0.</param>
    /// <param name="eps">Added to the variance; finite and &gt;= 0.</param>
    /// <param name="output">[N, C, H, W]; may be <paramref name="input"/> (in place).</param>
    /// <returns><paramref name="output"/>.</returns>
    /// <exception cref="ArgumentException">A shape or <paramref name="eps"/> is invalid.</exception>
    public static Tensor BatchNorm2d(Tensor input, Tensor runningMean, Tensor runningVar, Tensor? weight, Tensor? bias, float eps,
        Tensor output) =>
        BatchNorm2d(input, runningMean, runningVar, weight, bias, eps, Activation.None, output);

    /// <summary>Batch normalization (eval mode) with a fused activation into a caller-owned output.</summary>
    /// <param name="input">[N, C, H, W].</param>
    /// <param name="runningMean">[C].</param>
    /// <param name="runningVar">[C].</param>
    /// <param name="weight">gamma [C], or null for 1.</param>
    /// <param name="bias">beta [C], or null for 0.</param>
    /// <param name="eps">Added to the variance; finite and &gt;= 0.</param>
    /// <param name="activation">Activation fused into the output.</param>
    /// <param name="output">[N, C, H, W]; may be <paramref name="input"/> (in place).</param>
    /// <returns><paramref name="output"/>.</returns>
    /// <exception cref="ArgumentException">A shape or <paramref name="eps"/> is invalid.</exception>
    public static Tensor BatchNorm2d(Tensor input, Tensor runningMean, Tensor runningVar, Tensor? weight, Tensor? bias, float eps,
        Activation activation, Tensor output)
    {
        CnnBatchNorm2dParams p = PrepareBatchNorm2d(input, runningMean, runningVar, weight, bias, eps);
        CheckOutput(output, input.Dims);
        bool record = BeginWrite(output, Autograd.ShouldRecord(input, weight, bias));
        CheckFusedTrainable(activation, record);
        int inputVersion = input.Storage.Version, weightVersion = weight?.Storage.Version ?? 0;
        NativeBuffer? stats = record ? EvalStatistics(runningMean, runningVar, eps) : null;
        try
        {
            using (TensorPin pi = input.Pin())
            using (TensorPin pm = runningMean.Pin())
            using (TensorPin pv = runningVar.Pin())
            using (TensorPin pw = Tensor.PinOrNull(weight))
            using (TensorPin pb = Tensor.PinOrNull(bias))
            using (TensorPin po = output.Pin())
            {
                Native.Check(NativeMethods.cnn_batch_norm2d_inference(
                    Native.ContextPointer, &p, pi.Pointer, pm.Pointer, pv.Pointer, pw.Pointer, pb.Pointer, (CnnActivation)activation, po.Pointer));
            }
        }
        catch
        {
            stats?.Dispose();
            throw;
        }

        Inference.Trace.BatchNorm2d(p, input, runningMean, runningVar, weight, bias, activation, output);
        output.MarkWritten();
        output.SetGradFn(record
            ? new BatchNorm2dNode(p, (CnnActivation)activation, batchStatistics: false, input, inputVersion, weight, weightVersion, bias, stats!, output)
            : null);
        return output;
    }

    // ------------------------------------------------------------------------------------------
    // Element-wise activations
    // ------------------------------------------------------------------------------------------

    /// <summary><c>max(x, 0)</c> element-wise.</summary>
    /// <param name="input">Any shape.</param>
    /// <returns>A new tensor of the input's shape.</returns>
    public static Tensor Relu(Tensor input) => Activate(input, Activation.Relu);

    /// <summary><c>max(x, 0)</c> element-wise into a caller-owned output.</summary>
    /// <param name="input">Any shape.</param>
    /// <param name="output">The input's shape; may be <paramref name="input"/> (in place).</param>
    /// <returns><paramref name="output"/>.</returns>
    public static Tensor Relu(Tensor input, Tensor output) => Activate(input, Activation.Relu, output);

    /// <summary><c>1 / (1 + exp(-x))</c> element-wise.</summary>
    /// <param name="input">Any shape.</param>
    /// <returns>A new tensor of the input's shape.</returns>
    public static Tensor Sigmoid(Tensor input) => Activate(input, Activation.Sigmoid);

    /// <summary><c>1 / (1 + exp(-x))</c> element-wise into a caller-owned output.</summary>
    /// <param name="input">Any shape.</param>
    /// <param name="output">The input's shape; may be <paramref name="input"/> (in place).</param>
    /// <returns><paramref name="output"/>.</returns>
    public static Tensor Sigmoid(Tensor input, Tensor output) => Activate(input, Activation.Sigmoid, output);

    /// <summary><c>tanh(x)</c> element-wise.</summary>
    /// <param name="input">Any shape.</param>
    /// <returns>A new tensor of the input's shape.</returns>
    public static Tensor Tanh(Tensor input) => Activate(input, Activation.Tanh);

    /// <summary><c>tanh(x)</c> element-wise into a caller-owned output.</summary>
    /// <param name="input">Any shape.</param>
    /// <param name="output">The input's shape; may be <paramref name="input"/> (in place).</param>
    /// <returns><paramref name="output"/>.</returns>
    public static Tensor Tanh(Tensor input, Tensor output) => Activate(input, Activation.Tanh, output);

    /// <summary>Any <see cref="Activation"/> element-wise (<see cref="Activation.None"/> copies).</summary>
    /// <param name="input">Any shape.</param>
    /// <param name="activation">The activation.</param>
    /// <returns>A new tensor of the input's shape.</returns>
    public static Tensor Activate(Tensor input, Activation activation)
    {
        ArgumentNullException.ThrowIfNull(input);
        Tensor output = Tensor.Create(input.Shape);
        try
        {
            return Activate(input, activation, output);
        }
        catch
        {
            output.Dispose();
            throw;
        }
    }

    /// <summary>Any <see cref="Activation"/> element-wise into a caller-owned output.</summary>
    /// <param name="input">Any shape.</param>
    /// <param name="activation">The activation.</param>
    /// <param name="output">The input's shape; may be <paramref name="input"/> (in place).</param>
    /// <returns><paramref name="output"/>.</returns>
    /// <exception cref="ArgumentException">The output has another shape, or the activation is not defined.</exception>
    public static Tensor Activate(Tensor input, Activation activation, Tensor output)
    {
        ArgumentNullException.ThrowIfNull(input);
        CheckOutput(output, input.Dims);
        bool record = BeginWrite(output, Autograd.ShouldRecord(input));
        CheckActivationInPlace(activation, input, output, record);
        using (TensorPin pi = input.Pin())
        using (TensorPin po = output.Pin())
        {
            Native.Check(NativeMethods.cnn_activation_forward(
                Native.ContextPointer, (CnnActivation)activation, input.Length, pi.Pointer, po.Pointer));
        }

        Inference.Trace.Activation(activation, input, output);
        output.MarkWritten();
        output.SetGradFn(record ? new ActivationNode((CnnActivation)activation, input, output) : null);
        return output;
    }

    // ------------------------------------------------------------------------------------------
    // Linear
    // ------------------------------------------------------------------------------------------

    /// <summary>
    /// Fully connected layer (PyTorch's <c>linear</c>): <c>activation(input @ weight^T + bias)</c>.
    /// Leading dimensions of the input are batch dimensions.
    /// </summary>
    /// <param name="input">[..., in_features] (rank &gt;= 1).</param>
    /// <param name="weight">[out_features, in_features].</param>
    /// <param name="bias">[out_features], or null.</param>
    /// <param name="activation">Activation fused into the output.</param>
    /// <returns>A new [..., out_features] tensor.</returns>
    /// <exception cref="ArgumentException">A shape is invalid.</exception>
    public static Tensor Linear(Tensor input, Tensor weight, Tensor? bias, Activation activation = Activation.None)
    {
        PrepareLinear(input, weight, bias, out int[] outputShape, out _, out _, out _);
        Tensor output = Tensor.Create(outputShape);
        try
        {
            return Linear(input, weight, bias, activation, output);
        }
        catch
        {
            output.Dispose();
            throw;
        }
    }

    /// <summary>Fully connected layer without activation into a caller-owned output.</summary>
    /// <param name="input">[..., in_features] (rank &gt;= 1).</param>
    /// <param name="weight">[out_features, in_features].</param>
    /// <param name="bias">[out_features], or null.</param>
    /// <param name="output">[..., out_features], not sharing storage with the inputs.</param>
    /// <returns><paramref name="output"/>.</returns>
    /// <exception cref="ArgumentException">A shape is invalid.</exception>
    public static Tensor Linear(Tensor input, Tensor weight, Tensor? bias, Tensor output) =>
        Linear(input, weight, bias, Activation.None, output);

    /// <summary>Fully connected layer with a fused activation into a caller-owned output.</summary>
    /// <param name="input">[..., in_features] (rank &gt;= 1).</param>
    /// <param name="weight">[out_features, in_features].</param>
    /// <param name="bias">[out_features], or null.</param>
    /// <param name="activation">Activation fused into the output.</param>
    /// <param name="output">[..., out_features], not sharing storage with the inputs.</param>
    /// <returns><paramref name="output"/>.</returns>
    /// <exception cref="ArgumentException">A shape is invalid.</exception>
    public static Tensor Linear(Tensor input, Tensor weight, Tensor? bias, Activation activation, Tensor output)
    {
        PrepareLinear(input, weight, bias, out int[] outputShape, out int batch, out int inFeatures, out int outFeatures);
        CheckOutput(output, outputShape);
        CheckNotAliased(output, input, nameof(input));
        CheckNotAliased(output, weight, nameof(weight));
        if (bias is not null)
        {
            CheckNotAliased(output, bias, nameof(bias));
        }

        bool record = BeginWrite(output, Autograd.ShouldRecord(input, weight, bias));
        CheckFusedTrainable(activation, record);
        int inputVersion = input.Storage.Version, weightVersion = weight.Storage.Version;
        using (TensorPin pi = input.Pin())
        using (TensorPin pw = weight.Pin())
        using (TensorPin pb = Tensor.PinOrNull(bias))
        using (TensorPin po = output.Pin())
        {
            Native.Check(NativeMethods.cnn_linear_forward(
                Native.ContextPointer, batch, inFeatures, outFeatures, pi.Pointer, pw.Pointer, pb.Pointer, (CnnActivation)activation, po.Pointer));
        }

        Inference.Trace.Linear(batch, inFeatures, outFeatures, input, weight, bias, activation, output);
        output.MarkWritten();
        output.SetGradFn(record
            ? new LinearNode(batch, inFeatures, outFeatures, (CnnActivation)activation, input, inputVersion, weight, weightVersion, bias, output)
            : null);
        return output;
    }

    // ------------------------------------------------------------------------------------------
    // Softmax
    // ------------------------------------------------------------------------------------------

    /// <summary>Softmax over one dimension (numerically stable).</summary>
    /// <param name="input">Any shape.</param>
    /// <param name="dim">The dimension; negative counts from the end (-1 is the last).</param>
    /// <returns>A new tensor of the input's shape.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dim"/> is out of range.</exception>
    public static Tensor Softmax(Tensor input, int dim) => SoftmaxAllocating(input, dim, log: false);

    /// <summary>Softmax over one dimension into a caller-owned output.</summary>
    /// <param name="input">Any shape.</param>
    /// <param name="dim">The dimension; negative counts from the end.</param>
    /// <param name="output">The input's shape; may be <paramref name="input"/> (in place).</param>
    /// <returns><paramref name="output"/>.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dim"/> is out of range.</exception>
    public static Tensor Softmax(Tensor input, int dim, Tensor output) => SoftmaxCore(input, dim, log: false, output);

    /// <summary>Log-softmax over one dimension (numerically stable).</summary>
    /// <param name="input">Any shape.</param>
    /// <param name="dim">The dimension; negative counts from the end (-1 is the last).</param>
    /// <returns>A new tensor of the input's shape.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dim"/> is out of range.</exception>
    public static Tensor LogSoftmax(Tensor input, int dim) => SoftmaxAllocating(input, dim, log: true);

    /// <summary>Log-softmax over one dimension into a caller-owned output.</summary>
    /// <param name="input">Any shape.</param>
    /// <param name="dim">The dimension; negative counts from the end.</param>
    /// <param name="output">The input's shape; may be <paramref name="input"/> (in place).</param>
    /// <returns><paramref name="output"/>.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dim"/> is out of range.</exception>
    public static Tensor LogSoftmax(Tensor input, int dim, Tensor output) => SoftmaxCore(input, dim, log: true, output);

    // ------------------------------------------------------------------------------------------
    // Add
    // ------------------------------------------------------------------------------------------

    /// <summary>Element-wise <c>activation(a + b)</c> (the residual connection); no broadcasting.</summary>
    /// <param name="a">Any shape.</param>
    /// <param name="b">The shape of <paramref name="a"/>.</param>
    /// <param name="activation">Activation applied to the sum.</param>
    /// <returns>A new tensor of the inputs' shape.</returns>
    /// <exception cref="ArgumentException">The shapes differ.</exception>
    public static Tensor Add(Tensor a, Tensor b, Activation activation = Activation.None)
    {
        CheckSameShape(a, b);
        Tensor output = Tensor.Create(a.Shape);
        try
        {
            return Add(a, b, activation, output);
        }
        catch
        {
            output.Dispose();
            throw;
        }
    }

    /// <summary>Element-wise <c>a + b</c> into a caller-owned output.</summary>
    /// <param name="a">Any shape.</param>
    /// <param name="b">The shape of <paramref name="a"/>.</param>
    /// <param name="output">The inputs' shape; may be <paramref name="a"/> or <paramref name="b"/> (in place).</param>
    /// <returns><paramref name="output"/>.</returns>
    /// <exception cref="ArgumentException">The shapes differ.</exception>
    public static Tensor Add(Tensor a, Tensor b, Tensor output) => Add(a, b, Activation.None, output);

    /// <summary>Element-wise <c>activation(a + b)</c> into a caller-owned output.</summary>
    /// <param name="a">Any shape.</param>
    /// <param name="b">The shape of <paramref name="a"/>.</param>
    /// <param name="activation">Activation applied to the sum.</param>
    /// <param name="output">The inputs' shape; may be <paramref name="a"/> or <paramref name="b"/> (in place).</param>
    /// <returns><paramref name="output"/>.</returns>
    /// <exception cref="ArgumentException">The shapes differ.</exception>
    public static Tensor Add(Tensor a, Tensor b, Activation activation, Tensor output)
    {
        CheckSameShape(a, b);
        CheckOutput(output, a.Dims);
        bool record = BeginWrite(output, Autograd.ShouldRecord(a, b));
        CheckFusedTrainable(activation, record);
        using (TensorPin pa = a.Pin())
        using (TensorPin pb = b.Pin())
        using (TensorPin po = output.Pin())
        {
            Native.Check(NativeMethods.cnn_add_forward(
                Native.ContextPointer, a.Length, pa.Pointer, pb.Pointer, (CnnActivation)activation, po.Pointer));
        }

        Inference.Trace.Add(a, b, activation, output);
        output.MarkWritten();
        output.SetGradFn(record ? new AddNode((CnnActivation)activation, a, b, output) : null);
        return output;
    }

    // ------------------------------------------------------------------------------------------
    // Mul
    // ------------------------------------------------------------------------------------------

    /// <summary>Element-wise <c>a * b</c> (gating, e.g. <c>x * sigmoid(conv(x))</c>); no broadcasting.</summary>
    /// <param name="a">Any shape.</param>
    /// <param name="b">The shape of <paramref name="a"/>.</param>
    /// <returns>A new tensor of the inputs' shape.</returns>
    /// <exception cref="ArgumentException">The shapes differ.</exception>
    public static Tensor Mul(Tensor a, Tensor b)
    {
        CheckSameShape(a, b);
        Tensor output = Tensor.Create(a.Shape);
        try
        {
            return Mul(a, b, output);
        }
        catch
        {
            output.Dispose();
            throw;
        }
    }

    /// <summary>Element-wise <c>a * b</c> into a caller-owned output.</summary>
    /// <param name="a">Any shape.</param>
    /// <param name="b">The shape of <paramref name="a"/>.</param>
    /// <param name="output">The inputs' shape; may be <paramref name="a"/> or <paramref name="b"/> (in place; backward then reports the overwritten input).</param>
    /// <returns><paramref name="output"/>.</returns>
    /// <exception cref="ArgumentException">The shapes differ.</exception>
    public static Tensor Mul(Tensor a, Tensor b, Tensor output)
    {
        CheckSameShape(a, b);
        CheckOutput(output, a.Dims);
        bool record = BeginWrite(output, Autograd.ShouldRecord(a, b));
        int aVersion = a.Storage.Version, bVersion = b.Storage.Version;
        using (TensorPin pa = a.Pin())
        using (TensorPin pb = b.Pin())
        using (TensorPin po = output.Pin())
        {
            Native.Check(NativeMethods.cnn_mul_forward(Native.ContextPointer, a.Length, pa.Pointer, pb.Pointer, po.Pointer));
        }

        Inference.Trace.Mul(a, b, output);
        output.MarkWritten();
        output.SetGradFn(record ? new MulNode(a, aVersion, b, bVersion, output) : null);
        return output;
    }

    // ------------------------------------------------------------------------------------------
    // Helpers
    // ------------------------------------------------------------------------------------------

    /// <summary>
    /// Before an op writes <paramref name="output"/>: with grad mode on, a leaf that requires grad cannot
    /// be an output. Returns <paramref name="record"/> (whether the op records a node).
    /// </summary>
    private static bool BeginWrite(Tensor output, bool record)
    {
        if (Autograd.IsEnabled)
        {
            output.CheckWritableUnderGrad();
        }

        return record;
    }

    /// <summary>The constant statistics of eval-mode batch norm for its backward: mean [C], then 1/sqrt(var + eps) [C].</summary>
    private static NativeBuffer EvalStatistics(Tensor runningMean, Tensor runningVar, float eps)
    {
        int channels = (int)runningMean.Length;
        NativeBuffer stats = NativeBuffer.Allocate(2L * channels * sizeof(float));
        float* s = (float*)stats.DangerousGetHandle();
        using TensorPin pm = runningMean.Pin();
        using TensorPin pv = runningVar.Pin();
        for (int c = 0; c < channels; c++)
        {
            s[c] = pm.Pointer[c];
            s[channels + c] = 1f / MathF.Sqrt(pv.Pointer[c] + eps);
        }

        return stats;
    }

    private static CnnConv2dParams PrepareConv2d(Tensor input, Tensor weight, Tensor? bias, Conv2dOptions options, out int outHeight, out int outWidth)
    {
        ArgumentNullException.ThrowIfNull(options);
        ReadOnlySpan<int> x = CheckRank(input, 4, "[N, C, H, W]", nameof(input));
        return PrepareConv2d(x, weight, bias, options, out outHeight, out outWidth);
    }

    /// <summary>The native parameters of a convolution of an input of shape <paramref name="x"/> ([N, C, H, W]), all checked.</summary>
    internal static CnnConv2dParams PrepareConv2d(ReadOnlySpan<int> x, Tensor weight, Tensor? bias, Conv2dOptions options, out int outHeight, out int outWidth)
    {
        ArgumentNullException.ThrowIfNull(options);
        ReadOnlySpan<int> w = CheckRank(weight, 4, "[out_channels, in_channels / groups, kernel_height, kernel_width]", nameof(weight));
        var p = new CnnConv2dParams
        {
            Batch = x[0],
            InChannels = x[1],
            InHeight = x[2],
            InWidth = x[3],
            OutChannels = w[0],
            KernelHeight = w[2],
            KernelWidth = w[3],
            StrideHeight = options.Stride.H,
            StrideWidth = options.Stride.W,
            PadTop = options.Padding.Top,
            PadBottom = options.Padding.Bottom,
            PadLeft = options.Padding.Left,
            PadRight = options.Padding.Right,
            DilationHeight = options.Dilation.H,
            DilationWidth = options.Dilation.W,
            Groups = options.Groups,
        };

        // The native core validates the hyper-parameters (groups, stride, padding, ...) first.
        int height, width;
        Native.Check(NativeMethods.cnn_conv2d_output_size(&p, &height, &width));
        (outHeight, outWidth) = (height, width);

        int expectedIn = x[1] / options.Groups; // groups divides in_channels: checked natively above
        if (w[1] != expectedIn)
        {
            throw new ArgumentException(
                $"weight has shape {Tensor.FormatShape(w)}; for input {Tensor.FormatShape(x)} with groups = {options.Groups} " +
                $"expected {Tensor.FormatShape([w[0], expectedIn, w[2], w[3]])}.", nameof(weight));
        }

        if (bias is not null && !bias.HasShape([w[0]]))
        {
            throw new ArgumentException(
                $"bias has shape {Tensor.FormatShape(bias.Dims)}; expected [{w[0]}] (the weight's out_channels).", nameof(bias));
        }

        return p;
    }

    private static Tensor Pool2d(CnnPoolKind kind, Tensor input, Pool2dOptions options)
    {
        CnnPool2dParams p = PreparePool2d(kind, input, options, out int outHeight, out int outWidth);
        Tensor output = Tensor.Create([p.Batch, p.Channels, outHeight, outWidth]);
        try
        {
            return Pool2d(kind, input, options, output);
        }
        catch
        {
            output.Dispose();
            throw;
        }
    }

    private static Tensor Pool2d(CnnPoolKind kind, Tensor input, Pool2dOptions options, Tensor output)
    {
        CnnPool2dParams p = PreparePool2d(kind, input, options, out int outHeight, out int outWidth);
        CheckOutput(output, [p.Batch, p.Channels, outHeight, outWidth]); // a stack span: the output form allocates nothing
        CheckNotAliased(output, input, nameof(input));
        bool record = BeginWrite(output, Autograd.ShouldRecord(input));
        int inputVersion = input.Storage.Version;
        using (TensorPin pi = input.Pin())
        using (TensorPin po = output.Pin())
        {
            Native.Check(NativeMethods.cnn_pool2d_forward(Native.ContextPointer, &p, pi.Pointer, po.Pointer));
        }

        Inference.Trace.Pool2d(p, input, output);
        output.MarkWritten();
        output.SetGradFn(record ? new Pool2dNode(p, input, inputVersion, output) : null);
        return output;
    }

    private static CnnPool2dParams PreparePool2d(CnnPoolKind kind, Tensor input, Pool2dOptions options, out int outHeight, out int outWidth)
    {
        ArgumentNullException.ThrowIfNull(options);
        ReadOnlySpan<int> x = CheckRank(input, 4, "[N, C, H, W]", nameof(input));
        if (options.DivisorOverride is int divisor && divisor <= 0)
        {
            throw new ArgumentException($"DivisorOverride must be > 0 when set, got {divisor}.", nameof(options));
        }

        (int strideHeight, int strideWidth) = options.EffectiveStride;
        var p = new CnnPool2dParams
        {
            Kind = kind,
            Batch = x[0],
            Channels = x[1],
            InHeight = x[2],
            InWidth = x[3],
            KernelHeight = options.KernelSize.H,
            KernelWidth = options.KernelSize.W,
            StrideHeight = strideHeight,
            StrideWidth = strideWidth,
            PadHeight = options.Padding.H,
            PadWidth = options.Padding.W,
            DilationHeight = options.Dilation.H,
            DilationWidth = options.Dilation.W,
            CeilMode = options.CeilMode ? 1 : 0,
            CountIncludePad = options.CountIncludePad ? 1 : 0,
            DivisorOverride = options.DivisorOverride ?? 0,
            NormType = options.NormType,
        };

        int height, width;
        Native.Check(NativeMethods.cnn_pool2d_output_size(&p, &height, &width));
        (outHeight, outWidth) = (height, width);
        return p;
    }

    private static CnnBatchNorm2dParams PrepareBatchNorm2d(Tensor input, Tensor runningMean, Tensor runningVar, Tensor? weight, Tensor? bias, float eps)
    {
        ReadOnlySpan<int> x = CheckRank(input, 4, "[N, C, H, W]", nameof(input));
        int channels = x[1];
        CheckChannelVector(runningMean, channels, nameof(runningMean));
        CheckChannelVector(runningVar, channels, nameof(runningVar));
        if (weight is not null)
        {
            CheckChannelVector(weight, channels, nameof(weight));
        }

        if (bias is not null)
        {
            CheckChannelVector(bias, channels, nameof(bias));
        }

        return new CnnBatchNorm2dParams { Batch = x[0], Channels = x[1], Height = x[2], Width = x[3], Epsilon = eps };
    }

    private static void PrepareLinear(Tensor input, Tensor weight, Tensor? bias, out int[] outputShape, out int batch, out int inFeatures, out int outFeatures)
    {
        ArgumentNullException.ThrowIfNull(input);
        ReadOnlySpan<int> w = CheckRank(weight, 2, "[out_features, in_features]", nameof(weight));
        ReadOnlySpan<int> x = input.Dims;
        outFeatures = w[0];
        inFeatures = w[1];
        if (x[^1] != inFeatures)
        {
            throw new ArgumentException(
                $"input has shape {Tensor.FormatShape(x)}; its last dimension must be in_features = {inFeatures} " +
                $"(weight {Tensor.FormatShape(w)}).", nameof(input));
        }

        if (bias is not null && !bias.HasShape([outFeatures]))
        {
            throw new ArgumentException(
                $"bias has shape {Tensor.FormatShape(bias.Dims)}; expected [{outFeatures}] (the weight's out_features).", nameof(bias));
        }

        long rows = input.Length / inFeatures;
        if (rows > int.MaxValue)
        {
            throw new ArgumentException(
                $"input {Tensor.FormatShape(x)} has {rows} rows; at most {int.MaxValue} are supported.", nameof(input));
        }

        batch = (int)rows;
        outputShape = x.ToArray();
        outputShape[^1] = outFeatures;
        Tensor.CheckShape(outputShape, nameof(weight));
    }

    private static Tensor SoftmaxAllocating(Tensor input, int dim, bool log)
    {
        ArgumentNullException.ThrowIfNull(input);
        SoftmaxView(input, dim, out _, out _, out _);
        Tensor output = Tensor.Create(input.Shape);
        try
        {
            return SoftmaxCore(input, dim, log, output);
        }
        catch
        {
            output.Dispose();
            throw;
        }
    }

    private static Tensor SoftmaxCore(Tensor input, int dim, bool log, Tensor output)
    {
        ArgumentNullException.ThrowIfNull(input);
        SoftmaxView(input, dim, out int outer, out int classes, out int inner);
        CheckOutput(output, input.Dims);
        bool record = BeginWrite(output, Autograd.ShouldRecord(input));
        using (TensorPin pi = input.Pin())
        using (TensorPin po = output.Pin())
        {
            Native.Check(NativeMethods.cnn_softmax_forward(
                Native.ContextPointer, outer, classes, inner, log ? 1 : 0, pi.Pointer, po.Pointer));
        }

        Inference.Trace.Softmax(outer, classes, inner, log, input, output);
        output.MarkWritten();
        output.SetGradFn(record ? new SoftmaxNode(outer, classes, inner, log, input, output) : null);
        return output;
    }

    /// <summary>Views the input as [outer, classes, inner] around <paramref name="dim"/>.</summary>
    private static void SoftmaxView(Tensor input, int dim, out int outer, out int classes, out int inner)
    {
        ReadOnlySpan<int> x = input.Dims;
        int d = Tensor.NormalizeDim(dim, x.Length, nameof(dim));
        long before = 1, after = 1;
        for (int i = 0; i < d; i++)
        {
            before *= x[i];
        }

        for (int i = d + 1; i < x.Length; i++)
        {
            after *= x[i];
        }

        if (before > int.MaxValue || after > int.MaxValue)
        {
            throw new ArgumentException(
                $"input {Tensor.FormatShape(x)} viewed around dimension {dim} as [outer, classes, inner] = [{before}, {x[d]}, {after}] " +
                $"exceeds {int.MaxValue} in outer or inner.", nameof(input));
        }

        outer = (int)before;
        classes = x[d];
        inner = (int)after;
    }

    private static ReadOnlySpan<int> CheckRank(Tensor tensor, int rank, string expected, string paramName)
    {
        ArgumentNullException.ThrowIfNull(tensor, paramName);
        ReadOnlySpan<int> dims = tensor.Dims;
        if (dims.Length != rank)
        {
            throw new ArgumentException(
                $"{paramName} has shape {Tensor.FormatShape(dims)}; expected a {rank}-D tensor {expected}.", paramName);
        }

        return dims;
    }

    private static void CheckChannelVector(Tensor tensor, int channels, string paramName)
    {
        ArgumentNullException.ThrowIfNull(tensor, paramName);
        if (!tensor.HasShape([channels]))
        {
            throw new ArgumentException(
                $"{paramName} has shape {Tensor.FormatShape(tensor.Dims)}; expected [{channels}] (the input's channels).", paramName);
        }
    }

    private static void CheckSameShape(Tensor a, Tensor b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (!b.HasShape(a.Dims))
        {
            throw new ArgumentException(
                $"b has shape {Tensor.FormatShape(b.Dims)}; expected {Tensor.FormatShape(a.Dims)} (the shape of a; no broadcasting).", nameof(b));
        }
    }

    internal static void CheckOutput(Tensor output, ReadOnlySpan<int> expected)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (!output.HasShape(expected))
        {
            throw new ArgumentException(
                $"output has shape {Tensor.FormatShape(output.Dims)}; expected {Tensor.FormatShape(expected)}.", nameof(output));
        }
    }

    internal static void CheckNotAliased(Tensor output, Tensor input, string inputName)
    {
        if (output.SharesStorageWith(input))
        {
            throw new ArgumentException($"output shares storage with {inputName}; this op cannot run in place.", nameof(output));
        }
    }
}
