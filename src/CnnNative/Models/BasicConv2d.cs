using CnnNative.Nn;

namespace CnnNative.Models;

/// <summary>
/// GoogLeNet's convolution unit with torchvision's names (<c>torchvision.models.googlenet.BasicConv2d</c>): <c>conv</c>
/// (no bias) then <c>bn</c> (eps 0.001) then ReLU (functional in torchvision, fused into the batch norm here).
/// </summary>
public sealed class BasicConv2d : Module
{
    /// <summary>Creates the unit.</summary>
    /// <param name="inChannels">Input channels.</param>
    /// <param name="outChannels">Output channels.</param>
    /// <param name="kernelSize">Square kernel size.</param>
    /// <param name="stride">Stride.</param>
    /// <param name="padding">Zero padding on every side.</param>
    public BasicConv2d(int inChannels, int outChannels, int kernelSize, int stride = 1, int padding = 0)
    {
        Conv = RegisterModule("conv", new Conv2d(inChannels, outChannels, kernelSize, stride: stride, padding: padding, bias: false));
        Bn = RegisterModule("bn", new BatchNorm2d(outChannels, eps: 0.001, activation: Activation.Relu));
    }

    /// <summary>The convolution (no bias).</summary>
    public Conv2d Conv { get; }

    /// <summary>The batch norm (eps 0.001, ReLU fused).</summary>
    public BatchNorm2d Bn { get; }

    /// <inheritdoc />
    public override Tensor Forward(Tensor input)
    {
        ThrowIfDisposed();
        using Tensor c = Conv.Forward(input);
        return Bn.Forward(c);
    }
}
