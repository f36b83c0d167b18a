namespace CnnNative.Nn;

// Modules of the activations torchvision's newer CNNs use (MobileNetV3, EfficientNet, RegNet, ConvNeXt).

/// <summary>x * relu6(x + 3) / 6 element-wise, PyTorch's <c>nn.Hardswish</c>.</summary>
public sealed class Hardswish : Module
{
    /// <inheritdoc />
    public override Tensor Forward(Tensor input)
    {
        ThrowIfDisposed();
        return Functional.Hardswish(input);
    }
}

/// <summary>relu6(x + 3) / 6 element-wise, PyTorch's <c>nn.Hardsigmoid</c>.</summary>
public sealed class Hardsigmoid : Module
{
    /// <inheritdoc />
    public override Tensor Forward(Tensor input)
    {
        ThrowIfDisposed();
        return Functional.Hardsigmoid(input);
    }
}

/// <summary>x * sigmoid(x) element-wise, PyTorch's <c>nn.SiLU</c>.</summary>
public sealed class SiLU : Module
{
    /// <inheritdoc />
    public override Tensor Forward(Tensor input)
    {
        ThrowIfDisposed();
        return Functional.Silu(input);
    }
}

/// <summary>x * Phi(x) element-wise (the exact, erf form), PyTorch's <c>nn.GELU()</c>.</summary>
public sealed class GELU : Module
{
    /// <inheritdoc />
    public override Tensor Forward(Tensor input)
    {
        ThrowIfDisposed();
        return Functional.Gelu(input);
    }
}
