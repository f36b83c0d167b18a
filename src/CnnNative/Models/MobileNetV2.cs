using System.Globalization;
using CnnNative.Nn;

namespace CnnNative.Models;

/// <summary>
/// MobileNetV2 (Sandler et al. 2018) with torchvision's module and state-dict names (<c>torchvision.models.mobilenet_v2</c>):
/// <c>features</c> = Sequential("0": Conv2dNormActivation 3x3 stride 2, 3 -&gt; 32; "1".."17": <see cref="InvertedResidual"/>
/// blocks per the (t, c, n, s) table [1,16,1,1], [6,24,2,2], [6,32,3,2], [6,64,4,2], [6,96,3,1], [6,160,3,2], [6,320,1,1];
/// "18": Conv2dNormActivation 1x1 to 1280), global average pooling (functional, no child), <c>classifier</c> =
/// Sequential(Dropout, Linear(1280, classes)). Channel counts are scaled by <c>widthMult</c> and rounded with
/// torchvision's <c>_make_divisible(v, 8)</c>. Depthwise 3x3 convolutions, ReLU6. A torchvision state dict saved as
/// safetensors loads with <c>strict: true</c>. Any input of at least 32x32 works.
/// Initialisation: PyTorch's layer defaults (seed with <see cref="Cnn.ManualSeed"/>).
/// </summary>
public sealed class MobileNetV2 : Module
{
    private const int RoundNearest = 8;

    /// <summary>torchvision's inverted_residual_setting: expansion t, channels c, repeats n, first stride s.</summary>
    private static readonly (int T, int C, int N, int S)[] Setting =
        [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)];

    /// <summary>Creates the network in training mode.</summary>
    /// <param name="numClasses">Outputs of the linear head (1000 by default).</param>
    /// <param name="widthMult">Channel multiplier (&gt; 0), as torchvision's <c>width_mult</c>.</param>
    /// <param name="dropout">Dropout probability before the linear head, in [0, 1].</param>
    public MobileNetV2(int numClasses = 1000, float widthMult = 1.0f, float dropout = 0.2f)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(numClasses, 1);
        if (!(float.IsFinite(widthMult) && widthMult > 0))
            throw new ArgumentOutOfRangeException(nameof(widthMult), widthMult, "widthMult must be finite and > 0.");
        NumClasses = numClasses;
        WidthMult = widthMult;
        // The float's shortest decimal form as a double (0.35f -> 0.35), so the rounding matches Python's float.
        double width = double.Parse(widthMult.ToString("R", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);

        int inputChannel = MakeDivisible(32 * width, RoundNearest);
        LastChannel = MakeDivisible(1280 * Math.Max(1.0, width), RoundNearest);
        var features = new Sequential { InvertedResidual.Conv2dNormActivation(3, inputChannel, stride: 2) };
        foreach (var (t, c, n, s) in Setting)
        {
            int outputChannel = MakeDivisible(c * width, RoundNearest);
            for (int i = 0; i < n; i++)
            {
                features.Add(new InvertedResidual(inputChannel, outputChannel, i == 0 ? s : 1, t));
                inputChannel = outputChannel;
            }
        }

        features.Add(InvertedResidual.Conv2dNormActivation(inputChannel, LastChannel, kernelSize: 1));
        RegisterModule("features", features);
        RegisterModule("classifier", new Sequential { new Dropout(dropout), new Linear(LastChannel, numClasses) });
    }

    /// <summary>
    /// torchvision's <c>_make_divisible(v, divisor)</c>: <paramref name="v"/> rounded to the nearest multiple of
    /// <paramref name="divisor"/> (at least <paramref name="divisor"/>), bumped up one step if that lost more than 10%.
    /// </summary>
    internal static int MakeDivisible(double v, int divisor)
    {
        int newV = Math.Max(divisor, (int)(v + (divisor / 2.0)) / divisor * divisor);
        if (newV < 0.9 * v)
            newV += divisor;
        return newV;
    }

    /// <summary>Number of classes (outputs).</summary>
    public int NumClasses { get; }

    /// <summary>The channel multiplier.</summary>
    public float WidthMult { get; }

    /// <summary>Channels entering the classifier (1280 for <c>widthMult</c> &lt;= 1).</summary>
    public int LastChannel { get; }

    /// <summary>The convolutional trunk: [N, 3, H, W] -&gt; [N, LastChannel, H/32, W/32].</summary>
    public Sequential Features => ModelParts.Child<Sequential>(this, "features");

    /// <summary>Dropout then the linear head: [N, LastChannel] -&gt; [N, classes].</summary>
    public Sequential Classifier => ModelParts.Child<Sequential>(this, "classifier");

    /// <summary>[N, 3, H, W] images -&gt; [N, classes] logits.</summary>
    public override Tensor Forward(Tensor input)
    {
        ThrowIfDisposed();
        ModelParts.RequireImages(input, 3, nameof(MobileNetV2));
        using Tensor features = Features.Forward(input);
        using Tensor pooled = Functional.GlobalAvgPool2d(features); // torchvision: F.adaptive_avg_pool2d(x, (1, 1))
        using Tensor flat = pooled.Reshape(pooled.Shape[0], -1);
        return Classifier.Forward(flat);
    }
}
