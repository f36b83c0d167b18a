using TorchSharp;
using TorchSharp.Modules;
using TModule = TorchSharp.torch.nn.Module<TorchSharp.torch.Tensor, TorchSharp.torch.Tensor>;
using TT = TorchSharp.torch.Tensor;

namespace CnnNative.Tests.Infrastructure;

/// <summary>
/// Whole-model references in libtorch (TorchSharp): a torch model is built seeded, given non-trivial BatchNorm state,
/// written as safetensors for CnnNative to load (torch's keys, torch's order, num_batches_tracked as I64), and run in
/// float64 (forward; or one training step with autograd; or SGD steps). Results come back as <see cref="OracleTensor"/>s
/// (float32 values of the float64 result, like the Python oracle's replies) so the comparisons of
/// <see cref="OracleErrors"/> and <see cref="GradCheck"/> apply unchanged.
/// </summary>
public static class TorchModelOracle
{
    /// <summary>Serialises seeding + building: module initialisation draws from torch's global generator.</summary>
    private static readonly object SeedGate = new();

    /// <summary>
    /// The random BatchNorm state: running_mean ~ N(0, MeanStd), running_var ~ U(VarLow, VarHigh), weight ~ U(0.5, 1.5),
    /// bias ~ N(0, BiasStd), num_batches_tracked in [1, 1000).
    /// </summary>
    public readonly record struct BatchNormSpread(double MeanStd, double VarLow, double VarHigh, double BiasStd)
    {
        /// <summary>The blocks and small models (the Python oracle's build_model).</summary>
        public static BatchNormSpread Blocks => new(0.5, 0.25, 1.75, 0.25);

        /// <summary>The deep zoo models (the Python oracle's serve_model): narrower, so 50 layers stay O(1..100).</summary>
        public static BatchNormSpread Zoo => new(0.1, 0.5, 1.5, 0.1);
    }

    /// <summary>
    /// <paramref name="create"/> run right after torch.manual_seed(<paramref name="seed"/>), then every BatchNorm2d given
    /// random state drawn from a generator seeded <paramref name="seed"/> + 1 (<paramref name="spread"/>; none if null);
    /// float32, eval mode.
    /// </summary>
    public static T Build<T>(int seed, Func<T> create, BatchNormSpread? spread)
        where T : torch.nn.Module
    {
        Torch.Ensure();
        T model;
        lock (SeedGate)
        {
            torch.manual_seed(seed);
            model = create();
        }

        if (spread is { } s)
        {
            using var gen = new torch.Generator((ulong)seed + 1);
            using var noGrad = torch.no_grad();
            foreach (var (_, m) in model.named_modules())
            {
                if (m is BatchNorm2d bn)
                {
                    long c = bn.weight!.shape[0];
                    using var scope = torch.NewDisposeScope();
                    bn.running_mean!.copy_(torch.randn(c, generator: gen) * s.MeanStd);
                    bn.running_var!.copy_((torch.rand(c, generator: gen) * (s.VarHigh - s.VarLow)) + s.VarLow);
                    bn.weight!.copy_(torch.rand(c, generator: gen) + 0.5);
                    bn.bias!.copy_(torch.randn(c, generator: gen) * s.BiasStd);
                    bn.num_batches_tracked!.fill_(torch.randint(1, 1000, [1], generator: gen).item<long>());
                }
            }
        }

        model.eval();
        return model;
    }

    /// <summary>
    /// The state dict in PyTorch's order: depth first through the children in registration order, each module's own
    /// parameters, then its own persistent buffers, then its children. TorchSharp's state_dict() holds the same entries
    /// but lists every parameter before every buffer, and its named_modules() goes level by level (ResNet's fc right
    /// after bn1), neither of which is the order of a PyTorch checkpoint (nor CnnNative's, which follows PyTorch).
    /// <paramref name="parametersOnly"/>: the parameters alone, in the same order (PyTorch's named_parameters()).
    /// </summary>
    public static List<(string Key, TT Value)> StateDict(torch.nn.Module model, bool parametersOnly = false)
    {
        var all = model.state_dict();
        if (parametersOnly)
        {
            all = model.named_parameters().ToDictionary(p => p.name, p => (TT)p.parameter);
        }

        var ordered = new List<(string, TT)>(all.Count);
        Walk(model, "");
        if (ordered.Count != all.Count || ordered.Any(e => !all.ContainsKey(e.Item1)))
        {
            throw new InvalidOperationException($"the module walk found {ordered.Count} state entries, state_dict() has {all.Count}");
        }

        return ordered;

        void Walk(torch.nn.Module m, string prefix)
        {
            ordered.AddRange(m.named_parameters(recurse: false).Select(p => (prefix + p.name, (TT)p.parameter)));
            ordered.AddRange(m.named_buffers(recurse: false).Where(_ => !parametersOnly).Where(b => all.ContainsKey(prefix + b.name)).Select(b => (prefix + b.name, b.buffer)));
            // TorchSharp's MobileNetV2 registers its classifier before its features; torchvision's assigns features first.
            var children = m is MobileNetV2 ? m.named_children().OrderBy(c => c.name == "classifier" ? 1 : 0) : m.named_children();
            foreach (var (name, child) in children)
            {
                Walk(child, prefix + name + ".");
            }
        }
    }

    /// <summary>Number of parameter values (torch's sum of numel over parameters()).</summary>
    public static long ParameterCount(torch.nn.Module model) => model.parameters().Sum(p => p.numel());

    /// <summary>Writes the state dict of <paramref name="model"/> to <paramref name="path"/> in PyTorch's order (<see cref="TorchSafetensors.Write"/>); returns its keys.</summary>
    public static List<string> Save(torch.nn.Module model, string path)
    {
        var state = StateDict(model);
        TorchSafetensors.Write(path, state);
        return state.Select(e => e.Key).ToList();
    }

    /// <summary>
    /// Loads <paramref name="entries"/> into <paramref name="model"/> the way torch's load_state_dict(strict=True) would
    /// accept them: exactly the model's keys, each with the model's shape and dtype (int64 for num_batches_tracked);
    /// throws <see cref="InvalidDataException"/> naming the first difference.
    /// </summary>
    public static void LoadStrict(torch.nn.Module model, IReadOnlyList<(string Name, TT Tensor)> entries)
    {
        var reference = model.state_dict();
        var given = entries.Select(e => e.Name).ToList();
        var missing = reference.Keys.Except(given).ToList();
        var unexpected = given.Except(reference.Keys).ToList();
        if (missing.Count > 0 || unexpected.Count > 0 || given.Count != reference.Count)
        {
            throw new InvalidDataException($"state dict keys differ from torch's: missing [{string.Join(", ", missing)}], unexpected [{string.Join(", ", unexpected)}], {given.Count} given for {reference.Count}");
        }

        foreach (var (name, t) in entries)
        {
            TT r = reference[name];
            if (r.dtype != t.dtype || !r.shape.SequenceEqual(t.shape))
            {
                throw new InvalidDataException($"{name}: torch keeps [{string.Join(", ", r.shape)}] {r.dtype}, given [{string.Join(", ", t.shape)}] {t.dtype}");
            }
        }

        model.load_state_dict(entries.ToDictionary(e => e.Name, e => e.Tensor), strict: true);
    }

    /// <summary>The eval-mode output of <paramref name="model"/> for <paramref name="x"/>, computed in <paramref name="dtype"/> (the model is converted).</summary>
    public static OracleTensor Forward(TModule model, Tensor x, torch.ScalarType dtype = torch.ScalarType.Float64)
    {
        // Converted outside the dispose scope: the converted parameters belong to the model, not to this call.
        model.to(dtype);
        model.eval();
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        return Expected("output", model.call(Torch.From(x).to_type(dtype)));
    }

    /// <summary>The float32 values of <paramref name="t"/> under <paramref name="name"/>, for the comparisons.</summary>
    public static OracleTensor Expected(string name, TT t) => new(name, Torch.ToFloats(t), Torch.ShapeOf(t));

    /// <summary>One float64 training step of a torch model: its output, loss, parameter gradients and state after the step.</summary>
    /// <param name="Output">The model's output (or the first head's).</param>
    /// <param name="Loss">The loss, shape [1].</param>
    /// <param name="Grads">The gradient of every trainable parameter, by name.</param>
    /// <param name="State">The state dict after the forward (running statistics updated in training mode).</param>
    /// <param name="Params">Every parameter name, in torch's order.</param>
    /// <param name="KinkMargin">How far that forward stayed from ReLU kinks and max-pool ties (<see cref="TorchKinks"/>).</param>
    /// <param name="KinkSites">How many ReLU / ReLU6 / max-pool calls the margin covers.</param>
    public sealed record Step(
        OracleTensor Output, OracleTensor Loss, IReadOnlyDictionary<string, OracleTensor> Grads,
        IReadOnlyDictionary<string, OracleTensor> State, IReadOnlyList<string> Params, double KinkMargin, int KinkSites);

    /// <summary>
    /// Saves <paramref name="model"/>'s initial state to <paramref name="path"/> (for CnnNative to load), converts it to
    /// float64, puts it in training mode <paramref name="train"/> (with every Dropout in eval mode if
    /// <paramref name="dropoutEval"/>: CnnNative's masks come from its own hash), freezes <paramref name="frozen"/>, runs
    /// <paramref name="forwardLoss"/> (output, loss) on float64 <paramref name="x"/> and backward.
    /// </summary>
    public static Step TrainingStep(
        torch.nn.Module model, string path, Tensor x, Func<TT, (TT Output, TT Loss)> forwardLoss,
        bool train = true, bool dropoutEval = false, IReadOnlyCollection<string>? frozen = null)
    {
        Save(model, path);
        model.to(torch.ScalarType.Float64);
        using var scope = torch.NewDisposeScope();
        SetTrainingMode(model, train, dropoutEval);
        var named = model.named_parameters().ToList();
        var unknown = (frozen ?? []).Except(named.Select(p => p.name)).ToList();
        if (unknown.Count > 0)
        {
            throw new ArgumentException($"frozen names that are not parameters: {string.Join(", ", unknown)}", nameof(frozen));
        }

        foreach (var (name, p) in named)
        {
            p.requires_grad = frozen?.Contains(name) != true;
        }

        (TT output, TT loss, double margin, int sites) = TorchKinks.Measure(model, () => forwardLoss(Torch.From(x)));
        loss.backward();
        var grads = named.Where(p => p.parameter.grad is not null).ToDictionary(p => p.name, p => Expected("grad." + p.name, p.parameter.grad!));
        var state = StateDict(model).ToDictionary(e => e.Key, e => Expected("state." + e.Key, e.Value));
        var order = StateDict(model, parametersOnly: true).Select(p => p.Key).ToList();
        return new Step(Expected("output", output), Expected("loss", loss.reshape(1)), grads, state, order, margin, sites);
    }

    /// <summary>Training mode <paramref name="train"/>, with every Dropout in eval mode (the identity) if <paramref name="dropoutEval"/>.</summary>
    public static void SetTrainingMode(torch.nn.Module model, bool train, bool dropoutEval)
    {
        model.train(train);
        if (dropoutEval)
        {
            foreach (var (_, m) in model.named_modules().Where(m => m.module is Dropout))
            {
                m.eval();
            }
        }
    }

    /// <summary>Cross-entropy of <paramref name="logits"/> against <paramref name="labels"/> (mean, optional label smoothing).</summary>
    public static TT CrossEntropy(TT logits, int[] labels, double labelSmoothing = 0) =>
        torch.nn.functional.cross_entropy(logits, torch.tensor(labels.Select(l => (long)l).ToArray()), label_smoothing: labelSmoothing);

    /// <summary>
    /// Saves <paramref name="model"/>'s initial state to <paramref name="path"/>, then runs torch.optim.SGD(lr, momentum,
    /// weight_decay) in float64, training mode, one step per batch with cross-entropy against that batch's labels.
    /// Returns the loss of every step (before its update) and the state at the end.
    /// </summary>
    public static (double[] Losses, IReadOnlyDictionary<string, OracleTensor> State) TrainSgd(
        TModule model, string path, IReadOnlyList<Tensor> batches, IReadOnlyList<int[]> labels, double lr, double momentum, double weightDecay)
    {
        Save(model, path);
        model.to(torch.ScalarType.Float64);
        model.train();
        using var sgd = torch.optim.SGD(model.parameters(), lr, momentum, weight_decay: weightDecay);
        var losses = new double[batches.Count];
        for (int s = 0; s < batches.Count; s++)
        {
            using var scope = torch.NewDisposeScope();
            sgd.zero_grad();
            TT loss = CrossEntropy(model.call(Torch.From(batches[s])), labels[s]);
            loss.backward();
            sgd.step();
            losses[s] = loss.item<double>();
        }

        return (losses, StateDict(model).ToDictionary(e => e.Key, e => Expected("state." + e.Key, e.Value)));
    }
}

/// <summary>
/// The whole-model comparisons with libtorch run one at a time: each holds a torch and a CnnNative copy of a model
/// (VGG-16-BN: 138M parameters), and two side by side would double the suite's peak memory.
/// </summary>
[CollectionDefinition(Name)]
public sealed class TorchModelCollection
{
    /// <summary>The collection's name.</summary>
    public const string Name = "TorchModels";
}
