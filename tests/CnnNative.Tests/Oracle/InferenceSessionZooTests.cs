using CnnNative.Inference;
using CnnNative.Interop;
using CnnNative.Models;
using CnnNative.Tests.Infrastructure;

namespace CnnNative.Tests.Oracle;

/// <summary>
/// A compiled ResNet-18 (batch norm folded into the convolutions, activations fused) against torchvision 0.14 on the
/// same weights: the oracle builds <c>torchvision.models.resnet18</c> with random batch norm state, saves it as
/// safetensors, we load it, compile it and compare the logits.
/// </summary>
[Collection(OracleCollection.Name)]
public sealed class InferenceSessionZooTests(OracleFixture oracle, ITestOutputHelper output)
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
        OracleReply torch = oracle.Run(
            "torchvision_model", new { arch, num_classes = Classes, seed = Seeds.Of("session-" + arch) % 1000, path }, OracleTensor.Of("input", x));

        using ResNet model = ResNet.ResNet18(Classes);
        model.LoadSafetensors(path, strict: true);
        File.Delete(path);
        using InferenceSession session = InferenceSession.Create(model, x.Shape);
        using Tensor y = Tensor.Zeros(session.OutputShape);
        session.Run(x, y);
        output.WriteLine(session.ToString());

        OracleTensor expected = torch["output"];
        var tolerance = new Tolerance(1e-4 + (1e-4 * expected.Data.Max(v => Math.Abs(v))), 0);
        OracleErrors.AssertClose(output, "session." + arch, isa, $"batch1-{size}x{size}", y, expected, tolerance);
    }
}
