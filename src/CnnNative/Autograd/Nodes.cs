using System.Runtime.InteropServices;
using CnnNative.Interop;

namespace CnnNative;

// The backward nodes of the Functional ops. Each saves only what its backward needs for the inputs
// that need a gradient, and calls the native backward kernels with accumulate = 1 straight into the
// destination when it already holds a gradient (no extra pass).

/// <summary>Reshape/Flatten view: the gradient passes through unchanged (same element count).</summary>
internal sealed class ViewNode : AutogradNode
{
    public ViewNode(Edge input, long length)
        : base([input], length)
    {
    }

    public override string Name => "ViewBackward";

    internal override void Backward(BackwardContext context, NativeBuffer gradOutput)
    {
        context.StoleCurrent = context.Pass(Edges[0], gradOutput, OutputLength, canSteal: true);
    }

    private protected override void ReleaseSaved()
    {
    }
}

/// <summary>Helpers shared by the nodes.</summary>
internal static unsafe class NodeHelpers
{
    /// <summary>
    /// Applies the backward of a fused activation: returns <paramref name="gradOutput"/> itself for none,
    /// else a rented buffer with <c>act'(y) * g</c> (return it with <see cref="BackwardContext.Return"/>).
    /// </summary>
    public static float* ActivationGrad(BackwardContext context, CnnActivation activation, ref Saved output, long count,
        float* gradOutput, out NativeBuffer? rented)
    {
        rented = null;
        if (activation == CnnActivation.None)
        {
            return gradOutput;
        }

        rented = context.Rent(count);
        float* g = (float*)rented.DangerousGetHandle();
        Native.Check(NativeMethods.cnn_activation_backward(
            Native.ContextPointer, activation, count, output.Get("output"), gradOutput, 0, g));
        return g;
    }

    /// <summary>The accumulate flag for one kernel writing several destinations (1 if any already holds a gradient).</summary>
    public static int SharedAccumulate(in Edge a, in Edge b) =>
        BackwardContext.IsFresh(a) && BackwardContext.IsFresh(b) ? 0 : 1;

    /// <inheritdoc cref="SharedAccumulate(in Edge, in Edge)"/>
    public static int SharedAccumulate(in Edge a, in Edge b, in Edge c) =>
        BackwardContext.IsFresh(a) && BackwardContext.IsFresh(b) && BackwardContext.IsFresh(c) ? 0 : 1;

    /// <summary>
    /// Bias gradient without the weight gradient (a frozen weight): the sum of <paramref name="g"/>
    /// [outer, channels, inner] over outer and inner, added to the edge's gradient.
    /// </summary>
    public static void BiasOnly(BackwardContext context, in Edge bias, float* g, int outer, int channels, long inner)
    {
        float* target = context.Target(bias, zeroIfFresh: false, out bool fresh);
        if (target is null)
        {
            return;
        }

        for (int c = 0; c < channels; c++)
        {
            double sum = 0;
            for (int n = 0; n < outer; n++)
            {
                float* plane = g + ((long)n * channels + c) * inner;
                for (long i = 0; i < inner; i++)
                {
                    sum += plane[i];
                }
            }

            target[c] = fresh ? (float)sum : target[c] + (float)sum;
        }
    }

    /// <summary>A rented buffer of count floats, zero-filled when <paramref name="zero"/>.</summary>
    public static float* RentScratch(BackwardContext context, long count, bool zero, out NativeBuffer rented)
    {
        rented = context.Rent(count);
        float* p = (float*)rented.DangerousGetHandle();
        if (zero)
        {
            NativeMemory.Clear(p, (nuint)(count * sizeof(float)));
        }

        return p;
    }
}

/// <summary>
/// Shared backward of the affine layers (Conv2d, Linear) with a fused activation: input gradient from the saved
/// weight, weight and bias gradients from the saved input, bias-only reduction when the weight needs no gradient.
/// </summary>
internal abstract unsafe class AffineNode : AutogradNode
{
    private readonly CnnActivation _activation;
    private Saved _input;
    private Saved _weight;
    private Saved _output;

    private protected AffineNode(CnnActivation activation, Tensor input, int inputVersion, Tensor weight, int weightVersion,
        Tensor? bias, Tensor output)
        : base([Edge.To(input), Edge.To(weight), Edge.To(bias)], output.Length)
    {
        _activation = activation;
        if (Edges[0].Needed)
        {
            _weight = Saved.Of(weight, weightVersion);
        }

        if (Edges[1].Needed)
        {
            _input = Saved.Of(input, inputVersion);
        }

        if (activation != CnnActivation.None)
        {
            _output = Saved.Of(output);
        }
    }

    /// <summary>Input gradient: <paramref name="dst"/> (accumulate when <paramref name="acc"/> is 1) from <paramref name="g"/>.</summary>
    private protected abstract void BackwardData(float* g, float* weight, int acc, float* dst);

    /// <summary>Weight (and, when <paramref name="gb"/> is not null, bias) gradients from <paramref name="g"/>.</summary>
    private protected abstract void BackwardWeights(float* input, float* g, int acc, float* gw, float* gb);

    /// <summary>Bias gradient alone (the weight needs none).</summary>
    private protected abstract void BiasOnly(BackwardContext context, in Edge biasEdge, float* g);

    internal sealed override void Backward(BackwardContext context, NativeBuffer gradOutput)
    {
        float* g = NodeHelpers.ActivationGrad(context, _activation, ref _output, OutputLength,
            (float*)gradOutput.DangerousGetHandle(), out NativeBuffer? rented);
        try
        {
            Edge[] e = Edges;
            if (e[0].Needed)
            {
                float* dst = context.Target(e[0], out int acc);
                if (dst is not null)
                {
                    BackwardData(g, _weight.Get("weight"), acc, dst);
                }
            }

            if (e[1].Needed)
            {
                int acc = NodeHelpers.SharedAccumulate(e[1], e[2]);
                float* gw = context.Target(e[1], zeroIfFresh: acc == 1, out _);
                float* gb = e[2].Needed ? context.Target(e[2], zeroIfFresh: acc == 1, out _) : null;
                if (gw is not null)
                {
                    BackwardWeights(_input.Get("input"), g, acc, gw, gb);
                }
                else if (gb is not null)
                {
                    BiasOnly(context, e[2], g);
                }
            }
            else if (e[2].Needed)
            {
                BiasOnly(context, e[2], g);
            }
        }
        finally
        {
            if (rented is not null)
            {
                context.Return(rented);
            }
        }
    }

    private protected sealed override void ReleaseSaved()
    {
        _input.Release();
        _weight.Release();
        _output.Release();
    }
}

/// <summary>Conv2d (+ fused activation): gradients for input, weight and bias.</summary>
internal sealed unsafe class Conv2dNode : AffineNode
{
    private readonly CnnConv2dParams _params;

    public Conv2dNode(in CnnConv2dParams p, CnnActivation activation, Tensor input, int inputVersion, Tensor weight, int weightVersion,
        Tensor? bias, Tensor output)
        : base(activation, input, inputVersion, weight, weightVersion, bias, output)
    {
        _params = p;
    }

    public override string Name => "ConvolutionBackward";

    private protected override void BackwardData(float* g, float* weight, int acc, float* dst)
    {
        CnnConv2dParams p = _params;
        Native.Check(NativeMethods.cnn_conv2d_backward_data(Native.ContextPointer, &p, g, weight, acc, dst));
    }

    private protected override void BackwardWeights(float* input, float* g, int acc, float* gw, float* gb)
    {
        CnnConv2dParams p = _params;
        Native.Check(NativeMethods.cnn_conv2d_backward_weights(Native.ContextPointer, &p, input, g, acc, gw, gb));
    }

    private protected override void BiasOnly(BackwardContext context, in Edge biasEdge, float* g)
    {
        CnnConv2dParams p = _params;
        NodeHelpers.BiasOnly(context, biasEdge, g, p.Batch, p.OutChannels, OutputLength / ((long)p.Batch * p.OutChannels));
    }
}

/// <summary>Linear (+ fused activation): gradients for input, weight and bias.</summary>
internal sealed unsafe class LinearNode : AffineNode
{
    private readonly int _batch;
    private readonly int _in;
    private readonly int _out;

    public LinearNode(int batch, int inFeatures, int outFeatures, CnnActivation activation, Tensor input, int inputVersion, Tensor weight,
        int weightVersion, Tensor? bias, Tensor output)
        : base(activation, input, inputVersion, weight, weightVersion, bias, output)
    {
        _batch = batch;
        _in = inFeatures;
        _out = outFeatures;
    }

    public override string Name => "AddmmBackward";

    private protected override void BackwardData(float* g, float* weight, int acc, float* dst) =>
        Native.Check(NativeMethods.cnn_linear_backward_data(Native.ContextPointer, _batch, _in, _out, g, weight, acc, dst));

    private protected override void BackwardWeights(float* input, float* g, int acc, float* gw, float* gb) =>
        Native.Check(NativeMethods.cnn_linear_backward_weights(Native.ContextPointer, _batch, _in, _out, input, g, acc, gw, gb));

    private protected override void BiasOnly(BackwardContext context, in Edge biasEdge, float* g) =>
        NodeHelpers.BiasOnly(context, biasEdge, g, _batch, _out, 1);
}

/// <summary>Max / average / LP pooling.</summary>
internal sealed unsafe class Pool2dNode : AutogradNode
{
    private readonly CnnPool2dParams _params;
    private Saved _input;

    public Pool2dNode(in CnnPool2dParams p, Tensor input, int inputVersion, Tensor output)
        : base([Edge.To(input)], output.Length)
    {
        _params = p;
        if (p.Kind != CnnPoolKind.Average) // average pooling's backward needs neither input nor output
        {
            _input = Saved.Of(input, inputVersion);
        }
    }

    public override string Name => _params.Kind switch
    {
        CnnPoolKind.Max => "MaxPool2DWithIndicesBackward",
        CnnPoolKind.Average => "AvgPool2DBackward",
        _ => "LpPool2DBackward",
    };

    internal override void Backward(BackwardContext context, NativeBuffer gradOutput)
    {
        CnnPool2dParams p = _params;
        float* dst = context.Target(Edges[0], out int acc);
        if (dst is null)
        {
            return;
        }

        Native.Check(NativeMethods.cnn_pool2d_backward(Native.ContextPointer, &p, _input.GetOrNull("input"), null,
            (float*)gradOutput.DangerousGetHandle(), acc, dst));
    }

    private protected override void ReleaseSaved() => _input.Release();
}

/// <summary>Global average pooling.</summary>
internal sealed unsafe class GlobalAvgPool2dNode : AutogradNode
{
    private readonly int _n, _c, _h, _w;

    public GlobalAvgPool2dNode(int n, int c, int h, int w, Tensor input, Tensor output)
        : base([Edge.To(input)], output.Length)
    {
        (_n, _c, _h, _w) = (n, c, h, w);
    }

    public override string Name => "MeanBackward";

    internal override void Backward(BackwardContext context, NativeBuffer gradOutput)
    {
        float* dst = context.Target(Edges[0], out int acc);
        if (dst is not null)
        {
            Native.Check(NativeMethods.cnn_global_average_pool2d_backward(
                Native.ContextPointer, _n, _c, _h, _w, (float*)gradOutput.DangerousGetHandle(), acc, dst));
        }
    }

    private protected override void ReleaseSaved()
    {
    }
}

/// <summary>
/// Batch norm, eval form (running statistics as constants) or training form (batch statistics, the
/// gradient flowing through them), with a fused activation: gradients for input, weight and bias.
/// </summary>
internal sealed unsafe class BatchNorm2dNode : AutogradNode
{
    private readonly CnnBatchNorm2dParams _params;
    private readonly CnnActivation _activation;
    private readonly int _batchStatistics;
    private Saved _input;
    private Saved _weight;
    private Saved _output;
    private NativeBuffer? _stats; // mean [C] then invstd [C]

    public BatchNorm2dNode(in CnnBatchNorm2dParams p, CnnActivation activation, bool batchStatistics, Tensor input, int inputVersion,
        Tensor? weight, int weightVersion, Tensor? bias, NativeBuffer stats, Tensor output)
        : base([Edge.To(input), Edge.To(weight), Edge.To(bias)], output.Length)
    {
        _params = p;
        _activation = activation;
        _batchStatistics = batchStatistics ? 1 : 0;
        _stats = stats;
        _input = Saved.Of(input, inputVersion);
        if (weight is not null)
        {
            _weight = Saved.Of(weight, weightVersion);
        }

        if (activation != CnnActivation.None)
        {
            _output = Saved.Of(output);
        }
    }

    public override string Name => "NativeBatchNormBackward";

    internal override void Backward(BackwardContext context, NativeBuffer gradOutput)
    {
        CnnBatchNorm2dParams p = _params;
        NativeBuffer stats = _stats ?? throw new InvalidOperationException("autograd: batch norm statistics already freed (graph already freed).");
        float* mean = (float*)stats.DangerousGetHandle();
        float* invstd = mean + p.Channels;
        float* g = NodeHelpers.ActivationGrad(context, _activation, ref _output, OutputLength,
            (float*)gradOutput.DangerousGetHandle(), out NativeBuffer? rented);
        NativeBuffer? scratch = null;
        try
        {
            Edge[] e = Edges;
            int acc = NodeHelpers.SharedAccumulate(e[0], e[1], e[2]);
            float* gi = e[0].Needed ? context.Target(e[0], zeroIfFresh: acc == 1, out _) : null;
            if (gi is null)
            {
                gi = NodeHelpers.RentScratch(context, OutputLength, acc == 1, out scratch);
            }

            float* gw = e[1].Needed ? context.Target(e[1], zeroIfFresh: acc == 1, out _) : null;
            float* gb = e[2].Needed ? context.Target(e[2], zeroIfFresh: acc == 1, out _) : null;
            Native.Check(NativeMethods.cnn_batch_norm2d_backward(Native.ContextPointer, &p, _input.Get("input"), g,
                _weight.GetOrNull("weight"), mean, invstd, _batchStatistics, acc, gi, gw, gb));
        }
        finally
        {
            if (rented is not null)
            {
                context.Return(rented);
            }

            if (scratch is not null)
            {
                context.Return(scratch);
            }
        }
    }

    private protected override void ReleaseSaved()
    {
        _input.Release();
        _weight.Release();
        _output.Release();
        Interlocked.Exchange(ref _stats, null)?.Dispose();
    }
}

/// <summary>ReLU / sigmoid / tanh / ReLU6 (from the forward output), or a copy (activation none).</summary>
internal sealed unsafe class ActivationNode : AutogradNode
{
    private readonly CnnActivation _activation;
    private Saved _output;

    public ActivationNode(CnnActivation activation, Tensor input, Tensor output)
        : base([Edge.To(input)], output.Length)
    {
        _activation = activation;
        if (activation != CnnActivation.None)
        {
            // _output holds the forward input for the activations whose derivative needs it.
            _output = Saved.Of(Functional.GradientNeedsInput((Activation)activation) ? input : output);
        }
    }

    public override string Name => _activation switch
    {
        CnnActivation.Relu => "ReluBackward",
        CnnActivation.Sigmoid => "SigmoidBackward",
        CnnActivation.Tanh => "TanhBackward",
        CnnActivation.Relu6 => "HardtanhBackward",
        CnnActivation.Hardswish => "HardswishBackward",
        CnnActivation.Hardsigmoid => "HardsigmoidBackward",
        CnnActivation.Silu => "SiluBackward",
        CnnActivation.Gelu => "GeluBackward",
        _ => "CloneBackward",
    };

    internal override void Backward(BackwardContext context, NativeBuffer gradOutput)
    {
        if (_activation == CnnActivation.None)
        {
            context.StoleCurrent = context.Pass(Edges[0], gradOutput, OutputLength, canSteal: true);
            return;
        }

        float* dst = context.Target(Edges[0], out int acc);
        if (dst is not null)
        {
            float* g = (float*)gradOutput.DangerousGetHandle();
            Native.Check(Functional.GradientNeedsInput((Activation)_activation)
                ? NativeMethods.cnn_activation_backward_from_input(Native.ContextPointer, _activation, OutputLength, _output.Get("input"), g, acc, dst)
                : NativeMethods.cnn_activation_backward(Native.ContextPointer, _activation, OutputLength, _output.Get("output"), g, acc, dst));
        }
    }

    private protected override void ReleaseSaved() => _output.Release();
}

/// <summary>Softmax / log-softmax (from the forward output).</summary>
internal sealed unsafe class SoftmaxNode : AutogradNode
{
    private readonly int _outer, _classes, _inner, _log;
    private Saved _output;

    public SoftmaxNode(int outer, int classes, int inner, bool log, Tensor input, Tensor output)
        : base([Edge.To(input)], output.Length)
    {
        (_outer, _classes, _inner, _log) = (outer, classes, inner, log ? 1 : 0);
        _output = Saved.Of(output);
    }

    public override string Name => _log != 0 ? "LogSoftmaxBackward" : "SoftmaxBackward";

    internal override void Backward(BackwardContext context, NativeBuffer gradOutput)
    {
        float* dst = context.Target(Edges[0], out int acc);
        if (dst is not null)
        {
            Native.Check(NativeMethods.cnn_softmax_backward(Native.ContextPointer, _outer, _classes, _inner, _log, _output.Get("output"),
                (float*)gradOutput.DangerousGetHandle(), acc, dst));
        }
    }

    private protected override void ReleaseSaved() => _output.Release();
}

/// <summary>a + b (+ fused activation): the same gradient to both inputs.</summary>
internal sealed unsafe class AddNode : AutogradNode
{
    private readonly CnnActivation _activation;
    private Saved _output;

    public AddNode(CnnActivation activation, Tensor a, Tensor b, Tensor output)
        : base([Edge.To(a), Edge.To(b)], output.Length)
    {
        _activation = activation;
        if (activation != CnnActivation.None)
        {
            _output = Saved.Of(output);
        }
    }

    public override string Name => "AddBackward";

    internal override void Backward(BackwardContext context, NativeBuffer gradOutput)
    {
        NativeBuffer source = gradOutput;
        bool own = false;
        if (_activation != CnnActivation.None)
        {
            source = context.Rent(OutputLength);
            own = true;
            Native.Check(NativeMethods.cnn_activation_backward(Native.ContextPointer, _activation, OutputLength, _output.Get("output"),
                (float*)gradOutput.DangerousGetHandle(), 0, (float*)source.DangerousGetHandle()));
        }

        Edge[] e = Edges;
        bool stolen;
        if (e[0].Needed && e[1].Needed)
        {
            context.Pass(e[1], source, OutputLength, canSteal: false); // first: a copy (or sum), then a may take the buffer
            stolen = context.Pass(e[0], source, OutputLength, canSteal: true);
        }
        else
        {
            stolen = context.Pass(e[0].Needed ? e[0] : e[1], source, OutputLength, canSteal: true);
        }

        if (own)
        {
            if (!stolen)
            {
                context.Return(source);
            }
        }
        else
        {
            context.StoleCurrent = stolen;
        }
    }

    private protected override void ReleaseSaved() => _output.Release();
}

/// <summary>Cross-entropy: the gradient of the logits was computed by the forward pass.</summary>
internal sealed unsafe class CrossEntropyNode : AutogradNode
{
    private NativeBuffer? _gradLogits;
    private readonly long _count;

    public CrossEntropyNode(Tensor logits, NativeBuffer gradLogits, long count)
        : base([Edge.To(logits)], 1)
    {
        _gradLogits = gradLogits;
        _count = count;
    }

    public override string Name => "NllLossBackward";

    internal override void Backward(BackwardContext context, NativeBuffer gradOutput)
    {
        NativeBuffer grad = _gradLogits ?? throw new InvalidOperationException("autograd: graph already freed.");
        float scale = *(float*)gradOutput.DangerousGetHandle();
        if (scale == 1f && !context.RetainGraph)
        {
            if (context.Pass(Edges[0], grad, _count, canSteal: true))
            {
                _gradLogits = null;
            }

            return;
        }

        context.Accumulate(Edges[0], (float*)grad.DangerousGetHandle(), _count, scale);
    }

    private protected override void ReleaseSaved() => Interlocked.Exchange(ref _gradLogits, null)?.Dispose();
}

/// <summary>Mean squared error: gradients 2 (p - t) / n for the prediction and its negation for the target.</summary>
internal sealed unsafe class MseLossNode : AutogradNode
{
    private NativeBuffer? _gradPrediction;
    private readonly long _count;

    public MseLossNode(Tensor prediction, Tensor target, NativeBuffer gradPrediction, long count)
        : base([Edge.To(prediction), Edge.To(target)], 1)
    {
        _gradPrediction = gradPrediction;
        _count = count;
    }

    public override string Name => "MseLossBackward";

    internal override void Backward(BackwardContext context, NativeBuffer gradOutput)
    {
        NativeBuffer grad = _gradPrediction ?? throw new InvalidOperationException("autograd: graph already freed.");
        float scale = *(float*)gradOutput.DangerousGetHandle();
        float* g = (float*)grad.DangerousGetHandle();
        if (Edges[1].Needed)
        {
            context.Accumulate(Edges[1], g, _count, -scale);
        }

        if (scale == 1f && !context.RetainGraph)
        {
            if (context.Pass(Edges[0], grad, _count, canSteal: true))
            {
                _gradPrediction = null;
            }

            return;
        }

        context.Accumulate(Edges[0], g, _count, scale);
    }

    private protected override void ReleaseSaved() => Interlocked.Exchange(ref _gradPrediction, null)?.Dispose();
}

/// <summary>Dropout: the gradient times the saved mask (0 or 1/(1-p)).</summary>
internal sealed unsafe class DropoutNode : AutogradNode
{
    private NativeBuffer? _mask; // null for p = 1 (all dropped)
    private bool _freed;

    public DropoutNode(Tensor input, NativeBuffer? mask, long count)
        : base([Edge.To(input)], count)
    {
        _mask = mask;
    }

    public override string Name => "NativeDropoutBackward";

    internal override void Backward(BackwardContext context, NativeBuffer gradOutput)
    {
        if (_freed)
        {
            throw new InvalidOperationException("autograd: graph already freed.");
        }

        float* dst = context.Target(Edges[0], out int acc);
        if (dst is null)
        {
            return;
        }

        if (_mask is null)
        {
            if (acc == 0)
            {
                NativeMemory.Clear(dst, (nuint)(OutputLength * sizeof(float)));
            }

            return;
        }

        float* g = (float*)gradOutput.DangerousGetHandle();
        float* m = (float*)_mask.DangerousGetHandle();
        if (acc == 0)
        {
            Native.Check(NativeMethods.cnn_mul_forward(Native.ContextPointer, OutputLength, g, m, dst));
        }
        else
        {
            // The node's own gradient buffer is free to overwrite: mask it in place, then add.
            Native.Check(NativeMethods.cnn_mul_forward(Native.ContextPointer, OutputLength, g, m, g));
            Native.Check(NativeMethods.cnn_axpy(Native.ContextPointer, OutputLength, 1f, g, dst));
        }
    }

    private protected override void ReleaseSaved()
    {
        _freed = true;
        Interlocked.Exchange(ref _mask, null)?.Dispose();
    }
}
