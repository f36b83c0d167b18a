using CnnNative.Nn;

namespace CnnNative.Models;

/// <summary>
/// MobileNetV2's inverted residual block with torchvision's names (<c>torchvision.models.mobilenetv2.InvertedResidual</c>):
/// a single child <c>conv</c> = Sequential(
/// [1x1 expansion Conv2dNormActivation (conv, BN, ReLU6) to <c>in * expandRatio</c> channels, only if the ratio is not 1],
/// 3x3 depthwise Conv2dNormActivation with the stride, 1x1 projection conv (no bias), BatchNorm). The input is
/// added back (no activation) when the stride is 1 and the channel count is unchanged. State-dict keys:
/// <c>conv.0.0.weight</c>, <c>conv.0.1.running_mean</c>, ..., <c>conv.2.weight</c>, <c>conv.3.bias</c>.
/// </summary>
public sealed class InvertedResidual : Module
{
    /// <summary>Creates the block.</summary>
    /// <param name="inChannels">Input channels.</param>
    /// <param name="outChannels">Output channels.</param>
    /// <param name="stride">Stride of the depthwise convolution: 1 or 2.</param>
    /// <param name="expandRatio">Width of the hidden layer relative to <paramref name="inChannels"/> (&gt;= 1).</param>
    public InvertedResidual(int inChannels, int outChannels, int stride, int expandRatio)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(inChannels, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(outChannels, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(expandRatio, 1);
        if (stride is not (1 or 2))
            throw new ArgumentOutOfRangeException(nameof(stride), stride, "stride must be 1 or 2 (as in torchvision).");
        InChannels = inChannels;
        OutChannels = outChannels;
        Stride = stride;
        HiddenChannels = checked(inChannels * expandRatio);
        UseResConnect = stride == 1 && inChannels == outChannels;

        var conv = new Sequential();
        if (expandRatio != 1)
            conv.Add(Conv2dNormActivation(inChannels, HiddenChannels, kernelSize: 1));
        conv.Add(Conv2dNormActivation(HiddenChannels, HiddenChannels, stride: stride, groups: HiddenChannels));
        conv.Add(new Conv2d(HiddenChannels, outChannels, 1, bias: false));
        conv.Add(new BatchNorm2d(outChannels));
        RegisterModule("conv", conv);
    }

    /// <summary>
    /// torchvision's <c>Conv2dNormActivation(in, out, kernel_size, stride, groups, activation_layer=nn.ReLU6)</c>, which is
    /// an <c>nn.Sequential</c>: "0" = conv (padding (k - 1) / 2, no bias), "1" = BatchNorm2d, "2" = ReLU6.
    /// </summary>
    internal static Sequential Conv2dNormActivation(int inChannels, int outChannels, int kernelSize = 3, int stride = 1, int groups = 1) =>
        new()
        {
            new Conv2d(inChannels, outChannels, kernelSize, stride: stride, padding: (kernelSize - 1) / 2, groups: groups, bias: false),
            new BatchNorm2d(outChannels),
            new ReLU6(),
        };

    /// <summary>Input channels.</summary>
    public int InChannels { get; }

    /// <summary>Output channels.</summary>
    public int OutChannels { get; }

    /// <summary>Channels of the expanded (depthwise) layer.</summary>
    public int HiddenChannels { get; }

    /// <summary>Stride of the depthwise convolution.</summary>
    public int Stride { get; }

    /// <summary>Whether the input is added to the output (stride 1, same channel count).</summary>
    public bool UseResConnect { get; }

    /// <summary>The block's layers (torchvision's <c>conv</c>).</summary>
    public Sequential Conv => ModelParts.Child<Sequential>(this, "conv");

    /// <inheritdoc />
    public override Tensor Forward(Tensor input)
    {
        ThrowIfDisposed();
        ArgumentNullException.ThrowIfNull(input);
        Tensor main = Conv.Forward(input);
        return UseResConnect ? Residual.AddResidual(main, null, input, Activation.None) : main;
    }
}
