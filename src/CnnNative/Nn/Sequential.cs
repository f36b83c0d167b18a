using System.Collections;

namespace CnnNative.Nn;

/// <summary>
/// Runs its children in order, PyTorch's <c>nn.Sequential</c>; children are named "0", "1", ... so that
/// state-dict keys match PyTorch's (<c>features.0.weight</c>). Supports collection initializers:
/// <c>new Sequential { new Conv2d(1, 6, 5), new ReLU() }</c>.
/// Intermediate tensors are disposed as soon as the next layer has consumed them; the input never is.
/// </summary>
public sealed class Sequential : Module, IEnumerable<Module>
{
    private readonly List<Module> _layers = [];

    /// <summary>An empty container (add layers with <see cref="Add"/> or a collection initializer).</summary>
    public Sequential()
    {
    }

    /// <summary>A container of <paramref name="layers"/>, in order.</summary>
    public Sequential(params Module[] layers)
    {
        ArgumentNullException.ThrowIfNull(layers);
        foreach (var layer in layers) Add(layer);
    }

    /// <summary>A container of <paramref name="layers"/>, in order.</summary>
    public Sequential(IEnumerable<Module> layers)
    {
        ArgumentNullException.ThrowIfNull(layers);
        foreach (var layer in layers) Add(layer);
    }

    /// <summary>Appends a layer, named by its index; the container takes ownership (disposes it).</summary>
    public void Add(Module layer)
    {
        ArgumentNullException.ThrowIfNull(layer);
        RegisterModule(_layers.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), layer);
        _layers.Add(layer);
    }

    /// <summary>
    /// The layer at <paramref name="index"/> (negative counts from the end, as in PyTorch). Setting it
    /// replaces the layer (e.g. a new classifier head for fine-tuning); the replaced layer is disposed.
    /// </summary>
    public Module this[int index]
    {
        get => _layers[CheckIndex(index)];
        set
        {
            int i = CheckIndex(index);
            Module old = ReplaceChild(i.ToString(System.Globalization.CultureInfo.InvariantCulture), value);
            if (!ReferenceEquals(old, value)) old.Dispose();
        }
    }

    private int CheckIndex(int index)
    {
        int i = index < 0 ? index + _layers.Count : index;
        if (i < 0 || i >= _layers.Count)
            throw new ArgumentOutOfRangeException(nameof(index), index, $"index {index} is out of range for a Sequential of {_layers.Count} layers.");
        return i;
    }

    /// <inheritdoc />
    protected override void OnChildReplaced(string name, Module oldModule, Module newModule) =>
        _layers[int.Parse(name, System.Globalization.CultureInfo.InvariantCulture)] = newModule;

    /// <summary>Number of layers.</summary>
    public int Count => _layers.Count;

    /// <inheritdoc />
    public override Tensor Forward(Tensor input)
    {
        ThrowIfDisposed();
        return Run(_layers, input);
    }

    /// <summary>
    /// Runs <paramref name="layers"/> in order on <paramref name="input"/>, disposing every intermediate
    /// tensor as soon as the next layer has consumed it; the input never is. Returns a tensor the caller owns
    /// (a view of the input when there are no layers). Models whose forward is a chain of named children
    /// with a step in between (e.g. a flatten before the classifier) use it for each chain.
    /// </summary>
    internal static Tensor Run(IEnumerable<Module> layers, Tensor input)
    {
        ArgumentNullException.ThrowIfNull(layers);
        ArgumentNullException.ThrowIfNull(input);
        Tensor x = input;
        try
        {
            foreach (var layer in layers)
            {
                Tensor y = layer.Forward(x);
                if (!ReferenceEquals(x, input) && !ReferenceEquals(x, y))
                    x.Dispose();
                x = y;
            }
        }
        catch
        {
            if (!ReferenceEquals(x, input)) x.Dispose();
            throw;
        }
        if (ReferenceEquals(x, input)) // no layers, or a layer broke the contract and returned its input: still hand back an owned tensor
            return input.Reshape(input.Shape);
        return x;
    }

    /// <inheritdoc />
    public IEnumerator<Module> GetEnumerator() => _layers.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
