using CnnNative.Interop;

namespace CnnNative;

/// <summary>
/// A prepacked 2D convolution for inference, like a oneDNN primitive or an XNNPACK operator: the
/// weights (and bias) are copied, and for 3x3 stride-1 convolutions transformed into the Winograd
/// domain or packed for the direct path of strided and small convolutions, once at construction, so that <see cref="Forward(Tensor, Tensor)"/> does not re-pack
/// constant weights on every call. Results equal <see cref="Functional.Conv2d(Tensor, Tensor, Tensor?, Conv2dOptions, Activation, Tensor)"/>
/// within the conv tolerance (bitwise wherever both take the same algorithm, see <see cref="Algorithm"/>).
/// </summary>
/// <remarks>
/// The plan fixes the instruction set of the constructing thread (<see cref="Cnn.Isa"/>): the packed
/// layout depends on it. It is immutable afterwards: several threads may call <see cref="Forward(Tensor, Tensor)"/>
/// at once (each runs on its own thread's native context). No gradient is recorded.
/// </remarks>
public sealed unsafe class Conv2dPlan : IDisposable
{
    private readonly Conv2dPlanHandle _handle;
    private readonly CnnConv2dParams _params;
    private readonly int _outHeight;
    private readonly int _outWidth;

    /// <summary>Creates a plan for inputs of shape [N, C, H, W] (<paramref name="inputShape"/>; N may differ at each call).</summary>
    /// <param name="inputShape">[N, C, H, W]; N is only a hint for the choice of algorithm.</param>
    /// <param name="weight">[out_channels, C / groups, kernel_height, kernel_width]; copied.</param>
    /// <param name="bias">[out_channels], or null for none; copied.</param>
    /// <param name="options">Stride, padding, dilation and groups.</param>
    /// <param name="activation">Activation fused into the output.</param>
    /// <exception cref="ArgumentException">A shape or option is invalid (the message names it).</exception>
    public Conv2dPlan(int[] inputShape, Tensor weight, Tensor? bias, Conv2dOptions options, Activation activation = Activation.None)
    {
        ArgumentNullException.ThrowIfNull(inputShape);
        if (inputShape.Length != 4)
        {
            throw new ArgumentException(
                $"inputShape is {Tensor.FormatShape(inputShape)}; expected 4 dimensions [N, C, H, W].", nameof(inputShape));
        }

        _params = Functional.PrepareConv2d(inputShape, weight, bias, options, out _outHeight, out _outWidth);
        using TensorPin pw = weight.Pin();
        using TensorPin pb = Tensor.PinOrNull(bias);
        _handle = Conv2dPlanHandle.Create(Native.ContextPointer, _params, pw.Pointer, pb.Pointer, (CnnActivation)activation);
        CnnConv2dAlgorithm algorithm;
        CnnIsa isa;
        Native.Check(NativeMethods.cnn_conv2d_plan_get_info(_handle.DangerousGetHandle(), &algorithm, &isa, null, null));
        Algorithm = algorithm;
        Isa = isa;
    }

    /// <summary>The algorithm the plan runs (chosen at construction for its instruction set).</summary>
    public CnnConv2dAlgorithm Algorithm { get; }

    /// <summary>The instruction set the plan was packed for.</summary>
    public CnnIsa Isa { get; }

    /// <summary>The output shape for a batch of <paramref name="batch"/> images: [batch, out_channels, OH, OW].</summary>
    /// <param name="batch">The number of images (at least 1).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="batch"/> is less than 1.</exception>
    public int[] OutputShape(int batch)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batch, 1);
        return [batch, _params.OutChannels, _outHeight, _outWidth];
    }

    /// <summary>Runs the convolution into a new tensor.</summary>
    /// <param name="input">[N, C, H, W] with the C, H, W of construction, any N.</param>
    /// <returns>A new [N, out_channels, OH, OW] tensor.</returns>
    /// <exception cref="ArgumentException">The input shape does not match the plan.</exception>
    /// <exception cref="ObjectDisposedException">The plan is disposed.</exception>
    public Tensor Forward(Tensor input)
    {
        int batch = CheckInput(input);
        Tensor output = Tensor.Create(OutputShape(batch));
        try
        {
            return Forward(input, output);
        }
        catch
        {
            output.Dispose();
            throw;
        }
    }

    /// <summary>Runs the convolution into a caller-owned output (allocates nothing).</summary>
    /// <param name="input">[N, C, H, W] with the C, H, W of construction, any N.</param>
    /// <param name="output">[N, out_channels, OH, OW], not sharing storage with <paramref name="input"/>.</param>
    /// <returns><paramref name="output"/>.</returns>
    /// <exception cref="ArgumentException">A shape does not match the plan, or the tensors share storage.</exception>
    /// <exception cref="ObjectDisposedException">The plan is disposed.</exception>
    public Tensor Forward(Tensor input, Tensor output)
    {
        int batch = CheckInput(input);
        Functional.CheckOutput(output, [batch, _params.OutChannels, _outHeight, _outWidth]); // a stack span
        Functional.CheckNotAliased(output, input, nameof(input));
        output.CheckWritableUnderGrad();
        using (TensorPin pi = input.Pin())
        using (TensorPin po = output.Pin())
        {
            Run(batch, pi.Pointer, po.Pointer);
        }

        output.MarkWritten();
        output.SetGradFn(null);
        return output;
    }

    /// <summary>Runs the convolution on row-major spans: <paramref name="batch"/> images in, their outputs out.</summary>
    /// <param name="batch">The number of images (at least 1).</param>
    /// <param name="input">batch * C * H * W values.</param>
    /// <param name="output">batch * out_channels * OH * OW values, not overlapping <paramref name="input"/>.</param>
    /// <exception cref="ArgumentException">A length does not match, or the spans overlap.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="batch"/> is less than 1.</exception>
    /// <exception cref="ObjectDisposedException">The plan is disposed.</exception>
    public void Forward(int batch, ReadOnlySpan<float> input, Span<float> output)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batch, 1);
        long inLength = (long)batch * _params.InChannels * _params.InHeight * _params.InWidth;
        long outLength = (long)batch * _params.OutChannels * _outHeight * _outWidth;
        if (input.Length != inLength)
        {
            throw new ArgumentException(
                $"input has {input.Length} elements; batch {batch} of [{_params.InChannels}, {_params.InHeight}, {_params.InWidth}] needs {inLength}.",
                nameof(input));
        }

        if (output.Length != outLength)
        {
            throw new ArgumentException(
                $"output has {output.Length} elements; batch {batch} of [{_params.OutChannels}, {_outHeight}, {_outWidth}] needs {outLength}.",
                nameof(output));
        }

        if (input.Overlaps(output))
        {
            throw new ArgumentException("output overlaps input; this op cannot run in place.", nameof(output));
        }

        fixed (float* pi = input)
        fixed (float* po = output)
        {
            Run(batch, pi, po);
        }
    }

    /// <summary>Frees the packed weights (idempotent).</summary>
    public void Dispose() => _handle.Dispose();

    /// <inheritdoc />
    public override string ToString() =>
        $"Conv2dPlan([N, {_params.InChannels}, {_params.InHeight}, {_params.InWidth}] -> [N, {_params.OutChannels}, {_outHeight}, {_outWidth}], " +
        $"{Algorithm}, {Isa})";

    private void Run(int batch, float* input, float* output)
    {
        bool added = false;
        try
        {
            _handle.DangerousAddRef(ref added); // throws ObjectDisposedException once disposed
            Native.Check(NativeMethods.cnn_conv2d_plan_forward(Native.ContextPointer, _handle.DangerousGetHandle(), batch, input, output));
        }
        finally
        {
            if (added)
            {
                _handle.DangerousRelease();
            }
        }
    }

    private int CheckInput(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        ReadOnlySpan<int> x = input.Dims;
        if (x.Length != 4 || x[1] != _params.InChannels || x[2] != _params.InHeight || x[3] != _params.InWidth)
        {
            throw new ArgumentException(
                $"input has shape {Tensor.FormatShape(x)}; the plan expects [N, {_params.InChannels}, {_params.InHeight}, {_params.InWidth}].",
                nameof(input));
        }

        return x[0];
    }
}
