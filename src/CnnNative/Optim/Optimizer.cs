using System.Globalization;

namespace CnnNative.Optim;

/// <summary>
/// Base class of the optimizers (PyTorch's <c>torch.optim.Optimizer</c> with one parameter group):
/// holds the parameters, the learning rate and, per parameter, a step counter and the state
/// tensors of the update rule.
/// </summary>
/// <remarks>
/// <para><see cref="Step"/> updates every parameter whose <see cref="Tensor.Grad"/> is not null, in
/// place, with one native call per parameter; parameters without a gradient are skipped and their
/// step counter is not advanced (as in PyTorch). State tensors (momentum buffers, moment estimates)
/// are allocated in native memory, zero-filled, the first time a parameter is updated, and kept
/// until <see cref="Dispose"/>.</para>
/// <para>The optimizer does not own the parameters (the module does): <see cref="Dispose"/> frees
/// only the optimizer's state. An optimizer is not synchronized: use it from one thread at a time.</para>
/// </remarks>
public abstract class Optimizer : IDisposable
{
    private readonly Tensor[] _parameters;
    private readonly Dictionary<Tensor, int> _index;
    private readonly long[] _steps;
    private readonly Tensor?[][] _state;
    private float _learningRate;
    private bool _disposed;

    /// <summary>Validates and stores the parameters and the learning rate.</summary>
    /// <param name="parameters">The tensors to optimize: at least one, none null or disposed, each
    /// once (two tensors sharing storage, e.g. a tensor and its <see cref="Tensor.Reshape"/> view,
    /// count as the same parameter), leaves of the autograd graph.</param>
    /// <param name="learningRate">The initial learning rate, &gt;= 0 and finite.</param>
    /// <param name="stateTensorsPerParameter">How many state tensors the update rule keeps per parameter.</param>
    /// <exception cref="ArgumentNullException"><paramref name="parameters"/> or one of its elements is null.</exception>
    /// <exception cref="ArgumentException">The list is empty, a tensor appears twice, or a tensor is not a leaf.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The learning rate is negative or not finite.</exception>
    /// <exception cref="ObjectDisposedException">A parameter is disposed.</exception>
    protected Optimizer(IEnumerable<Tensor> parameters, float learningRate, int stateTensorsPerParameter)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        CheckLearningRate(learningRate, "lr");
        ArgumentOutOfRangeException.ThrowIfNegative(stateTensorsPerParameter);

        var list = new List<Tensor>();
        var storages = new Dictionary<object, int>(ReferenceEqualityComparer.Instance);
        foreach (Tensor? parameter in parameters)
        {
            int position = list.Count;
            if (parameter is null)
            {
                throw new ArgumentNullException(nameof(parameters), $"parameter {position} is null.");
            }

            parameter.ThrowIfDisposed();
            if (!parameter.IsLeaf)
            {
                throw new ArgumentException(
                    $"can't optimize a non-leaf Tensor: parameter {position} {parameter} is the result of an operation " +
                    "recorded by autograd (use a leaf, or Detach() it).", nameof(parameters));
            }

            if (!storages.TryAdd(parameter.Storage, position))
            {
                int first = storages[parameter.Storage];
                string how = ReferenceEquals(list[first], parameter) ? "is the same tensor as" : "shares storage with";
                throw new ArgumentException(
                    $"some parameters appear more than once: parameter {position} {parameter} {how} parameter {first} {list[first]}.",
                    nameof(parameters));
            }

            list.Add(parameter);
        }

        if (list.Count == 0)
        {
            throw new ArgumentException("optimizer got an empty parameter list.", nameof(parameters));
        }

        _parameters = [.. list];
        _index = new Dictionary<Tensor, int>(ReferenceEqualityComparer.Instance);
        for (int i = 0; i < _parameters.Length; i++)
        {
            _index.Add(_parameters[i], i);
        }

        _steps = new long[_parameters.Length];
        _state = new Tensor?[_parameters.Length][];
        for (int i = 0; i < _state.Length; i++)
        {
            _state[i] = new Tensor?[stateTensorsPerParameter];
        }

        _learningRate = learningRate;
    }

    /// <summary>The parameters, in the order given to the constructor.</summary>
    public IReadOnlyList<Tensor> Parameters => _parameters;

    /// <summary>
    /// The learning rate of the next <see cref="Step"/> (PyTorch's <c>param_groups[0]["lr"]</c>);
    /// the schedulers set it. Must be &gt;= 0 and finite.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Set to a negative or non-finite value.</exception>
    public float LearningRate
    {
        get => _learningRate;
        set
        {
            CheckLearningRate(value, nameof(value));
            _learningRate = value;
        }
    }

    /// <summary>
    /// The learning rate the first scheduler attached to this optimizer started from (PyTorch's
    /// <c>initial_lr</c>); null until a scheduler is created.
    /// </summary>
    internal float? InitialLearningRate { get; set; }

    /// <summary>
    /// How many updates <paramref name="parameter"/> has received (PyTorch's <c>state[p]["step"]</c>):
    /// <see cref="Step"/> calls in which it had a gradient.
    /// </summary>
    /// <param name="parameter">One of <see cref="Parameters"/>.</param>
    /// <exception cref="ArgumentException"><paramref name="parameter"/> is not one of this optimizer's parameters.</exception>
    public long StepCount(Tensor parameter)
    {
        ArgumentNullException.ThrowIfNull(parameter);
        if (!_index.TryGetValue(parameter, out int i))
        {
            throw new ArgumentException($"{parameter} is not a parameter of this optimizer.", nameof(parameter));
        }

        return _steps[i];
    }

    /// <summary>
    /// One optimization step: updates, in place, every parameter whose <see cref="Tensor.Grad"/> is
    /// not null, from its gradient and its state; skips the others.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The optimizer, a parameter or a gradient is disposed.</exception>
    /// <exception cref="InvalidOperationException">A gradient's shape differs from its parameter's.</exception>
    /// <exception cref="NotSupportedException">The native update is not available.</exception>
    public void Step()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        for (int i = 0; i < _parameters.Length; i++)
        {
            Tensor parameter = _parameters[i];
            Tensor? grad = parameter.Grad;
            if (grad is null)
            {
                continue;
            }

            if (!grad.HasShape(parameter.Dims))
            {
                throw new InvalidOperationException(
                    $"parameter {i} {parameter} has a gradient of shape {Tensor.FormatShape(grad.Dims)}; expected {Tensor.FormatShape(parameter.Dims)}.");
            }

            // Torch's step counter is incremented before the update: the first update is step 1.
            Update(parameter, grad, _state[i], _steps[i] + 1);
            parameter.MarkWritten();
            _steps[i]++;
        }
    }

    /// <summary>Clears the gradient of every parameter (<see cref="Tensor.ZeroGrad"/>).</summary>
    /// <exception cref="ObjectDisposedException">The optimizer or a parameter is disposed.</exception>
    public void ZeroGrad()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        foreach (Tensor parameter in _parameters)
        {
            parameter.ZeroGrad();
        }
    }

    /// <summary>Frees the optimizer's state tensors (not the parameters). Calling it again does nothing.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        foreach (Tensor?[] state in _state)
        {
            for (int j = 0; j < state.Length; j++)
            {
                state[j]?.Dispose();
                state[j] = null;
            }
        }

        GC.SuppressFinalize(this);
    }

    /// <summary>
    /// Applies the update rule to one parameter.
    /// </summary>
    /// <param name="parameter">The parameter, updated in place.</param>
    /// <param name="grad">Its gradient (same shape).</param>
    /// <param name="state">Its state slots (the length given to the constructor); use <see cref="GetState"/> to allocate them.</param>
    /// <param name="step">The 1-based number of this update of this parameter.</param>
    protected abstract void Update(Tensor parameter, Tensor grad, Tensor?[] state, long step);

    /// <summary>The state tensor in <paramref name="slot"/>, allocated (zero-filled, the parameter's shape) on first use.</summary>
    protected static Tensor GetState(Tensor?[] state, int slot, Tensor parameter) =>
        state[slot] ??= Tensor.Zeros(parameter.Shape);

    /// <summary>Formats a hyper-parameter like Python does in torch's messages.</summary>
    private protected static string Format(float value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>Throws unless <c>0 &lt;= value</c> and value is finite (torch's <c>not 0.0 &lt;= x</c> check; NaN and infinity rejected).</summary>
    private protected static void CheckNonNegative(float value, string paramName, string what)
    {
        if (!(value >= 0f) || float.IsInfinity(value))
        {
            throw new ArgumentOutOfRangeException(paramName, value, $"Invalid {what} value: {Format(value)} (expected a finite value >= 0).");
        }
    }

    /// <summary>Throws unless <c>0 &lt;= beta &lt; 1</c> (torch's Adam check).</summary>
    private protected static void CheckBeta(float value, int index, string paramName)
    {
        if (!(value >= 0f && value < 1f))
        {
            throw new ArgumentOutOfRangeException(paramName, value, $"Invalid beta parameter at index {index}: {Format(value)} (expected 0 <= beta < 1).");
        }
    }

    private static void CheckLearningRate(float value, string paramName)
    {
        if (!(value >= 0f) || float.IsInfinity(value))
        {
            throw new ArgumentOutOfRangeException(paramName, value, $"Invalid learning rate: {Format(value)} (expected a finite value >= 0).");
        }
    }
}
