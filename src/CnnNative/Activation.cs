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
}
