namespace CnnNative.Nn;

/// <summary>max(x, 0) element-wise, PyTorch's <c>nn.ReLU</c>.</summary>
public sealed class ReLU : Module
{
    /// <inheritdoc />
    public override Tensor Forward(Tensor input)
    {
        ThrowIfDisposed();
        return Functional.Relu(input);
    }
}

/// <summary>1 / (1 + exp(-x)) element-wise, PyTorch's <c>nn.Sigmoid</c>.</summary>
public sealed class Sigmoid : Module
{
    /// <inheritdoc />
    public override Tensor Forward(Tensor input)
    {
        ThrowIfDisposed();
        return Functional.Sigmoid(input);
    }
}

/// <summary>tanh(x) element-wise, PyTorch's <c>nn.Tanh</c>.</summary>
public sealed class Tanh : Module
{
    /// <inheritdoc />
    public override Tensor Forward(Tensor input)
    {
        ThrowIfDisposed();
        return Functional.Tanh(input);
    }
}

/// <summary>Softmax over one dimension, PyTorch's <c>nn.Softmax(dim)</c> (numerically stable).</summary>
public sealed class Softmax : Module
{
    /// <summary>Softmax over <paramref name="dim"/> (negative counts from the end).</summary>
    public Softmax(int dim) => Dim = dim;

    /// <summary>The dimension normalized over.</summary>
    public int Dim { get; }

    /// <inheritdoc />
    public override Tensor Forward(Tensor input)
    {
        ThrowIfDisposed();
        return Functional.Softmax(input, Dim);
    }

    /// <inheritdoc />
    protected override string ExtraRepr() => $"dim={Dim}";
}

/// <summary>Log of the softmax over one dimension, PyTorch's <c>nn.LogSoftmax(dim)</c> (numerically stable).</summary>
public sealed class LogSoftmax : Module
{
    /// <summary>Log-softmax over <paramref name="dim"/> (negative counts from the end).</summary>
    public LogSoftmax(int dim) => Dim = dim;

    /// <summary>The dimension normalized over.</summary>
    public int Dim { get; }

    /// <inheritdoc />
    public override Tensor Forward(Tensor input)
    {
        ThrowIfDisposed();
        return Functional.LogSoftmax(input, Dim);
    }

    /// <inheritdoc />
    protected override string ExtraRepr() => $"dim={Dim}";
}

/// <summary>
/// Flattens dimensions <see cref="StartDim"/> ... <see cref="EndDim"/> into one, PyTorch's <c>nn.Flatten</c>
/// (default: everything but the batch dimension). Returns a view sharing the input's storage (no copy).
/// </summary>
public sealed class Flatten : Module
{
    /// <summary><c>nn.Flatten(start_dim=1, end_dim=-1)</c>.</summary>
    public Flatten(int startDim = 1, int endDim = -1)
    {
        StartDim = startDim;
        EndDim = endDim;
    }

    /// <summary>First dimension flattened (negative counts from the end).</summary>
    public int StartDim { get; }

    /// <summary>Last dimension flattened (negative counts from the end).</summary>
    public int EndDim { get; }

    /// <inheritdoc />
    public override Tensor Forward(Tensor input)
    {
        ThrowIfDisposed();
        ArgumentNullException.ThrowIfNull(input);
        int[] shape = input.Shape;
        int rank = shape.Length;
        int start = StartDim < 0 ? StartDim + rank : StartDim;
        int end = EndDim < 0 ? EndDim + rank : EndDim;
        if (start < 0 || start >= rank || end < 0 || end >= rank)
            throw new ArgumentException(
                $"Flatten(startDim: {StartDim}, endDim: {EndDim}) is out of range for an input of rank {rank} (shape [{string.Join(", ", shape)}]).", nameof(input));
        if (start > end)
            throw new ArgumentException(
                $"Flatten: startDim ({StartDim}) comes after endDim ({EndDim}) for an input of rank {rank}.", nameof(input));

        long flat = 1;
        for (int i = start; i <= end; i++) flat *= shape[i];
        if (flat > int.MaxValue)
            throw new ArgumentException($"Flatten: the flattened dimension ({flat}) is too large.", nameof(input));
        var result = new int[rank - (end - start)];
        int k = 0;
        for (int i = 0; i < start; i++) result[k++] = shape[i];
        result[k++] = (int)flat;
        for (int i = end + 1; i < rank; i++) result[k++] = shape[i];
        return input.Reshape(result);
    }

    /// <inheritdoc />
    protected override string ExtraRepr() => $"start_dim={StartDim}, end_dim={EndDim}";
}

/// <summary>Returns its input unchanged (as a view: the caller owns the result), PyTorch's <c>nn.Identity</c>.</summary>
public sealed class Identity : Module
{
    /// <inheritdoc />
    public override Tensor Forward(Tensor input)
    {
        ThrowIfDisposed();
        ArgumentNullException.ThrowIfNull(input);
        return input.Reshape(input.Shape);
    }
}

/// <summary>
/// PyTorch's <c>nn.Dropout(p)</c>. In eval mode it returns its input unchanged (as a view). In training mode
/// each element is zeroed with probability <see cref="P"/> and the others are scaled by 1/(1-p) (inverted dropout,
/// <see cref="Functional.Dropout"/>, with a mask seed drawn from the <see cref="Cnn.ManualSeed"/> generator).
/// </summary>
public sealed class Dropout : Module
{
    /// <summary><c>nn.Dropout(p=0.5)</c>.</summary>
    public Dropout(double p = 0.5)
    {
        if (!(p >= 0 && p <= 1))
            throw new ArgumentOutOfRangeException(nameof(p), p, "Dropout probability has to be between 0 and 1.");
        P = p;
    }

    /// <summary>Probability of zeroing an element in training mode.</summary>
    public double P { get; }

    /// <inheritdoc />
    public override Tensor Forward(Tensor input)
    {
        ThrowIfDisposed();
        ArgumentNullException.ThrowIfNull(input);
        if (!Training || P == 0)
            return input.Reshape(input.Shape);

        // Native inverted dropout (recorded for autograd); the mask seed is one draw from the shared generator.
        return Functional.Dropout(input, (float)P, training: true, seed: Cnn.Rng.NextInt64());
    }

    /// <inheritdoc />
    protected override string ExtraRepr() => $"p={P.ToString(System.Globalization.CultureInfo.InvariantCulture)}";
}

/// <summary>min(max(x, 0), 6) element-wise, PyTorch's <c>nn.ReLU6</c>.</summary>
public sealed class ReLU6 : Module
{
    /// <inheritdoc />
    public override Tensor Forward(Tensor input)
    {
        ThrowIfDisposed();
        return Functional.Relu6(input);
    }
}

/// <summary>
/// Clamp to [<see cref="MinVal"/>, <see cref="MaxVal"/>], PyTorch's <c>nn.Hardtanh(min_val, max_val)</c>, computed with
/// <see cref="Functional.Clamp(Tensor, float, float)"/>: identical forward; the gradient is clamp's (it also passes at
/// x = min or max exactly, where hardtanh's is 0, and is 0 for a NaN input).
/// </summary>
public sealed class Hardtanh : Module
{
    /// <summary>Clamps to [<paramref name="minVal"/>, <paramref name="maxVal"/>].</summary>
    /// <exception cref="ArgumentException">A bound is NaN or <paramref name="minVal"/> &gt; <paramref name="maxVal"/>.</exception>
    public Hardtanh(float minVal = -1f, float maxVal = 1f)
    {
        if (float.IsNaN(minVal) || float.IsNaN(maxVal) || minVal > maxVal)
            throw new ArgumentException($"Hardtanh needs minVal <= maxVal (not NaN); got minVal = {minVal}, maxVal = {maxVal}.", nameof(minVal));
        MinVal = minVal;
        MaxVal = maxVal;
    }

    /// <summary>Lower bound.</summary>
    public float MinVal { get; }

    /// <summary>Upper bound.</summary>
    public float MaxVal { get; }

    /// <inheritdoc />
    public override Tensor Forward(Tensor input)
    {
        ThrowIfDisposed();
        return Functional.Clamp(input, MinVal, MaxVal);
    }

    /// <inheritdoc />
    protected override string ExtraRepr() => $"min_val={MinVal}, max_val={MaxVal}";
}
