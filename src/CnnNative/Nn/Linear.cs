namespace CnnNative.Nn;

/// <summary>
/// Fully connected layer, PyTorch's <c>nn.Linear</c>: y = x W^T + b, with an optional fused activation.
/// Parameters: <c>weight</c> [out, in] and (if <c>bias</c>) <c>bias</c> [out], both initialised like PyTorch:
/// U(-1/sqrt(in), 1/sqrt(in)). The input is [N, in] or any [..., in] (leading dimensions are batched).
/// </summary>
public sealed class Linear : Module
{
    /// <summary><c>nn.Linear(in_features, out_features, bias=True)</c>.</summary>
    public Linear(int inFeatures, int outFeatures, bool bias = true, Activation activation = Activation.None)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(inFeatures, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(outFeatures, 1);
        if (!Enum.IsDefined(activation))
            throw new ArgumentOutOfRangeException(nameof(activation), activation, "Unknown activation.");
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        Activation = activation;
        CheckParameterSize("the Linear weight", nameof(inFeatures), outFeatures, inFeatures);
        float bound = 1f / MathF.Sqrt(inFeatures);
        Weight = RegisterParameter("weight", UniformInit(-bound, bound, outFeatures, inFeatures));
        if (bias)
            Bias = RegisterParameter("bias", UniformInit(-bound, bound, outFeatures));
    }

    /// <summary>Input features.</summary>
    public int InFeatures { get; }

    /// <summary>Output features.</summary>
    public int OutFeatures { get; }

    /// <summary>Activation fused into the layer (applied to its output); <see cref="Activation.None"/> by default.</summary>
    public Activation Activation { get; set; }

    /// <summary>The weight, [out, in].</summary>
    public Tensor Weight { get; }

    /// <summary>The bias, [out], or null.</summary>
    public Tensor? Bias { get; }

    /// <inheritdoc />
    public override Tensor Forward(Tensor input)
    {
        ThrowIfDisposed();
        ArgumentNullException.ThrowIfNull(input);
        int[] shape = input.Shape;
        if (shape[^1] != InFeatures)
            throw new ArgumentException(
                $"Linear({InFeatures}, {OutFeatures}) expects the last dimension to be {InFeatures}, got shape [{string.Join(", ", shape)}].", nameof(input));
        if (shape.Length == 2)
            return Functional.Linear(input, Weight, Bias, Activation);

        // [..., in] -> [rows, in] -> [rows, out] -> [..., out]; a 1-D input is one row, as in PyTorch.
        using var flat = input.Reshape(-1, InFeatures);
        using var output = Functional.Linear(flat, Weight, Bias, Activation);
        int[] outShape = (int[])shape.Clone();
        outShape[^1] = OutFeatures;
        return output.Reshape(outShape);
    }

    /// <inheritdoc />
    protected override string ExtraRepr() =>
        $"in_features={InFeatures}, out_features={OutFeatures}, bias={(Bias is null ? "False" : "True")}" +
        (Activation != Activation.None ? $", activation={Activation}" : "");
}
