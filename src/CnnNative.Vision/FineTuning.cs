using CnnNative.IO;
using CnnNative.Nn;
using CnnNative.Onnx;

namespace CnnNative.Vision;

/// <summary>
/// Transfer learning on a model of the zoo (or any <see cref="Module"/> ending in a <see cref="Linear"/>
/// classifier): its <em>head</em> is the last <see cref="Linear"/> module in <see cref="Module.NamedModules"/>
/// order (resnet18: <c>fc</c>, mobilenet_v2: <c>classifier.1</c>, vgg: <c>classifier.6</c>, lenet5:
/// <c>fc3</c>); everything else is the backbone.
/// </summary>
public static class FineTuning
{
    /// <summary>The head's dotted name and module.</summary>
    /// <exception cref="ArgumentException">The model has no <see cref="Linear"/> module.</exception>
    public static (string Name, Linear Head) FindHead(Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        (string Name, Module Module) last = model.NamedModules().LastOrDefault(m => m.Module is Linear && m.Name.Length > 0);
        return last.Module is Linear head
            ? (last.Name, head)
            : throw new ArgumentException($"{model.GetType().Name} has no Linear classifier to replace.", nameof(model));
    }

    /// <summary>
    /// Replaces the head with a new, randomly initialised <c>Linear(in_features, numClasses)</c> (seed with
    /// <see cref="Cnn.ManualSeed"/>), disposing the old one (PyTorch's <c>model.fc = nn.Linear(512, n)</c>).
    /// </summary>
    /// <returns>The new head.</returns>
    public static Linear ReplaceHead(Module model, int numClasses)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(numClasses, 1);
        (string name, Linear old) = FindHead(model);
        int dot = name.LastIndexOf('.');
        Module parent = dot < 0 ? model : model.NamedModules().First(m => m.Name == name[..dot]).Module;
        var head = new Linear(old.InFeatures, numClasses, bias: old.Bias is not null);
        parent.ReplaceChild(dot < 0 ? name : name[(dot + 1)..], head).Dispose();
        return head;
    }

    /// <summary>
    /// Freezes (<see cref="Tensor.RequiresGrad"/> = false) or unfreezes every backbone parameter; the head
    /// stays trainable. Frozen weights get no gradient: their weight-gradient kernels are skipped, and with
    /// the whole backbone frozen no graph is recorded before the head at all.
    /// </summary>
    /// <returns>The number of parameter elements changed.</returns>
    public static long SetBackboneFrozen(Module model, bool frozen)
    {
        string head = FindHead(model).Name + ".";
        long count = 0;
        foreach ((string name, Tensor p) in model.NamedParameters())
        {
            bool trainable = !frozen || name.StartsWith(head, StringComparison.Ordinal);
            if (p.RequiresGrad != trainable)
            {
                p.RequiresGrad = trainable;
                count += p.Length;
            }
        }

        return count;
    }

    /// <summary>The parameters that require gradients (give these to the optimizer).</summary>
    public static List<Tensor> TrainableParameters(Module model) =>
        (model ?? throw new ArgumentNullException(nameof(model))).Parameters().Where(p => p.RequiresGrad).ToList();

    /// <summary>
    /// Loads every backbone parameter and buffer from a weights file, ignoring the file's head (so a
    /// checkpoint with another class count fits): <c>.safetensors</c> with the state-dict keys (a torchvision
    /// <c>state_dict</c> or one saved by <see cref="Module.SaveSafetensors"/>), or <c>.onnx</c> whose
    /// initializers carry the state-dict names (export with <c>do_constant_folding=False</c> and
    /// <c>training=torch.onnx.TrainingMode.PRESERVE</c>; a model with batch norm folded into the convolutions has
    /// no such names and is refused with the list of missing keys).
    /// </summary>
    /// <exception cref="InvalidDataException">A backbone key is missing, unexpected or of another shape (all listed).</exception>
    public static void LoadBackbone(Module model, string path)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"weights file {path} not found.", path);
        }

        string head = FindHead(model).Name + ".";
        bool onnx = string.Equals(Path.GetExtension(path), ".onnx", StringComparison.OrdinalIgnoreCase);
        OnnxModel? graph = onnx ? OnnxModel.Load(path) : null;
        Dictionary<string, Tensor>? file = onnx ? null : Safetensors.Load(path);
        try
        {
            Dictionary<string, Tensor> state = graph is not null
                ? graph.NamedParameters().Concat(graph.NamedBuffers()).ToDictionary(e => e.Item1, e => e.Item2, StringComparer.Ordinal)
                : file!;
            var backbone = state.Where(e => !e.Key.StartsWith(head, StringComparison.Ordinal))
                .ToDictionary(e => e.Key, e => e.Value, StringComparer.Ordinal);
            var expected = model.StateDict().Select(e => e.Key).Where(k => !k.StartsWith(head, StringComparison.Ordinal)).ToHashSet(StringComparer.Ordinal);
            var missing = expected.Where(k => !backbone.ContainsKey(k) && !k.EndsWith("num_batches_tracked", StringComparison.Ordinal)).ToList();
            var unexpected = backbone.Keys.Where(k => !expected.Contains(k)).ToList();
            if (missing.Count > 0 || unexpected.Count > 0)
            {
                throw new InvalidDataException(
                    $"{path} does not fit {model.GetType().Name}'s backbone: {missing.Count} missing key(s) [{Preview(missing)}], " +
                    $"{unexpected.Count} unexpected [{Preview(unexpected)}]." +
                    (onnx ? " An ONNX file needs the state-dict names as initializers (torch.onnx.export(..., do_constant_folding=False, training=torch.onnx.TrainingMode.PRESERVE)); or convert the weights to safetensors." : ""));
            }

            try
            {
                model.LoadStateDict(backbone, strict: false);
            }
            catch (ArgumentException ex)
            {
                throw new InvalidDataException($"{path}: {ex.Message}", ex);
            }
        }
        finally
        {
            graph?.Dispose();
            if (file is not null)
            {
                foreach (Tensor t in file.Values)
                {
                    t.Dispose();
                }
            }
        }
    }

    private static string Preview(List<string> keys) => string.Join(", ", keys.Take(5)) + (keys.Count > 5 ? ", ..." : "");
}
