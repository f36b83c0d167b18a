using CnnNative.Interop;

namespace CnnNative.Optim;

/// <summary>
/// Stochastic gradient descent with optional momentum, dampening, weight decay and Nesterov
/// momentum: PyTorch's <c>torch.optim.SGD</c> (<c>maximize=False</c>).
/// </summary>
/// <remarks>
/// Per parameter: <c>g = grad + weight_decay * p</c>; with momentum, <c>buf = g</c> on the first
/// update and <c>buf = momentum * buf + (1 - dampening) * g</c> after, then <c>g = buf</c> (or
/// <c>g + momentum * buf</c> with Nesterov); finally <c>p -= lr * g</c>. The momentum buffer is
/// allocated only when <see cref="Momentum"/> &gt; 0.
/// </remarks>
public sealed unsafe class SGD : Optimizer
{
    private const int MomentumSlot = 0;

    /// <summary>Creates the optimizer; the hyper-parameters are checked like PyTorch's.</summary>
    /// <param name="parameters">The tensors to optimize (see <see cref="Optimizer"/>).</param>
    /// <param name="lr">The learning rate, finite and &gt;= 0.</param>
    /// <param name="momentum">The momentum factor, finite and &gt;= 0.</param>
    /// <param name="dampening">Dampening for momentum, finite.</param>
    /// <param name="weightDecay">L2 penalty, finite and &gt;= 0.</param>
    /// <param name="nesterov">Nesterov momentum (needs <paramref name="momentum"/> &gt; 0 and <paramref name="dampening"/> = 0).</param>
    /// <exception cref="ArgumentOutOfRangeException">A hyper-parameter is out of range (the message names it and its value).</exception>
    /// <exception cref="ArgumentException">Nesterov without momentum or with dampening, or bad parameters.</exception>
    public SGD(IEnumerable<Tensor> parameters, float lr, float momentum = 0f, float dampening = 0f, float weightDecay = 0f, bool nesterov = false)
        : base(parameters, lr, 1)
    {
        CheckNonNegative(momentum, nameof(momentum), "momentum");
        CheckNonNegative(weightDecay, nameof(weightDecay), "weight_decay");
        if (!float.IsFinite(dampening))
        {
            throw new ArgumentOutOfRangeException(nameof(dampening), dampening, $"Invalid dampening value: {Format(dampening)} (expected a finite value).");
        }

        if (nesterov && (momentum <= 0f || dampening != 0f))
        {
            throw new ArgumentException(
                $"Nesterov momentum requires a momentum and zero dampening (got momentum = {Format(momentum)}, dampening = {Format(dampening)}).",
                nameof(nesterov));
        }

        Momentum = momentum;
        Dampening = dampening;
        WeightDecay = weightDecay;
        Nesterov = nesterov;
    }

    /// <summary>The momentum factor.</summary>
    public float Momentum { get; }

    /// <summary>Dampening for momentum.</summary>
    public float Dampening { get; }

    /// <summary>The L2 penalty (added to the gradient).</summary>
    public float WeightDecay { get; }

    /// <summary>Whether Nesterov momentum is used.</summary>
    public bool Nesterov { get; }

    /// <inheritdoc />
    protected override void Update(Tensor parameter, Tensor grad, Tensor?[] state, long step)
    {
        var p = new CnnSgdParams
        {
            LearningRate = LearningRate,
            Momentum = Momentum,
            Dampening = Dampening,
            WeightDecay = WeightDecay,
            Nesterov = Nesterov ? 1 : 0,
        };
        Tensor? buffer = Momentum > 0f ? GetState(state, MomentumSlot, parameter) : null;
        using TensorPin param = parameter.Pin();
        using TensorPin g = grad.Pin();
        using TensorPin buf = Tensor.PinOrNull(buffer);
        Native.Check(NativeMethods.cnn_sgd_step(Native.ContextPointer, &p, parameter.Length, step, param.Pointer, g.Pointer, buf.Pointer));
    }
}
