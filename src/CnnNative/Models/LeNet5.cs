using CnnNative.Nn;

namespace CnnNative.Models;

/// <summary>
/// LeNet-5 for 28x28 single-channel images (MNIST / Fashion-MNIST), with PyTorch-compatible state-dict keys
/// <c>conv1</c>, <c>conv2</c>, <c>fc1</c>, <c>fc2</c>, <c>fc3</c> (<c>.weight</c>, <c>.bias</c>):
/// conv1 1-&gt;6 5x5 pad 2, ReLU, max-pool 2; conv2 6-&gt;16 5x5, ReLU, max-pool 2; flatten (16*5*5 = 400);
/// fc1 400-&gt;120, ReLU; fc2 120-&gt;84, ReLU; fc3 84-&gt;10 (logits). ReLUs are fused into the preceding op.
/// The PyTorch equivalent:
/// <code>
/// class LeNet5(nn.Module):
///     def __init__(self, num_classes=10):
///         super().__init__()
///         self.conv1 = nn.Conv2d(1, 6, 5, padding=2); self.conv2 = nn.Conv2d(6, 16, 5)
///         self.fc1 = nn.Linear(400, 120); self.fc2 = nn.Linear(120, 84); self.fc3 = nn.Linear(84, num_classes)
///     def forward(self, x):
///         x = F.max_pool2d(F.relu(self.conv1(x)), 2); x = F.max_pool2d(F.relu(self.conv2(x)), 2)
///         x = torch.flatten(x, 1)
///         return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))
/// </code>
/// </summary>
public sealed class LeNet5 : Module
{
    private static readonly Pool2dOptions Pool = new(2);

    /// <summary>Creates the network with PyTorch-style random initialisation (seed with <see cref="Cnn.ManualSeed"/>).</summary>
    /// <param name="numClasses">Number of outputs of fc3 (10 by default).</param>
    public LeNet5(int numClasses = 10)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(numClasses, 1);
        NumClasses = numClasses;
        Conv1 = RegisterModule("conv1", new Conv2d(1, 6, 5, padding: 2, activation: Activation.Relu));
        Conv2 = RegisterModule("conv2", new Conv2d(6, 16, 5, activation: Activation.Relu));
        Fc1 = RegisterModule("fc1", new Linear(16 * 5 * 5, 120, activation: Activation.Relu));
        Fc2 = RegisterModule("fc2", new Linear(120, 84, activation: Activation.Relu));
        RegisterModule("fc3", new Linear(84, numClasses));
    }

    /// <summary>Number of classes (outputs).</summary>
    public int NumClasses { get; }

    /// <summary>First convolution, 1 -&gt; 6 channels, 5x5, padding 2 (ReLU fused).</summary>
    public Conv2d Conv1 { get; }

    /// <summary>Second convolution, 6 -&gt; 16 channels, 5x5 (ReLU fused).</summary>
    public Conv2d Conv2 { get; }

    /// <summary>400 -&gt; 120 (ReLU fused).</summary>
    public Linear Fc1 { get; }

    /// <summary>120 -&gt; 84 (ReLU fused).</summary>
    public Linear Fc2 { get; }

    /// <summary>84 -&gt; classes (logits).</summary>
    public Linear Fc3 => ModelParts.Child<Linear>(this, "fc3"); // looked up, so ReplaceChild("fc3", ...) takes effect

    /// <summary>[N, 1, 28, 28] images -&gt; [N, classes] logits.</summary>
    public override Tensor Forward(Tensor input)
    {
        ThrowIfDisposed();
        ArgumentNullException.ThrowIfNull(input);
        int[] shape = input.Shape;
        if (shape.Length != 4 || shape[1] != 1 || shape[2] != 28 || shape[3] != 28)
            throw new ArgumentException($"LeNet5 expects input [N, 1, 28, 28], got [{string.Join(", ", shape)}].", nameof(input));

        using (var c1 = Conv1.Forward(input))
        using (var p1 = Functional.MaxPool2d(c1, Pool))
        using (var c2 = Conv2.Forward(p1))
        using (var p2 = Functional.MaxPool2d(c2, Pool))
        using (var flat = p2.Reshape(shape[0], 16 * 5 * 5))
        using (var f1 = Fc1.Forward(flat))
        using (var f2 = Fc2.Forward(f1))
        {
            return Fc3.Forward(f2);
        }
    }
}
