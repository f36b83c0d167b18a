using System.Runtime.InteropServices;
using CnnNative.Interop;

namespace CnnNative.Inference;

/// <summary>
/// The prepacked convolutions of a session (<c>cnn_conv2d_plan</c>, one per Conv2d step, created once
/// after batch-norm folding, so runs do not re-pack constant weights), destroyed together. One
/// <see cref="SafeHandle"/> for all of them so that a run takes one reference, like the constants.
/// </summary>
internal sealed unsafe class Conv2dPlanSet : SafeHandle
{
    private readonly nint[] _plans;

    private Conv2dPlanSet(int steps)
        : base(nint.Zero, ownsHandle: true)
    {
        _plans = new nint[steps];
    }

    /// <inheritdoc />
    public override bool IsInvalid => handle == nint.Zero;

    /// <summary>The <c>cnn_conv2d_plan*</c> of Conv2d step <paramref name="step"/> (zero for other steps).</summary>
    public nint this[int step] => _plans[step];

    /// <summary>Native bytes all the plans hold (packed weights, bias copies, headers: <c>cnn_conv2d_plan_get_bytes</c>).</summary>
    public long Bytes { get; private set; }

    /// <summary>
    /// Plans for every Conv2d step, packed for <paramref name="isa"/> from <paramref name="weights"/> (by step index),
    /// which the plans copy: the caller need not keep them.
    /// </summary>
    public static Conv2dPlanSet Create(Step[] steps, (float[] Weight, float[]? Bias)[] weights, CnnIsa isa, int numThreads)
    {
        var set = new Conv2dPlanSet(steps.Length);
        set.SetHandle(1); // owns whatever is in _plans from here on
        try
        {
            using ContextHandle context = ContextHandle.Create(isa, numThreads);
            nint ctx = context.DangerousGetHandle();
            for (int i = 0; i < steps.Length; i++)
            {
                ref Step s = ref steps[i];
                if (s.Kind != OpKind.Conv2d)
                {
                    continue;
                }

                nint plan;
                fixed (CnnConv2dParams* p = &s.Conv)
                fixed (float* weight = weights[i].Weight)
                fixed (float* bias = weights[i].Bias)
                {
                    Native.Check(NativeMethods.cnn_conv2d_plan_create(ctx, p, weight, bias, s.Activation, &plan));
                }

                set._plans[i] = plan;
                long bytes;
                Native.Check(NativeMethods.cnn_conv2d_plan_get_bytes(plan, &bytes));
                set.Bytes += bytes;
            }

            return set;
        }
        catch
        {
            set.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    protected override bool ReleaseHandle()
    {
        foreach (nint plan in _plans)
        {
            NativeMethods.cnn_conv2d_plan_destroy(plan);
        }

        return true;
    }
}
