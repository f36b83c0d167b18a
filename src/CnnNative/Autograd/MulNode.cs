using CnnNative.Interop;

namespace CnnNative;

/// <summary>a * b (same shape): grad_a = g * b and grad_b = g * a, each saved only if the other input needs a gradient.</summary>
internal sealed unsafe class MulNode : AutogradNode
{
    private Saved _a;
    private Saved _b;

    // aVersion/bVersion: the inputs' storage versions before the op wrote its output (it may be in place).
    public MulNode(Tensor a, int aVersion, Tensor b, int bVersion, Tensor output)
        : base([Edge.To(a), Edge.To(b)], output.Length)
    {
        if (Edges[1].Needed)
        {
            _a = Saved.Of(a, aVersion);
        }

        if (Edges[0].Needed)
        {
            _b = Saved.Of(b, bVersion);
        }
    }

    public override string Name => "MulBackward0";

    internal override void Backward(BackwardContext context, NativeBuffer gradOutput)
    {
        float* g = (float*)gradOutput.DangerousGetHandle();
        if (Edges[0].Needed)
        {
            Accumulate(context, Edges[0], g, _b.Get("b"));
        }

        if (Edges[1].Needed)
        {
            Accumulate(context, Edges[1], g, _a.Get("a"));
        }
    }

    /// <summary>Adds <c>g * other</c> to the edge's gradient (straight into a fresh destination, else through a scratch buffer).</summary>
    private void Accumulate(BackwardContext context, in Edge edge, float* g, float* other)
    {
        float* dst = context.Target(edge, out int acc);
        if (dst is null)
        {
            return;
        }

        if (acc == 0)
        {
            Native.Check(NativeMethods.cnn_mul_forward(Native.ContextPointer, OutputLength, g, other, dst));
            return;
        }

        NativeBuffer scratch = context.Rent(OutputLength);
        float* t = (float*)scratch.DangerousGetHandle();
        Native.Check(NativeMethods.cnn_mul_forward(Native.ContextPointer, OutputLength, g, other, t));
        Native.Check(NativeMethods.cnn_axpy(Native.ContextPointer, OutputLength, 1f, t, dst));
        context.Return(scratch);
    }

    private protected override void ReleaseSaved()
    {
        _a.Release();
        _b.Release();
    }
}
