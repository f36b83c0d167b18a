using CnnNative.Nn;

namespace CnnNative.Models;

/// <summary>
/// What <see cref="BasicBlock"/> and <see cref="Bottleneck"/> (torchvision's ResNet blocks) share: the argument checks,
/// the bias-free convolutions of the main path, torchvision's <c>downsample</c> shortcut, and the forward "conv + batch
/// norm pairs in order, then ReLU(main + shortcut(x))". The blocks keep their own child registration (names and order are
/// torchvision's, and differ between the two) and their public properties.
/// </summary>
internal static class ResidualBlockParts
{
    /// <summary>Throws unless the channel counts and the stride are at least 1.</summary>
    internal static void CheckArguments(int inPlanes, int planes, int stride)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(inPlanes, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(planes, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(stride, 1);
    }

    /// <summary>torchvision's <c>conv1x1</c> / <c>conv3x3</c>: no bias, "same" padding for a 3x3.</summary>
    internal static Conv2d Conv(int inChannels, int outChannels, int kernelSize, int stride = 1) =>
        new(inChannels, outChannels, kernelSize, stride: stride, padding: kernelSize / 2, bias: false);

    /// <summary>
    /// torchvision's <c>downsample</c>: a 1x1 convolution with the block's stride and a batch norm, needed when the block
    /// changes resolution or width; null (the identity) otherwise.
    /// </summary>
    internal static Sequential? ProjectionShortcut(int inChannels, int outChannels, int stride) =>
        stride != 1 || inChannels != outChannels
            ? new Sequential { Conv(inChannels, outChannels, 1, stride), new BatchNorm2d(outChannels) }
            : null;

    /// <summary>
    /// ReLU(main(input) + (downsample ?? identity)(input)), main = the (conv, batch norm) pairs in order (activations fused
    /// into the batch norms). Intermediates are disposed as soon as the next one exists; <paramref name="input"/> never is.
    /// </summary>
    internal static Tensor Forward(Tensor input, (Conv2d Conv, BatchNorm2d Bn)[] mainPath, Sequential? downsample)
    {
        ArgumentNullException.ThrowIfNull(input);
        Tensor? main = null;
        try
        {
            foreach (var (conv, bn) in mainPath)
            {
                using Tensor convolved = conv.Forward(main ?? input);
                Tensor next = bn.Forward(convolved);
                main?.Dispose();
                main = next;
            }
        }
        catch
        {
            main?.Dispose();
            throw;
        }

        return Residual.AddResidual(main!, downsample, input, Activation.Relu);
    }
}
