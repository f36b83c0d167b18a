using CnnNative.Interop;

namespace CnnNative.Optim;

/// <summary>
/// RMSprop: PyTorch's <c>torch.optim.RMSprop</c> (<c>centered=False</c>, <c>maximize=False</c>).
/// </summary>
/// <remarks>
/// Per parameter: <c>g = grad + weight_decay * p</c>, <c>v = alpha v + (1 - alpha) g^2</c>; without
/// momentum <c>p -= lr * g / (sqrt(v) + eps)</c>; with momentum
/// <c>buf = momentum * buf + g / (sqrt(v) + eps)</c>, <c>p -= lr * buf</c>. The momentum buffer is
/// allocated only when <see cref="Momentum"/> &gt; 0.
/// </remarks>
public sealed unsafe class RMSprop : Optimizer
{
    private const int SquareAvgSlot = 0;
    private const int MomentumSlot = 1;

    /// <summary>Creates the optimizer; the hyper-parameters are checked like PyTorch's.</summary>
    /// <param name="parameters">The tensors to optimize (see <see cref="Optimizer"/>).</param>
    /// <param name="lr">The learning rate, finite and &gt;= 0.</param>
    /// <param name="alpha">Smoothing constant of the squared-gradient average, finite and &gt;= 0.</param>
    /// <param name="eps">Added to the denominator, finite and &gt;= 0.</param>
    /// <param name="weightDecay">L2 penalty, finite and &gt;= 0.</param>
    /// <param name="momentum">Momentum factor, finite and &gt;= 0.</param>
    /// <exception cref="ArgumentOutOfRangeException">A hyper-parameter is out of range (the message names it and its value).</exception>
    /// <exception cref="ArgumentException">Bad parameters (see <see cref="Optimizer"/>).</exception>
    public RMSprop(IEnumerable<Tensor> parameters, float lr = 1e-2f, float alpha = 0.99f, float eps = 1e-8f, float weightDecay = 0f, float momentum = 0f)
        : base(parameters, lr, 2)
    {
        CheckNonNegative(eps, nameof(eps), "epsilon");
        CheckNonNegative(momentum, nameof(momentum), "momentum");
        CheckNonNegative(weightDecay, nameof(weightDecay), "weight_decay");
        CheckNonNegative(alpha, nameof(alpha), "alpha");
        Alpha = alpha;
        Epsilon = eps;
        WeightDecay = weightDecay;
        Momentum = momentum;
    }

    /// <summary>Smoothing constant of the squared-gradient average.</summary>
    public float Alpha { get; }

    /// <summary>Added to the denominator for numerical stability.</summary>
    public float Epsilon { get; }

    /// <summary>The L2 penalty (added to the gradient).</summary>
    public float WeightDecay { get; }

    /// <summary>The momentum factor.</summary>
    public float Momentum { get; }

    /// <inheritdoc />
    protected override void Update(Tensor parameter, Tensor grad, Tensor?[] state, long step)
    {
        var p = new CnnRmspropParams
        {
            LearningRate = LearningRate,
            Alpha = Alpha,
            Epsilon = Epsilon,
            WeightDecay = WeightDecay,
            Momentum = Momentum,
        };
        Tensor squareAvg = GetState(state, SquareAvgSlot, parameter);
        Tensor? buffer = Momentum > 0f ? GetState(state, MomentumSlot, parameter) : null;
        using TensorPin param = parameter.Pin();
        using TensorPin g = grad.Pin();
        using TensorPin v = squareAvg.Pin();
        using TensorPin buf = Tensor.PinOrNull(buffer);
        Native.Check(NativeMethods.cnn_rmsprop_step(Native.ContextPointer, &p, parameter.Length, param.Pointer, g.Pointer, v.Pointer, buf.Pointer));
    }
}
