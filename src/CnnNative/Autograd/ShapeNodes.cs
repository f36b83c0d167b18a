using CnnNative.Interop;

namespace CnnNative;

// Backward nodes of the ops in FunctionalShape.cs (clamp, concat, narrow, adaptive average
// pooling, scale/shift); ReLU6 and Conv1d reuse ActivationNode and Conv2dNode.

/// <summary>Clamp: the gradient where min &lt;= x &lt;= max (from the saved input).</summary>
internal sealed unsafe class ClampNode : AutogradNode
{
    private readonly float _min, _max;
    private Saved _input;

    public ClampNode(float min, float max, Tensor input, int inputVersion, Tensor output)
        : base([Edge.To(input)], output.Length)
    {
        (_min, _max) = (min, max);
        _input = Saved.Of(input, inputVersion);
    }

    public override string Name => "ClampBackward";

    internal override void Backward(BackwardContext context, NativeBuffer gradOutput)
    {
        float* dst = context.Target(Edges[0], out int acc);
        if (dst is not null)
        {
            Native.Check(NativeMethods.cnn_clip_backward(Native.ContextPointer, OutputLength, _input.Get("input"),
                (float*)gradOutput.DangerousGetHandle(), _min, _max, dst, acc));
        }
    }

    private protected override void ReleaseSaved() => _input.Release();
}

/// <summary>Concat: each input gets its slice of the gradient (a strided block copy).</summary>
internal sealed unsafe class ConcatNode : AutogradNode
{
    private readonly long _outer, _dstStride;
    private readonly long[] _blocks;

    public ConcatNode(IReadOnlyList<Tensor> inputs, long outer, long[] blocks, long dstStride, Tensor output)
        : base(inputs.Select(t => Edge.To(t)).ToArray(), output.Length)
    {
        (_outer, _blocks, _dstStride) = (outer, blocks, dstStride);
    }

    public override string Name => "CatBackward";

    internal override void Backward(BackwardContext context, NativeBuffer gradOutput)
    {
        float* g = (float*)gradOutput.DangerousGetHandle();
        long offset = 0;
        for (int i = 0; i < _blocks.Length; i++)
        {
            int acc = 0;
            float* dst = Edges[i].Needed ? context.Target(Edges[i], out acc) : null;
            if (dst is not null)
            {
                Native.Check(NativeMethods.cnn_copy_blocks(Native.ContextPointer, _outer, _blocks[i], g + offset, _dstStride,
                    dst, _blocks[i], acc));
            }

            offset += _blocks[i];
        }
    }

    private protected override void ReleaseSaved()
    {
    }
}

/// <summary>Narrow (copy): the gradient goes to the narrowed slice of the input, zero elsewhere.</summary>
internal sealed unsafe class NarrowNode : AutogradNode
{
    private readonly long _outer, _block, _srcStride, _offset;

    public NarrowNode(Tensor input, long outer, long block, long srcStride, long offset, Tensor output)
        : base([Edge.To(input)], output.Length)
    {
        (_outer, _block, _srcStride, _offset) = (outer, block, srcStride, offset);
    }

    public override string Name => "NarrowBackward";

    internal override void Backward(BackwardContext context, NativeBuffer gradOutput)
    {
        float* dst = context.Target(Edges[0], zeroIfFresh: true, out bool fresh);
        if (dst is not null)
        {
            Native.Check(NativeMethods.cnn_copy_blocks(Native.ContextPointer, _outer, _block, (float*)gradOutput.DangerousGetHandle(),
                _block, dst + _offset, _srcStride, fresh ? 0 : 1));
        }
    }

    private protected override void ReleaseSaved()
    {
    }
}

/// <summary>Adaptive average pooling to any size.</summary>
internal sealed unsafe class AdaptiveAvgPool2dNode : AutogradNode
{
    private readonly int _n, _c, _h, _w, _oh, _ow;

    public AdaptiveAvgPool2dNode(int n, int c, int h, int w, int oh, int ow, Tensor input, Tensor output)
        : base([Edge.To(input)], output.Length)
    {
        (_n, _c, _h, _w, _oh, _ow) = (n, c, h, w, oh, ow);
    }

    public override string Name => "AdaptiveAvgPool2DBackward";

    internal override void Backward(BackwardContext context, NativeBuffer gradOutput)
    {
        float* dst = context.Target(Edges[0], out int acc);
        if (dst is not null)
        {
            Native.Check(NativeMethods.cnn_adaptive_avg_pool2d_backward(Native.ContextPointer, _n, _c, _h, _w, _oh, _ow,
                (float*)gradOutput.DangerousGetHandle(), dst, acc));
        }
    }

    private protected override void ReleaseSaved()
    {
    }
}

/// <summary>Scale/shift by constants: grad_input = g * scale (the gradient itself without a scale).</summary>
internal sealed unsafe class ScaleShiftNode : AutogradNode
{
    private readonly long _outer, _channels, _inner;
    private readonly float[]? _scale;

    public ScaleShiftNode(long outer, long channels, long inner, float[]? scale, Tensor input, Tensor output)
        : base([Edge.To(input)], output.Length)
    {
        (_outer, _channels, _inner, _scale) = (outer, channels, inner, scale);
    }

    public override string Name => "MulBackward";

    internal override void Backward(BackwardContext context, NativeBuffer gradOutput)
    {
        if (_scale is null)
        {
            context.StoleCurrent = context.Pass(Edges[0], gradOutput, OutputLength, canSteal: true);
            return;
        }

        float* dst = context.Target(Edges[0], zeroIfFresh: false, out bool fresh);
        if (dst is null)
        {
            return;
        }

        float* g = (float*)gradOutput.DangerousGetHandle();
        fixed (float* s = _scale)
        {
            if (fresh)
            {
                Native.Check(NativeMethods.cnn_scale_shift_forward(Native.ContextPointer, _outer, _channels, _inner, g, s, null, dst));
                return;
            }

            // The destination holds a gradient already: scale into a rented buffer, then add.
            float* scaled = NodeHelpers.RentScratch(context, OutputLength, zero: false, out NativeBuffer rented);
            try
            {
                Native.Check(NativeMethods.cnn_scale_shift_forward(Native.ContextPointer, _outer, _channels, _inner, g, s, null, scaled));
                Native.Check(NativeMethods.cnn_axpy(Native.ContextPointer, OutputLength, 1f, scaled, dst));
            }
            finally
            {
                context.Return(rented);
            }
        }
    }

    private protected override void ReleaseSaved()
    {
    }
}
