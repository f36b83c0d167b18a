using System.Runtime.InteropServices;

namespace CnnNative.Interop;

/// <summary>Owns a native <c>cnn_conv2d_plan*</c>; releases it with <c>cnn_conv2d_plan_destroy</c>.</summary>
internal sealed class Conv2dPlanHandle : SafeHandle
{
    /// <summary>Creates an empty (invalid) handle; <see cref="Attach"/> gives it its plan.</summary>
    public Conv2dPlanHandle()
        : base(nint.Zero, ownsHandle: true)
    {
    }

    /// <inheritdoc />
    public override bool IsInvalid => handle == nint.Zero;

    /// <summary>Takes ownership of a plan from <c>cnn_conv2d_plan_create</c>.</summary>
    internal void Attach(nint plan) => SetHandle(plan);

    /// <summary>Creates a plan on <paramref name="context"/> (its ISA fixes the packed layout); the weights are copied.</summary>
    /// <exception cref="ArgumentException">The native validation failed (message names the value).</exception>
    internal static unsafe Conv2dPlanHandle Create(nint context, in CnnConv2dParams p, float* weight, float* bias, CnnActivation activation)
    {
        var handle = new Conv2dPlanHandle();
        nint plan;
        fixed (CnnConv2dParams* pp = &p)
        {
            Native.Check(NativeMethods.cnn_conv2d_plan_create(context, pp, weight, bias, activation, &plan));
        }

        handle.Attach(plan);
        return handle;
    }

    /// <inheritdoc />
    protected override bool ReleaseHandle()
    {
        NativeMethods.cnn_conv2d_plan_destroy(handle);
        return true;
    }
}
