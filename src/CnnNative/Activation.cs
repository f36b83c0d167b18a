using CnnNative.Interop;

namespace CnnNative;

/// <summary>
/// Element-wise activation, applied alone (<see cref="Functional.Activate(Tensor, Activation)"/>) or
/// fused into the epilogue of another op. The values equal those of the native <see cref="CnnActivation"/>.
/// </summary>
public enum Activation
{
    /// <summary>Identity: no activation.</summary>
    None = CnnActivation.None,

    /// <summary><c>max(x, 0)</c>.</summary>
    Relu = CnnActivation.Relu,

    /// <summary><c>1 / (1 + exp(-x))</c>.</summary>
    Sigmoid = CnnActivation.Sigmoid,

    /// <summary><c>tanh(x)</c>.</summary>
    Tanh = CnnActivation.Tanh,

    /// <summary><c>min(max(x, 0), 6)</c> (PyTorch's ReLU6).</summary>
    Relu6 = CnnActivation.Relu6,

    /// <summary><c>x * min(max(x + 3, 0), 6) / 6</c> (PyTorch's Hardswish). Its gradient needs the input, so it is not
    /// trainable fused into another op (apply it with <see cref="Functional.Hardswish(Tensor)"/> when training).</summary>
    Hardswish = CnnActivation.Hardswish,

    /// <summary><c>min(max(x + 3, 0), 6) / 6</c> (PyTorch's Hardsigmoid); fused, inference only (see <see cref="Hardswish"/>).</summary>
    Hardsigmoid = CnnActivation.Hardsigmoid,

    /// <summary><c>x / (1 + exp(-x))</c> (PyTorch's SiLU / Swish); fused, inference only (see <see cref="Hardswish"/>).</summary>
    Silu = CnnActivation.Silu,

    /// <summary><c>0.5 x (1 + erf(x / sqrt 2))</c> (PyTorch's exact GELU); fused, inference only (see <see cref="Hardswish"/>).</summary>
    Gelu = CnnActivation.Gelu,
}
