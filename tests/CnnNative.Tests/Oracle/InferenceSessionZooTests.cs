using CnnNative.Inference;
using CnnNative.Interop;
using CnnNative.Models;
using CnnNative.Tests.Infrastructure;

namespace CnnNative.Tests.Oracle;

/// <summary>
/// A compiled ResNet-18 (batch norm folded into the convolutions, activations fused) against TorchVision's (TorchSharp
/// 0.107, libtorch 2.10) on the same weights: <c>torchvision.models.resnet18</c> built with random batch norm state and
/// saved as safetensors, we load it, compile it and compare the logits with torch's float64 forward.
/// </summary>
[Collection(TorchModelCollection.Name)]
public sealed class InferenceSessionZooTests(ITestOutputHelper output)
{
    private const int Classes = 10;

    /// <summary>
    /// Normwise abs 1e-4 + 1e-4 * max |torch logit| on every logit (torch computes in float64): folding rescales the
    /// float32 weights once more, a rounding of relative size 6e-8 per weight, far below the depth-driven error the
    /// uncompiled model already has (about 1e-6 normwise, see <see cref="ResNetZooTests"/>).
    /// </summary>
    [Theory]
    [MemberData(nameof(Isas.Rows), MemberType = typeof(Isas))]
    public void Compiled_resnet18_matches_torchvision(CnnIsa isa)
    {
        const string arch = "resnet18";
        int size = isa == CnnIsa.Reference ? 32 : 64;
        using IDisposable _ = Isas.Use(isa);
        string path = TestPaths.NewScratchFile("session-" + arch, ".safetensors");
        using Tensor x = TestData.NormalTensor(Seeds.Of("session-input-" + size), 1, 3, size, size);
        OracleTensor expected;
        using (var torchModel = TorchModelOracle.Build(Seeds.Of("session-" + arch) % 1000, () => TorchReferenceModels.Create(arch, Classes), TorchModelOracle.BatchNormSpread.Zoo))
        {
            TorchModelOracle.Save(torchModel, path);
            expected = TorchModelOracle.Forward(torchModel, x);
        }

        using ResNet model = ResNet.ResNet18(Classes);
        model.LoadSafetensors(path, strict: true);
        File.Delete(path);
        using InferenceSession session = InferenceSession.Create(model, x.Shape);
        using Tensor y = Tensor.Zeros(session.OutputShape);
        session.Run(x, y);
        output.WriteLine(session.ToString());

        var tolerance = new Tolerance(1e-4 + (1e-4 * expected.Data.Max(v => Math.Abs(v))), 0);
        OracleErrors.AssertClose(output, "session." + arch, isa, $"batch1-{size}x{size}", y, expected, tolerance);
    }
}
