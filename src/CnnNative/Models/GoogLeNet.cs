using CnnNative.Nn;

namespace CnnNative.Models;

/// <summary>
/// GoogLeNet (Inception v1, Szegedy et al. 2014) with torchvision's module and state-dict names, as
/// <c>torchvision.models.googlenet(num_classes=..., aux_logits=False, transform_input=False, init_weights=False)</c>:
/// <c>conv1</c> (7x7/2, 3 -&gt; 64), <c>maxpool1</c>, <c>conv2</c> (1x1), <c>conv3</c> (3x3, -&gt; 192), <c>maxpool2</c>,
/// <c>inception3a</c>, <c>inception3b</c>, <c>maxpool3</c>, <c>inception4a</c>..<c>inception4e</c>, <c>maxpool4</c>,
/// <c>inception5a</c>, <c>inception5b</c>, <c>avgpool</c> (global), <c>dropout</c> (0.2), <c>fc</c> (1024 -&gt; classes).
/// All max pools use ceil_mode as torchvision does; the convolutions are <see cref="BasicConv2d"/> (conv, BN eps 0.001,
/// ReLU). No auxiliary classifiers. A torchvision state dict saved as safetensors loads with <c>strict: true</c>.
/// Any input of at least 15x15 works. Initialisation: PyTorch's layer defaults (seed with <see cref="Cnn.ManualSeed"/>).
/// </summary>
public sealed class GoogLeNet : Module
{
    /// <summary>Creates the network in training mode.</summary>
    /// <param name="numClasses">Outputs of fc (1000 by default).</param>
    /// <param name="dropout">Dropout probability before fc, in [0, 1].</param>
    public GoogLeNet(int numClasses = 1000, float dropout = 0.2f)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(numClasses, 1);
        NumClasses = numClasses;
        // Registered in forward order: the forward runs the children in this order (see ModelParts.ForwardChildren).
        RegisterModule("conv1", new BasicConv2d(3, 64, 7, stride: 2, padding: 3));
        RegisterModule("maxpool1", CeilPool(3));
        RegisterModule("conv2", new BasicConv2d(64, 64, 1));
        RegisterModule("conv3", new BasicConv2d(64, 192, 3, padding: 1));
        RegisterModule("maxpool2", CeilPool(3));
        RegisterModule("inception3a", new Inception(192, 64, 96, 128, 16, 32, 32));
        RegisterModule("inception3b", new Inception(256, 128, 128, 192, 32, 96, 64));
        RegisterModule("maxpool3", CeilPool(3));
        RegisterModule("inception4a", new Inception(480, 192, 96, 208, 16, 48, 64));
        RegisterModule("inception4b", new Inception(512, 160, 112, 224, 24, 64, 64));
        RegisterModule("inception4c", new Inception(512, 128, 128, 256, 24, 64, 64));
        RegisterModule("inception4d", new Inception(512, 112, 144, 288, 32, 64, 64));
        RegisterModule("inception4e", new Inception(528, 256, 160, 320, 32, 128, 128));
        RegisterModule("maxpool4", CeilPool(2));
        RegisterModule("inception5a", new Inception(832, 256, 160, 320, 32, 128, 128));
        RegisterModule("inception5b", new Inception(832, 384, 192, 384, 48, 128, 128));
        RegisterModule("avgpool", new AdaptiveAvgPool2d(1));
        RegisterModule("dropout", new Dropout(dropout));
        RegisterModule("fc", new Linear(1024, numClasses));
    }

    private static MaxPool2d CeilPool(int kernelSize) => new(kernelSize, stride: 2, ceilMode: true);

    /// <summary>Number of classes (outputs of fc).</summary>
    public int NumClasses { get; }

    /// <summary>The classifier, 1024 features -&gt; classes (the current child "fc").</summary>
    public Linear Fc => ModelParts.Child<Linear>(this, "fc");

    /// <summary>[N, 3, H, W] images -&gt; [N, classes] logits.</summary>
    public override Tensor Forward(Tensor input)
    {
        ThrowIfDisposed();
        ModelParts.RequireImages(input, 3, nameof(GoogLeNet));
        return ModelParts.ForwardChildren(this, input, "avgpool");
    }
}
