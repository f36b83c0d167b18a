using CnnNative.Nn;

namespace CnnNative.Models;

/// <summary>
/// GoogLeNet's Inception module with torchvision's names (<c>torchvision.models.googlenet.Inception</c>): four
/// parallel branches concatenated along the channels: <c>branch1</c> = 1x1 <see cref="BasicConv2d"/>;
/// <c>branch2</c> = Sequential(1x1 reduction, 3x3 pad 1); <c>branch3</c> = Sequential(1x1 reduction, 3x3 pad 1 —
/// torchvision uses a 3x3 where the paper has a 5x5, a known quirk kept for weight compatibility);
/// <c>branch4</c> = Sequential(MaxPool2d(3, stride 1, padding 1, ceil_mode), 1x1 projection). The output has
/// <c>ch1x1 + ch3x3 + ch5x5 + poolProj</c> channels at the input's resolution.
/// </summary>
public sealed class Inception : Module
{
    /// <summary>Creates the module (argument names as torchvision's).</summary>
    /// <param name="inChannels">Input channels.</param>
    /// <param name="ch1x1">Output channels of branch1.</param>
    /// <param name="ch3x3red">Reduction channels of branch2.</param>
    /// <param name="ch3x3">Output channels of branch2.</param>
    /// <param name="ch5x5red">Reduction channels of branch3.</param>
    /// <param name="ch5x5">Output channels of branch3 (a 3x3 convolution, as in torchvision).</param>
    /// <param name="poolProj">Output channels of branch4.</param>
    public Inception(int inChannels, int ch1x1, int ch3x3red, int ch3x3, int ch5x5red, int ch5x5, int poolProj)
    {
        InChannels = inChannels;
        OutChannels = checked(ch1x1 + ch3x3 + ch5x5 + poolProj);
        RegisterModule("branch1", new BasicConv2d(inChannels, ch1x1, 1));
        RegisterModule("branch2", new Sequential { new BasicConv2d(inChannels, ch3x3red, 1), new BasicConv2d(ch3x3red, ch3x3, 3, padding: 1) });
        RegisterModule("branch3", new Sequential { new BasicConv2d(inChannels, ch5x5red, 1), new BasicConv2d(ch5x5red, ch5x5, 3, padding: 1) });
        RegisterModule("branch4", new Sequential { new MaxPool2d(3, stride: 1, padding: 1, ceilMode: true), new BasicConv2d(inChannels, poolProj, 1) });
    }

    /// <summary>Input channels.</summary>
    public int InChannels { get; }

    /// <summary>Output channels: the sum of the four branches'.</summary>
    public int OutChannels { get; }

    /// <summary>[N, in, H, W] -&gt; [N, out, H, W]: the four branches concatenated in order.</summary>
    public override Tensor Forward(Tensor input)
    {
        ThrowIfDisposed();
        ArgumentNullException.ThrowIfNull(input);
        var outputs = new List<Tensor>(4);
        try
        {
            foreach (var branch in Children())
                outputs.Add(branch.Forward(input));
            return Functional.Concat(outputs, 1);
        }
        finally
        {
            foreach (var t in outputs)
                t.Dispose();
        }
    }
}
