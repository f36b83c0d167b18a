using CnnNative.Interop;

namespace CnnNative.Optim;

/// <summary>
/// Adam: PyTorch's <c>torch.optim.Adam</c> (<c>amsgrad=False</c>, <c>maximize=False</c>); weight
/// decay is an L2 penalty added to the gradient. See <see cref="AdamW"/> for decoupled weight decay.
/// </summary>
/// <remarks>
/// Per parameter, at its update number t (1-based): <c>m = beta1 m + (1 - beta1) g</c>,
/// <c>v = beta2 v + (1 - beta2) g^2</c>, <c>p -= lr * (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + eps)</c>.
/// The two moment estimates are kept per parameter in native memory.
/// </remarks>
public class Adam : Optimizer
{
    private const int ExpAvgSlot = 0;
    private const int ExpAvgSqSlot = 1;
    private readonly bool _decoupled;

    /// <summary>Creates the optimizer; the hyper-parameters are checked like PyTorch's.</summary>
    /// <param name="parameters">The tensors to optimize (see <see cref="Optimizer"/>).</param>
    /// <param name="lr">The learning rate, finite and &gt;= 0.</param>
    /// <param name="beta1">Decay of the first moment estimate, in [0, 1).</param>
    /// <param name="beta2">Decay of the second moment estimate, in [0, 1).</param>
    /// <param name="eps">Added to the denominator, finite and &gt;= 0.</param>
    /// <param name="weightDecay">L2 penalty, finite and &gt;= 0.</param>
    /// <exception cref="ArgumentOutOfRangeException">A hyper-parameter is out of range (the message names it and its value).</exception>
    /// <exception cref="ArgumentException">Bad parameters (see <see cref="Optimizer"/>).</exception>
    public Adam(IEnumerable<Tensor> parameters, float lr = 1e-3f, float beta1 = 0.9f, float beta2 = 0.999f, float eps = 1e-8f, float weightDecay = 0f)
        : this(parameters, lr, beta1, beta2, eps, weightDecay, decoupled: false)
    {
    }

    /// <summary>Shared by <see cref="AdamW"/>.</summary>
    private protected Adam(IEnumerable<Tensor> parameters, float lr, float beta1, float beta2, float eps, float weightDecay, bool decoupled)
        : base(parameters, lr, 2)
    {
        CheckNonNegative(eps, nameof(eps), "epsilon");
        CheckBeta(beta1, 0, nameof(beta1));
        CheckBeta(beta2, 1, nameof(beta2));
        CheckNonNegative(weightDecay, nameof(weightDecay), "weight_decay");
        Beta1 = beta1;
        Beta2 = beta2;
        Epsilon = eps;
        WeightDecay = weightDecay;
        _decoupled = decoupled;
    }

    /// <summary>Decay of the first moment estimate.</summary>
    public float Beta1 { get; }

    /// <summary>Decay of the second moment estimate.</summary>
    public float Beta2 { get; }

    /// <summary>Added to the denominator for numerical stability.</summary>
    public float Epsilon { get; }

    /// <summary>The weight decay: an L2 penalty for <see cref="Adam"/>, decoupled for <see cref="AdamW"/>.</summary>
    public float WeightDecay { get; }

    /// <inheritdoc />
    protected sealed override unsafe void Update(Tensor parameter, Tensor grad, Tensor?[] state, long step)
    {
        var p = new CnnAdamParams
        {
            LearningRate = LearningRate,
            Beta1 = Beta1,
            Beta2 = Beta2,
            Epsilon = Epsilon,
            WeightDecay = WeightDecay,
            DecoupledWeightDecay = _decoupled ? 1 : 0,
        };
        Tensor expAvg = GetState(state, ExpAvgSlot, parameter);
        Tensor expAvgSq = GetState(state, ExpAvgSqSlot, parameter);
        using TensorPin param = parameter.Pin();
        using TensorPin g = grad.Pin();
        using TensorPin m = expAvg.Pin();
        using TensorPin v = expAvgSq.Pin();
        Native.Check(NativeMethods.cnn_adam_step(Native.ContextPointer, &p, parameter.Length, step, param.Pointer, g.Pointer, m.Pointer, v.Pointer));
    }
}

/// <summary>
/// AdamW: Adam with decoupled weight decay, PyTorch's <c>torch.optim.AdamW</c>
/// (<c>amsgrad=False</c>): <c>p *= 1 - lr * weight_decay</c>, then the Adam update without the
/// penalty in the gradient.
/// </summary>
public sealed class AdamW : Adam
{
    /// <summary>Creates the optimizer; the hyper-parameters are checked like PyTorch's.</summary>
    /// <param name="parameters">The tensors to optimize (see <see cref="Optimizer"/>).</param>
    /// <param name="lr">The learning rate, finite and &gt;= 0.</param>
    /// <param name="beta1">Decay of the first moment estimate, in [0, 1).</param>
    /// <param name="beta2">Decay of the second moment estimate, in [0, 1).</param>
    /// <param name="eps">Added to the denominator, finite and &gt;= 0.</param>
    /// <param name="weightDecay">Decoupled weight decay, finite and &gt;= 0.</param>
    /// <exception cref="ArgumentOutOfRangeException">A hyper-parameter is out of range (the message names it and its value).</exception>
    /// <exception cref="ArgumentException">Bad parameters (see <see cref="Optimizer"/>).</exception>
    public AdamW(IEnumerable<Tensor> parameters, float lr = 1e-3f, float beta1 = 0.9f, float beta2 = 0.999f, float eps = 1e-8f, float weightDecay = 1e-2f)
        : base(parameters, lr, beta1, beta2, eps, weightDecay, decoupled: true)
    {
    }
}
