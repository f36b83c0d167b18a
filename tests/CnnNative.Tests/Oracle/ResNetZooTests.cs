using CnnNative.Interop;
using CnnNative.Models;
using CnnNative.Nn;
using CnnNative.Tests.Infrastructure;

namespace CnnNative.Tests.Oracle;

/// <summary>
/// The model zoo against TorchVision (TorchSharp 0.107, libtorch 2.10): <c>torchvision.models.resnet18/34/50(num_classes)</c>
/// built in process (seeded, BatchNorm with non-trivial running statistics and affine parameters, eval mode), saved as
/// safetensors, loaded into <see cref="ResNet"/> with <c>strict: true</c> (the names match one to one) and run on
/// the same input. The SIMD paths run all three at batch 2, 3x64x64 (the average pooling adapts); the reference
/// path, too slow for ResNet-50 at any real size, runs ResNet-18 at batch 1, 3x32x32.
/// </summary>
[Collection(TorchModelCollection.Name)]
public sealed class ResNetZooTests(ITestOutputHelper output)
{
    private const int Classes = 100;

    /// <summary>
    /// Normwise: abs 1e-4 + 1e-5 * max |torch logit| on every logit (torch computes in float64). 18-50 layers of
    /// float32 convolutions with reductions of up to 4608 terms (3x3x512), each BN rescaling by up to ~1.8: the
    /// rounding grows with depth and is set by the largest activations, not by each logit, so an elementwise
    /// relative bound would be meaningless near zero. With random weights the logits reach a few hundred
    /// (ResNet-50); the observed normwise error is about 1e-6 (max abs 2.9e-4 on ResNet-50), 10x or more below
    /// this bound, while any wrong name, stride or missing BN moves the logits by O(1).
    /// </summary>
    internal static Tolerance ZooTolerance(OracleTensor expected) =>
        new(1e-4 + (1e-5 * expected.Data.Max(v => Math.Abs(v))), 0);

    public static TheoryData<string, CnnIsa, int, int> Rows()
    {
        var data = new TheoryData<string, CnnIsa, int, int>();
        foreach (CnnIsa isa in Isas.Tested)
        {
            if (isa == CnnIsa.Reference)
            {
                data.Add("resnet18", isa, 1, 32);
                continue;
            }

            foreach (string arch in new[] { "resnet18", "resnet34", "resnet50" })
            {
                data.Add(arch, isa, 2, 64);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Rows))]
    public void ResNet_from_torchvision_safetensors_matches_torchvision(string arch, CnnIsa isa, int batch, int size)
    {
        using IDisposable _ = Isas.Use(isa);
        using Tensor x = TestData.NormalTensor(Seeds.Of(arch + "-input-" + size), batch, 3, size, size);
        using ResNet model = arch switch
        {
            "resnet18" => ResNet.ResNet18(Classes),
            "resnet34" => ResNet.ResNet34(Classes),
            _ => ResNet.ResNet50(Classes),
        };
        Assert.Equal(Classes, model.NumClasses);
        ZooTests.CompareWithTorch(output, model, () => TorchReferenceModels.Create(arch, Classes), arch, isa, $"batch{batch}-{size}x{size}", x);
    }

    [Fact]
    public void ResNet_module_names_are_torchvisions()
    {
        using ResNet r18 = ResNet.ResNet18();
        Assert.Equal(
            ["conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4", "avgpool", "fc"],
            r18.NamedChildren().Select(c => c.Name));
        Assert.Equal(["0", "1"], r18.Layer1.NamedChildren().Select(c => c.Name));
        Assert.Null(((BasicBlock)r18.Layer1[0]).Downsample);
        Assert.NotNull(((BasicBlock)r18.Layer2[0]).Downsample);
        Assert.Equal(11_689_512, r18.ParameterCount()); // torchvision's resnet18()

        using ResNet r50 = ResNet.ResNet50();
        var block = (Bottleneck)r50.Layer2[0];
        Assert.Equal((2, 2), block.Conv2.Stride); // v1.5: the stride is on the 3x3 conv
        Assert.Equal((1, 1), block.Conv1.Stride);
        Assert.Equal(
            ["conv1", "bn1", "conv2", "bn2", "conv3", "bn3", "relu", "downsample"],
            block.NamedChildren().Select(c => c.Name));
        Assert.NotNull(((Bottleneck)r50.Layer1[0]).Downsample); // 64 -> 256 channels
        Assert.Null(((Bottleneck)r50.Layer1[1]).Downsample);
        Assert.Equal(25_557_032, r50.ParameterCount()); // torchvision's resnet50()
        Assert.Equal(2048, r50.FeatureCount);
    }
}
