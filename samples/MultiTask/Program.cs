// Multi-task learning on Fashion-MNIST: a shared trunk feeds two heads, one for the 10 garment classes and
// one for 3 coarse groups (tops, bottoms & bags, footwear); the training loss is the sum of both
// cross-entropies, so one backward pass sends both tasks' gradients into the shared trunk.
using System.Diagnostics;
using CnnNative;
using CnnNative.Data;
using CnnNative.IO;
using CnnNative.Nn;
using CnnNative.Optim;

int epochs = Arg("--epochs", 2), trainCount = Arg("--train", 6000);
Cnn.ManualSeed(0);
LabeledImages train = FashionMnist.LoadTrain(), test = FashionMnist.LoadTest();
int pixels = 28 * 28;
float[] images = train.Images.Data[..(trainCount * pixels)];
int[] labels = Array.ConvertAll(train.Labels[..trainCount], b => (int)b);
Normalization norm = Normalization.Fit(images, (1, 28, 28));
using var trainBatches = new DataLoader(images, labels, (1, 28, 28), batchSize: 64, shuffle: true, seed: 0, normalization: norm);
using var testBatches = new DataLoader(test.Images.Data, Array.ConvertAll(test.Labels, b => (int)b), (1, 28, 28), batchSize: 256, normalization: norm);

using var model = new TwoHeadNet();
using var optimizer = new Adam(model.Parameters(), 1e-3f);
for (int epoch = 1; epoch <= epochs; epoch++)
{
    var clock = Stopwatch.StartNew();
    model.Train();
    double lossSum = 0;
    foreach (var (input, y) in trainBatches)
    {
        int[] groups = Groups(y.Span);
        optimizer.ZeroGrad();
        (Tensor classLogits, Tensor groupLogits) = model.ForwardBoth(input);
        using (classLogits)
        using (groupLogits)
        using (Tensor classLoss = Functional.CrossEntropy(classLogits, y.Span))
        using (Tensor groupLoss = Functional.CrossEntropy(groupLogits, groups))
        using (Tensor loss = Functional.Add(classLoss, groupLoss)) // summed losses, one backward pass
        {
            loss.Backward();
            optimizer.Step();
            lossSum += loss.Item() * y.Length;
        }
    }

    (double classAcc, double groupAcc) = Evaluate(model, testBatches);
    Console.WriteLine($"epoch {epoch}: summed loss {lossSum / trainCount:F4}; test accuracy: classes {100 * classAcc:F2}%, groups {100 * groupAcc:F2}%  ({clock.Elapsed.TotalSeconds:F0} s)");
}

static (double Classes, double Groups) Evaluate(TwoHeadNet model, DataLoader batches)
{
    model.Eval();
    int classCorrect = 0, groupCorrect = 0, seen = 0;
    using (Autograd.NoGrad())
    {
        foreach (var (input, y) in batches)
        {
            (Tensor c, Tensor g) = model.ForwardBoth(input);
            using (c)
            using (g)
            {
                int[] groups = Groups(y.Span);
                for (int i = 0; i < y.Length; i++)
                {
                    classCorrect += ArgMax(c.AsSpan().Slice(i * 10, 10)) == y.Span[i] ? 1 : 0;
                    groupCorrect += ArgMax(g.AsSpan().Slice(i * 3, 3)) == groups[i] ? 1 : 0;
                }

                seen += y.Length;
            }
        }
    }

    return ((double)classCorrect / seen, (double)groupCorrect / seen);
}

// 0 tops (T-shirt, pullover, dress, coat, shirt), 1 bottoms & bags (trouser, bag), 2 footwear (sandal, sneaker, boot).
static int[] Groups(ReadOnlySpan<int> labels)
{
    int[] map = [0, 1, 0, 0, 0, 2, 0, 2, 1, 2];
    var groups = new int[labels.Length];
    for (int i = 0; i < labels.Length; i++) groups[i] = map[labels[i]];
    return groups;
}

static int ArgMax(ReadOnlySpan<float> v)
{
    int best = 0;
    for (int i = 1; i < v.Length; i++) if (v[i] > v[best]) best = i;
    return best;
}

int Arg(string name, int fallback)
{
    int i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1]) : fallback;
}

/// <summary>A shared trunk (two conv-BN-ReLU-pool stages) and two linear heads on its 16x7x7 features.</summary>
internal sealed class TwoHeadNet : Module
{
    private readonly Sequential _trunk;
    private readonly Linear _classHead;
    private readonly Linear _groupHead;

    public TwoHeadNet()
    {
        _trunk = RegisterModule("trunk", new Sequential(
            new Conv2d(1, 8, kernelSize: 3, padding: 1), new BatchNorm2d(8), new ReLU(), new MaxPool2d(2),
            new Conv2d(8, 16, kernelSize: 3, padding: 1), new BatchNorm2d(16), new ReLU(), new MaxPool2d(2),
            new Flatten()));
        _classHead = RegisterModule("class_head", new Linear(16 * 7 * 7, 10));
        _groupHead = RegisterModule("group_head", new Linear(16 * 7 * 7, 3));
    }

    /// <summary>The class logits (Module's single-output contract).</summary>
    public override Tensor Forward(Tensor input)
    {
        (Tensor classes, Tensor groups) = ForwardBoth(input);
        groups.Dispose();
        return classes;
    }

    /// <summary>Both heads' logits from one trunk pass.</summary>
    public (Tensor Classes, Tensor Groups) ForwardBoth(Tensor input)
    {
        using Tensor features = _trunk.Forward(input);
        return (_classHead.Forward(features), _groupHead.Forward(features));
    }
}
