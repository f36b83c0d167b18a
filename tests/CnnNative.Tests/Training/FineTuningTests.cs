using System.Diagnostics;
using CnnNative.Models;
using CnnNative.Nn;
using CnnNative.Optim;
using CnnNative.Tests.Infrastructure;
using CnnNative.Vision;

namespace CnnNative.Tests.Training;

/// <summary>Head replacement, backbone loading and freezing (CnnNative.Vision.FineTuning) on zoo models.</summary>
public sealed class FineTuningTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("resnet18", "fc")]
    [InlineData("mobilenet_v2", "classifier.1")]
    [InlineData("lenet5", "fc3")]
    public void ReplaceHead_gives_the_new_class_count_and_forward_uses_it(string name, string headName)
    {
        Cnn.ManualSeed(0);
        using Module model = ModelZoo.Create(name, 10);
        Assert.Equal(headName, FineTuning.FindHead(model).Name);
        Linear head = FineTuning.ReplaceHead(model, 3);
        Assert.Same(head, FineTuning.FindHead(model).Head);
        Assert.Equal(3, head.OutFeatures);
        int[] shape = name == "lenet5" ? [2, 1, 28, 28] : [2, 3, 32, 32];
        model.Eval();
        using Tensor x = Tensor.Randn(1, shape);
        using Tensor logits = model.Forward(x);
        Assert.Equal([2, 3], logits.Shape);
        Assert.Contains(model.NamedParameters(), p => p.Name == headName + ".weight" && p.Parameter.Shape[0] == 3);
    }

    [Fact]
    public void A_frozen_backbone_gets_no_gradients_and_records_no_graph_below_the_head()
    {
        Cnn.ManualSeed(1);
        using Module model = ModelZoo.Create("resnet18", 4);
        FineTuning.SetBackboneFrozen(model, frozen: true);
        List<Tensor> trainable = FineTuning.TrainableParameters(model);
        Assert.Equal(2, trainable.Count); // fc.weight, fc.bias
        using Tensor x = Tensor.Randn(2, 4, 3, 32, 32);
        using Tensor logits = model.Forward(x);
        // The head's input edge is empty: nothing in the backbone was recorded, so backward does no backbone work at all.
        Assert.NotNull(logits.GradFn);
        Assert.All(logits.GradFn!.NextFunctions, n => Assert.Null(n));
        using Tensor loss = Functional.CrossEntropy(logits, [0, 1, 2, 3]);
        loss.Backward();
        foreach ((string name, Tensor p) in model.NamedParameters())
        {
            if (name.StartsWith("fc.", StringComparison.Ordinal))
            {
                Assert.NotNull(p.Grad);
            }
            else
            {
                Assert.Null(p.Grad);
            }
        }

        // Unfreezing makes every parameter trainable again.
        FineTuning.SetBackboneFrozen(model, frozen: false);
        Assert.Equal(model.Parameters().Count(), FineTuning.TrainableParameters(model).Count);
    }

    [Fact]
    public void A_partly_frozen_model_skips_the_frozen_weight_gradients()
    {
        using Tensor x = Tensor.Randn(3, 8, 3, 64, 64);
        int[] labels = [0, 1, 2, 3, 0, 1, 2, 3];
        double full;
        using (Module all = Resnet(freezeBelowLayer4: false))
        {
            full = MedianStep(all, x, labels);
        }

        using Module model = Resnet(freezeBelowLayer4: true);
        double partly = MedianStep(model, x, labels);
        foreach ((string name, Tensor p) in model.NamedParameters())
        {
            Assert.True(p.RequiresGrad == p.Grad is not null, $"{name}: RequiresGrad {p.RequiresGrad}, gradient {(p.Grad is null ? "none" : "present")}");
        }

        output.WriteLine($"resnet18 forward+backward, 8x3x64x64: all trainable {full:F1} ms, only layer4+fc trainable {partly:F1} ms (machine loaded; reported only)");

        static Module Resnet(bool freezeBelowLayer4)
        {
            Cnn.ManualSeed(2);
            Module m = ModelZoo.Create("resnet18", 4);
            // Stem and layer1..layer3 frozen: their weight gradients are skipped, and the input gradient
            // flows down only as far as something below needs it (layer4's input).
            foreach ((string name, Tensor p) in m.NamedParameters())
            {
                p.RequiresGrad = !freezeBelowLayer4 || name.StartsWith("layer4.", StringComparison.Ordinal) || name.StartsWith("fc.", StringComparison.Ordinal);
            }

            return m;
        }

        static double MedianStep(Module m, Tensor x, int[] labels)
        {
            var times = new List<double>();
            for (int i = 0; i < 3; i++)
            {
                m.ZeroGrad();
                var clock = Stopwatch.StartNew();
                using Tensor logits = m.Forward(x);
                using Tensor loss = Functional.CrossEntropy(logits, labels);
                loss.Backward();
                times.Add(clock.Elapsed.TotalMilliseconds);
            }

            times.Sort();
            if (!m.NamedParameters().All(p => !p.Parameter.RequiresGrad || p.Parameter.Grad is not null))
            {
                throw new InvalidOperationException("a trainable parameter got no gradient");
            }

            return times[1];
        }
    }

    [Fact]
    public void LoadBackbone_takes_every_backbone_tensor_and_ignores_the_old_head()
    {
        Cnn.ManualSeed(3);
        string path = TestPaths.NewScratchFile("backbone", ".safetensors");
        float[] conv1;
        using (Module source = ModelZoo.Create("resnet18", 10))
        {
            source.SaveSafetensors(path);
            conv1 = ((ResNet)source).Conv1.Weight.ToArray();
        }

        using Module target = ModelZoo.Create("resnet18", 3);
        float[] headBefore = ((ResNet)target).Fc.Weight.ToArray();
        FineTuning.LoadBackbone(target, path);
        Assert.Equal(conv1, ((ResNet)target).Conv1.Weight.ToArray());
        Assert.Equal(headBefore, ((ResNet)target).Fc.Weight.ToArray());

        // Another architecture's file is refused with the missing keys named, before anything is loaded.
        using Module other = ModelZoo.Create("mobilenet_v2", 3);
        var e = Assert.Throws<InvalidDataException>(() => FineTuning.LoadBackbone(other, path));
        Assert.Contains("missing key", e.Message);
        Assert.Throws<FileNotFoundException>(() => FineTuning.LoadBackbone(target, path + ".absent"));
    }

    [Fact]
    public void Training_only_the_head_with_Adam_changes_only_the_head()
    {
        Cnn.ManualSeed(4);
        using Module model = ModelZoo.Create("resnet18", 2);
        FineTuning.SetBackboneFrozen(model, true);
        var before = model.NamedParameters().ToDictionary(p => p.Name, p => p.Parameter.ToArray());
        using var optimizer = new Adam(FineTuning.TrainableParameters(model), 1e-2f);
        using Tensor x = Tensor.Randn(5, 4, 3, 32, 32);
        optimizer.ZeroGrad();
        using Tensor logits = model.Forward(x);
        using Tensor loss = Functional.CrossEntropy(logits, [0, 1, 0, 1]);
        loss.Backward();
        optimizer.Step();
        foreach ((string name, Tensor p) in model.NamedParameters())
        {
            bool changed = !before[name].SequenceEqual(p.ToArray());
            Assert.True(changed == name.StartsWith("fc.", StringComparison.Ordinal), $"{name} changed: {changed}");
        }
    }
}
