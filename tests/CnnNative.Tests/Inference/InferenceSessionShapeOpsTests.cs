using CnnNative.Inference;
using CnnNative.Nn;
using CnnNative.Tests.Infrastructure;

namespace CnnNative.Tests.Inference;

/// <summary>
/// The shape ops in a session: an inception-like block (three branches concatenated along channels), ReLU6 both as
/// a module and as clamp(0, 6), narrow, per-channel scale/shift and adaptive average pooling to 2x2, against the
/// model's own forward. At batch 1 the concat and the narrow cost nothing (each branch writes its slice of the
/// output, the narrow reads its slice in place); at batch 2 the slices are strided, so they copy.
/// </summary>
public sealed class InferenceSessionShapeOpsTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void Inception_like_block_matches_forward(int batch)
    {
        Cnn.ManualSeed(Seeds.Of("inception-like"));
        using var model = new InceptionLike();
        SessionTestModels.RandomizeBatchNorm(model, 11);
        model.Eval();
        int[] shape = [batch, 3, 12, 12];
        using Tensor x = TestData.NormalTensor(Seeds.Of("inception-like-x") + batch, shape);
        float[] expected = SessionTestModels.Forward(model, x);
        using InferenceSession session = InferenceSession.Create(model, shape);
        float[] actual = SessionTestModels.Run(session, x);
        output.WriteLine(session.ToString());
        output.WriteLine("steps: " + string.Join(", ", session.Steps));
        SessionTestModels.AssertClose(output, $"inception-like batch {batch}", expected, actual);

        Assert.Equal([batch, 10], session.OutputShape);
        Assert.Contains("Functional.Conv2d+Relu6", session.Steps); // the stem's BN(ReLU6) folded, clamp(0, 6) fused
        Assert.DoesNotContain("Functional.Clamp", session.Steps);
        Assert.DoesNotContain("Functional.Relu6", session.Steps);
        Assert.Equal(batch == 1 ? 0 : 3, session.Steps.Count(s => s == "Functional.Concat"));
        Assert.Equal(batch == 1 ? 0 : 1, session.Steps.Count(s => s == "Functional.Narrow")); // a view at batch 1
        Assert.Contains("Functional.ScaleShift", session.Steps);
        Assert.Contains("Functional.AdaptiveAvgPool2d", session.Steps);
    }

    [Fact]
    public void Inverted_residual_block_fuses_to_three_convs_and_an_add()
    {
        Cnn.ManualSeed(Seeds.Of("inverted-residual"));
        // MobileNetV2's block: 1x1 expand, BN, ReLU6; 3x3 depthwise, BN, ReLU6; 1x1 project, BN; + input.
        using var main = new Sequential
        {
            new Conv2d(8, 32, 1, bias: false), new BatchNorm2d(32), new ReLU6(),
            new Conv2d(32, 32, 3, padding: 1, groups: 32, bias: false), new BatchNorm2d(32), new ReLU6(),
            new Conv2d(32, 8, 1, bias: false), new BatchNorm2d(8),
        };
        using var model = new Residual(main, after: Activation.None);
        SessionTestModels.RandomizeBatchNorm(model, 21);
        model.Eval();
        int[] shape = [1, 8, 10, 10];
        using Tensor x = TestData.NormalTensor(22, shape);
        float[] expected = SessionTestModels.Forward(model, x);
        using InferenceSession session = InferenceSession.Create(model, shape);
        output.WriteLine("steps: " + string.Join(", ", session.Steps));
        SessionTestModels.AssertClose(output, "inverted residual", expected, SessionTestModels.Run(session, x));
        Assert.Equal(["Functional.Conv2d+Relu6", "Functional.Conv2d+Relu6", "Functional.Conv2d", "Functional.Add"], session.Steps);
    }

    /// <summary>stem conv-BN(ReLU6); branches 1x1 / 1x1-3x3-clamp(0,6) / maxpool-1x1; concat; narrow; scale/shift; adaptive pool; linear.</summary>
    private sealed class InceptionLike : Module
    {
        private readonly Conv2d _stem = new(3, 8, 3, padding: 1, bias: false);
        private readonly BatchNorm2d _stemBn = new(8, activation: Activation.Relu6);
        private readonly Conv2d _b1 = new(8, 4, 1);
        private readonly Conv2d _b2a = new(8, 4, 1);
        private readonly Conv2d _b2b = new(4, 6, 3, padding: 1);
        private readonly Conv2d _b3 = new(8, 5, 1);
        private readonly MaxPool2d _pool = new(3, stride: 1, padding: 1);
        private readonly Linear _fc = new(8 * 2 * 2, 10);
        private readonly Tensor _scale = TestData.UniformTensor(5, 0.5, 1.5, 8);
        private readonly Tensor _shift = TestData.NormalTensor(6, 8);

        public InceptionLike()
        {
            RegisterModule("stem", _stem);
            RegisterModule("stem_bn", _stemBn);
            RegisterModule("b1", _b1);
            RegisterModule("b2a", _b2a);
            RegisterModule("b2b", _b2b);
            RegisterModule("b3", _b3);
            RegisterModule("pool", _pool);
            RegisterModule("fc", _fc);
            RegisterBuffer("scale", _scale);
            RegisterBuffer("shift", _shift);
        }

        public override Tensor Forward(Tensor input)
        {
            using Tensor s0 = _stem.Forward(input);
            using Tensor s = _stemBn.Forward(s0);
            using Tensor b1 = Functional.Relu(_b1.Forward(s));
            using Tensor b2a = Functional.Relu6(_b2a.Forward(s));
            using Tensor b2b = _b2b.Forward(b2a);
            using Tensor b2 = Functional.Clamp(b2b, 0, 6);
            using Tensor p = _pool.Forward(s);
            using Tensor b3 = _b3.Forward(p);
            using Tensor cat = Functional.Concat([b1, b2, b3], 1); // 4 + 6 + 5 = 15 channels
            using Tensor narrow = Functional.Narrow(cat, 1, 3, 8);
            using Tensor scaled = Functional.ScaleShift(narrow, 1, _scale, _shift);
            using Tensor pooled = Functional.AdaptiveAvgPool2d(scaled, (2, 2));
            using Tensor flat = pooled.Reshape(pooled.Size(0), -1);
            return _fc.Forward(flat);
        }
    }
}
