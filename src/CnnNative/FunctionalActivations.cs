using CnnNative.Interop;

namespace CnnNative;

// The activations whose gradient needs the forward input (Hardswish, Hardsigmoid, SiLU, GELU): their
// Functional entry points, and the guards that keep them out of the places that can only save the output
// (fused epilogues while recording, in-place while recording).
public static partial class Functional
{
    /// <summary><c>x * min(max(x + 3, 0), 6) / 6</c> element-wise (PyTorch's <c>hardswish</c>; MobileNetV3).</summary>
    /// <param name="input">Any shape.</param>
    /// <returns>A new tensor of the input's shape.</returns>
    public static Tensor Hardswish(Tensor input) => Activate(input, Activation.Hardswish);

    /// <summary><c>min(max(x + 3, 0), 6) / 6</c> element-wise (PyTorch's <c>hardsigmoid</c>; MobileNetV3's squeeze-excitation gate).</summary>
    /// <param name="input">Any shape.</param>
    /// <returns>A new tensor of the input's shape.</returns>
    public static Tensor Hardsigmoid(Tensor input) => Activate(input, Activation.Hardsigmoid);

    /// <summary><c>x / (1 + exp(-x))</c> element-wise (PyTorch's <c>silu</c>, Swish; EfficientNet, RegNetY).</summary>
    /// <param name="input">Any shape.</param>
    /// <returns>A new tensor of the input's shape.</returns>
    public static Tensor Silu(Tensor input) => Activate(input, Activation.Silu);

    /// <summary><c>0.5 x (1 + erf(x / sqrt 2))</c> element-wise (PyTorch's exact <c>gelu</c>; ConvNeXt).</summary>
    /// <param name="input">Any shape.</param>
    /// <returns>A new tensor of the input's shape.</returns>
    public static Tensor Gelu(Tensor input) => Activate(input, Activation.Gelu);

    /// <summary>Whether the activation's derivative is a function of its input only (not of its output).</summary>
    internal static bool GradientNeedsInput(Activation activation) =>
        activation is Activation.Hardswish or Activation.Hardsigmoid or Activation.Silu or Activation.Gelu;

    /// <summary>
    /// A fused epilogue saves only the op's output for backward; an activation whose gradient needs the
    /// pre-activation values cannot be trained fused. Throws before anything is computed.
    /// </summary>
    private static void CheckFusedTrainable(Activation activation, bool record)
    {
        if (record && GradientNeedsInput(activation))
        {
            throw new NotSupportedException(
                $"activation {activation} fused into another op has no gradient (its derivative needs the pre-activation values); " +
                $"run the op with Activation.None and apply Functional.Activate(x, Activation.{activation}) separately, or disable grad.");
        }
    }

    /// <summary>In place, the input an input-derivative activation must save would be overwritten.</summary>
    private static void CheckActivationInPlace(Activation activation, Tensor input, Tensor output, bool record)
    {
        if (record && GradientNeedsInput(activation) && ReferenceEquals(input, output))
        {
            throw new NotSupportedException(
                $"activation {activation} in place has no gradient (backward needs the input it would overwrite); use a separate output.");
        }
    }
}
