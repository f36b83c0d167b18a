using CnnNative.Interop;
using TorchSharp;
using TT = TorchSharp.torch.Tensor;

namespace CnnNative.Tests.Infrastructure;

/// <summary>
/// Runs a libtorch reference (typically <see cref="TorchOps"/>) on CnnNative tensors: inputs become float64 torch
/// tensors, the results come back as float32 <see cref="OracleTensor"/>s (what <see cref="OracleErrors"/> and
/// <see cref="GradCheck"/> compare), and every torch tensor made on the way is disposed (one dispose scope per run),
/// so the suite's memory stays flat however many cases run.
/// </summary>
public static class TorchReference
{
    /// <summary>The output of <paramref name="forward"/> (no autograd graph), named "output".</summary>
    public static OracleTensor Output(Func<TT> forward)
    {
        Torch.Ensure();
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        return ToOracle("output", forward());
    }

    /// <summary>
    /// The output of <paramref name="forward"/> and its gradients: each present input of <paramref name="leaves"/>
    /// becomes a float64 leaf that requires grad; "grad.&lt;name&gt;" is d(sum(output * gradOutput))/d(name), zero
    /// where the output does not depend on it (torch's allow_unused). A null <paramref name="gradOutput"/> means the
    /// output is one value (a loss) and its gradient is 1. Tensors the forward passes to <see cref="Leaves.Keep"/>
    /// (running statistics, say) are read after the backward pass.
    /// </summary>
    public static TorchResult Gradients(Tensor? gradOutput, Func<Leaves, TT> forward, params (string Name, Tensor? Value)[] leaves)
    {
        Torch.Ensure();
        using var scope = torch.NewDisposeScope();
        using var gradMode = torch.enable_grad();
        var inputs = new Leaves();
        foreach ((string name, Tensor? value) in leaves)
        {
            if (value is not null)
            {
                inputs.Add(name, Torch.From(value, requiresGrad: true));
            }
        }

        TT y = forward(inputs);
        if (gradOutput is null)
        {
            if (y.numel() != 1)
            {
                throw new ArgumentException($"without a grad_output the output must be one value; it has shape [{string.Join(", ", y.shape)}]", nameof(gradOutput));
            }

            y.backward();
        }
        else
        {
            TT go = Torch.From(gradOutput);
            if (!go.shape.SequenceEqual(y.shape))
            {
                throw new ArgumentException(
                    $"grad_output has shape [{string.Join(", ", go.shape)}], the output [{string.Join(", ", y.shape)}]", nameof(gradOutput));
            }

            y.backward([go]);
        }

        var result = new TorchResult();
        result.Add("output", y);
        foreach ((string name, TT leaf) in inputs.All)
        {
            result.Add("grad." + name, leaf.grad ?? torch.zeros_like(leaf));
        }

        foreach ((string name, TT kept) in inputs.Kept)
        {
            result.Add(name, kept);
        }

        return result;
    }

    /// <summary>
    /// Asserts that <paramref name="leaf"/>.Grad matches torch's "grad.&lt;input&gt;" of <paramref name="expected"/>;
    /// recorded as "grad:&lt;op&gt;.&lt;input&gt;" (tolerance per unit of the gradient's scale, see <see cref="GradCheck"/>).
    /// </summary>
    public static void AssertGrad(
        ITestOutputHelper output, string op, string input, CnnIsa isa, string caseName, Tensor leaf, TorchResult expected, Tolerance perUnit) =>
        GradCheck.AssertGrad(output, $"grad:{op}.{input}", isa, caseName, leaf, expected["grad." + input], perUnit);

    /// <summary>A float64 torch copy of an optional input (null stays null: a layer without bias, say).</summary>
    public static TT? FromOptional(Tensor? t) => t is null ? null : Torch.From(t);

    /// <summary>The float32 values of a torch tensor under a name (the form the comparisons take).</summary>
    public static OracleTensor ToOracle(string name, TT t) => new(name, Torch.ToFloats(t), Torch.ShapeOf(t));

    /// <summary>The float64 leaves of one <see cref="Gradients"/> run, by input name.</summary>
    public sealed class Leaves
    {
        private readonly Dictionary<string, TT> _leaves = new(StringComparer.Ordinal);
        private readonly List<(string Name, TT Tensor)> _kept = [];

        /// <summary>The leaf of a required input.</summary>
        public TT this[string name] => _leaves.TryGetValue(name, out TT? t)
            ? t
            : throw new KeyNotFoundException($"no torch leaf '{name}' (have {string.Join(", ", _leaves.Keys)})");

        /// <summary>The leaf of an optional input, or null when the case has none (a conv without bias, say).</summary>
        public TT? Optional(string name) => _leaves.GetValueOrDefault(name);

        /// <summary>Reports <paramref name="t"/> under <paramref name="name"/> too, with its values after the backward pass.</summary>
        public void Keep(string name, TT t) => _kept.Add((name, t));

        internal IEnumerable<KeyValuePair<string, TT>> All => _leaves;

        internal IEnumerable<(string Name, TT Tensor)> Kept => _kept;

        internal void Add(string name, TT leaf) => _leaves.Add(name, leaf);
    }
}

/// <summary>Named float32 results of a <see cref="TorchReference"/> run: "output", "grad.&lt;input&gt;" and kept tensors.</summary>
public sealed class TorchResult
{
    private readonly Dictionary<string, OracleTensor> _tensors = new(StringComparer.Ordinal);

    /// <summary>A result by name; fails naming the ones there are.</summary>
    public OracleTensor this[string name] => _tensors.TryGetValue(name, out OracleTensor? t)
        ? t
        : throw new KeyNotFoundException($"the torch reference has no '{name}' (has {string.Join(", ", _tensors.Keys)})");

    internal void Add(string name, TT t) => _tensors[name] = TorchReference.ToOracle(name, t);
}

/// <summary>
/// The libtorch oracle's collection: the op and gradient tests that compare with torch in-process. Its fixture writes
/// artifacts/oracle-errors.txt (the worst error per op and ISA) when the collection is done.
/// </summary>
[CollectionDefinition(Name)]
public sealed class TorchCollection : ICollectionFixture<TorchFixture>
{
    /// <summary>The collection's name.</summary>
    public const string Name = "Torch";
}

/// <summary>Writes the error summary at the end of the <see cref="TorchCollection"/> (loads nothing itself: each test's first torch call does).</summary>
public sealed class TorchFixture : IDisposable
{
    /// <inheritdoc />
    public void Dispose()
    {
        string version;
        try
        {
            version = Torch.Version + " (libtorch through TorchSharp)";
        }
        catch (InvalidOperationException)
        {
            version = "(libtorch did not load)";
        }

        OracleErrors.WriteSummary(version);
    }
}
