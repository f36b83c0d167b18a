using System.CommandLine;
using System.Globalization;
using CnnNative.Nn;
using CnnNative.Onnx;
using CnnNative.Oracle;

namespace CnnNative.Cli;

/// <summary>
/// <c>cnn verify</c>: runs a model in CnnNative and in a reference on the same input and compares every output.
/// <c>--onnx FILE</c>: ONNX Runtime 1.32 runs the same file in-process (graph optimizations off: node by node as the
/// spec defines each operator); <c>--weights FILE --model NAME</c>: torch (the oracle server oracle/torch_oracle.py next
/// to this binary, under /usr/bin/python3) builds the torchvision model and loads the same safetensors. Exit code 0
/// when every output passes, 1 when one fails, 2 on usage errors (or when the reference is unavailable).
/// </summary>
internal static class VerifyCommand
{
    public const string InstallHint = "sudo apt-get install python3-torch python3-torchvision python3-onnx";

    internal sealed record Settings(
        string? Onnx, string? Weights, string? Model, string? Input, int Seed, int Batch, string? InputShape, int Classes,
        double Rtol, double Atol, string? Perturb, int MaxTensorMib = ModelSource.DefaultMaxTensorMib);

    public static Command Create()
    {
        var onnx = new Option<string?>("--onnx") { Description = "The ONNX model to verify.", HelpName = "FILE.onnx" };
        var weights = new Option<string?>("--weights") { Description = "Weights to verify with --model (safetensors, torch state_dict keys).", HelpName = "FILE.safetensors" };
        var model = new Option<string?>("--model") { Description = "The zoo model of --weights (" + string.Join(", ", ModelSource.Names) + ")." };
        var input = new Option<string?>("--input") { Description = "Input tensor as .npy (float32/float64; one-input models). Default: seeded normal values.", HelpName = "FILE.npy" };
        var seed = new Option<int>("--seed") { Description = "Seed of the random input.", DefaultValueFactory = _ => 0 };
        var batch = new Option<int>("--batch") { Description = "Batch size of the random input (1 ... 1024).", DefaultValueFactory = _ => 1, HelpName = "N" };
        var shape = new Option<string?>("--input-shape") { Description = "Input shape for --model (default: the model's, with --batch).", HelpName = "N,C,H,W" };
        var classes = new Option<int>("--num-classes") { Description = "Classes of the --model (must match the weights).", DefaultValueFactory = _ => 1000 };
        var rtol = new Option<double>("--rtol") { Description = "Relative tolerance, times max |reference output|.", DefaultValueFactory = _ => 1e-4 };
        var atol = new Option<double>("--atol") { Description = "Absolute tolerance.", DefaultValueFactory = _ => 1e-4 };
        var perturb = new Option<string?>("--perturb")
        {
            Description = "Self-test of the check: add DELTA to the first element of parameter NAME on the CnnNative side only (it must then FAIL).",
            HelpName = "NAME=DELTA",
        };
        var maxTensor = ModelSource.MaxTensorMibOption();
        CommonOptions.AddRange(batch, 1, 1024);
        var command = new Command("verify", "Run a model in CnnNative and in a reference (ONNX Runtime for --onnx, PyTorch for --weights) on the same input and compare the outputs (max abs, max rel, normwise error).")
        {
            onnx, weights, model, input, seed, batch, shape, classes, rtol, atol, perturb, maxTensor,
        };
        command.SetAction(r => Run(
            new Settings(r.GetValue(onnx), r.GetValue(weights), r.GetValue(model), r.GetValue(input), r.GetValue(seed), r.GetValue(batch),
                r.GetValue(shape), r.GetValue(classes), r.GetValue(rtol), r.GetValue(atol), r.GetValue(perturb), r.GetValue(maxTensor)),
            Console.Out));
        return command;
    }

    public static int Run(Settings s, TextWriter output)
    {
        if ((s.Onnx == null) == (s.Weights == null) || (s.Weights != null) != (s.Model != null))
            throw new CliException("give either --onnx FILE.onnx, or --weights FILE.safetensors with --model NAME.");
        if (s.Rtol < 0 || s.Atol < 0 || double.IsNaN(s.Rtol) || double.IsNaN(s.Atol))
            throw new CliException("--rtol and --atol must be >= 0.");

        Module model;
        Dictionary<string, Tensor> inputs;
        Func<Dictionary<string, Tensor>, IReadOnlyDictionary<string, OracleTensor>> reference;
        string referenceName;
        if (s.Onnx != null)
        {
            OnnxModel onnx = ModelSource.LoadOnnx(s.Onnx, ModelSource.LoadOptions(s.MaxTensorMib));
            model = onnx;
            inputs = onnx.Inputs.Select((info, i) => (info.Name, Tensor: MakeInput(s, onnx.Inputs.Count, ModelSource.Concrete(info, s.Batch), i)))
                .ToDictionary(p => p.Name, p => p.Tensor);
            string path = Path.GetFullPath(s.Onnx);
            reference = x => AskOnnxRuntime(path, x);
            referenceName = "ONNX Runtime";
        }
        else
        {
            (model, int[] shape) = ModelSource.CreateZoo(s.Model!, s.Classes);
            shape = s.InputShape != null ? ModelSource.ParseShape(s.InputShape) : [s.Batch, .. shape[1..]];
            try
            {
                model.LoadSafetensors(s.Weights!, strict: true);
            }
            catch (Exception e) when (e is InvalidDataException or IOException or ArgumentException or NotSupportedException or UnauthorizedAccessException)
            {
                model.Dispose();
                // The library's messages name the file; this adds only what the user asked for.
                throw new CliException($"cannot load the weights into {s.Model}: {e.Message}");
            }

            inputs = new() { ["input"] = MakeInput(s, 1, shape, 0) };
            object args = new { model = s.Model, path = Path.GetFullPath(s.Weights!), num_classes = s.Classes };
            reference = x => AskTorch("weights_forward", args, x).Tensors;
            referenceName = "PyTorch";
        }

        using (model)
        {
            try
            {
                if (s.Perturb != null)
                    Perturb(model, s.Perturb, output);
                IReadOnlyDictionary<string, Tensor> ours = RunOurs(model, inputs);
                return Compare(ours, reference(inputs), referenceName, s, output);
            }
            finally
            {
                foreach (Tensor t in inputs.Values)
                    t.Dispose();
            }
        }
    }

    /// <summary>The model on the inputs; an input it cannot take (a wrong shape, a graph that fails on it) is the user's error.</summary>
    private static IReadOnlyDictionary<string, Tensor> RunOurs(Module model, Dictionary<string, Tensor> inputs)
    {
        try
        {
            return model is OnnxModel m
                ? m.Run(inputs)
                : new Dictionary<string, Tensor> { ["output"] = model.Forward(inputs["input"]) };
        }
        catch (ArgumentException e)
        {
            string shapes = string.Join(", ", inputs.Select(p => $"{p.Key} {Tensor.FormatShape(p.Value.Shape)}"));
            throw new CliException($"the model cannot run on the input ({shapes}): {e.Message}");
        }
    }

    private static Tensor MakeInput(Settings s, int inputCount, int[] shape, int index)
    {
        if (s.Input == null)
            return Tensor.Randn(s.Seed + index, ModelSource.Bounded(shape, s.MaxTensorMib, "the input shape"));
        if (inputCount != 1)
            throw new CliException("--input works for one-input models; this one has several inputs.");
        return NpyFile.Read(s.Input, ModelSource.MaxElements(s.MaxTensorMib));
    }

    private static void Perturb(Module model, string spec, TextWriter output)
    {
        int eq = spec.LastIndexOf('=');
        if (eq <= 0 || !float.TryParse(spec[(eq + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out float delta))
            throw new CliException($"--perturb '{spec}': expected NAME=DELTA.");
        string name = spec[..eq];
        Tensor p = model.StateDict().FirstOrDefault(e => e.Key == name).Value
            ?? throw new CliException($"--perturb: no parameter '{name}' (have: {string.Join(", ", model.StateDict().Take(8).Select(e => e.Key))}, ...).");
        p.AsSpan()[0] += delta;
        output.WriteLine($"perturbed {name}[0] by {delta} on the CnnNative side");
    }

    private static OracleReply AskTorch(string op, object args, Dictionary<string, Tensor> inputs)
    {
        string script = Path.Combine(AppContext.BaseDirectory, "oracle", "torch_oracle.py");
        using var client = new OracleClient(script, InstallHint);
        try
        {
            return client.Run(op, args, inputs.Select(p => OracleTensor.Of(p.Key, p.Value)).ToArray());
        }
        catch (InvalidOperationException e)
        {
            throw new CliException($"PyTorch could not run the reference: {e.Message}");
        }
    }

    /// <summary>ONNX Runtime's outputs of the file on the same inputs (load or run errors: the reference is unavailable, exit 2).</summary>
    private static IReadOnlyDictionary<string, OracleTensor> AskOnnxRuntime(string path, Dictionary<string, Tensor> inputs)
    {
        try
        {
            return OnnxRuntimeReference.Run(path, inputs.Select(p => new OnnxRuntimeReference.NamedArray(p.Key, p.Value.ToArray(), p.Value.Shape)).ToArray())
                .ToDictionary(o => o.Name, o => new OracleTensor(o.Name, o.Data, o.Shape));
        }
        catch (Microsoft.ML.OnnxRuntime.OnnxRuntimeException e)
        {
            throw new CliException($"ONNX Runtime could not run {path}: {e.Message}");
        }
    }

    private static int Compare(
        IReadOnlyDictionary<string, Tensor> ours, IReadOnlyDictionary<string, OracleTensor> reference, string referenceName, Settings s, TextWriter output)
    {
        bool pass = true;
        try
        {
            output.WriteLine($"{"output",-16} {"shape",-18} {"max abs err",12} {"max rel err",12} {"normwise",10} {"tolerance",10}  result");
            foreach ((string name, Tensor tensor) in ours)
            {
                if (!reference.TryGetValue(name, out OracleTensor? expected))
                {
                    output.WriteLine($"{name,-16} {referenceName} has no output of that name  FAIL");
                    pass = false;
                    continue;
                }

                float[] a = tensor.ToArray();
                string shape = "[" + string.Join(", ", tensor.Shape) + "]";
                if (!tensor.Shape.SequenceEqual(expected.Shape))
                {
                    output.WriteLine($"{name,-16} {shape,-18} {referenceName}'s shape is {expected.ShapeText}  FAIL");
                    pass = false;
                    continue;
                }

                double maxRef = expected.Data.Max(v => Math.Abs((double)v));
                double maxAbs = 0, maxRel = 0, diff2 = 0, ref2 = 0;
                for (int i = 0; i < a.Length; i++)
                {
                    double e = expected.Data[i], d = Math.Abs(a[i] - e);
                    d = double.IsNaN(d) ? double.PositiveInfinity : d;
                    maxAbs = Math.Max(maxAbs, d);
                    if (Math.Abs(e) >= 1e-3 * maxRef && e != 0)
                        maxRel = Math.Max(maxRel, d / Math.Abs(e));
                    diff2 += d * d;
                    ref2 += e * e;
                }

                double normwise = ref2 > 0 ? Math.Sqrt(diff2 / ref2) : Math.Sqrt(diff2);
                double tolerance = s.Atol + (s.Rtol * maxRef);
                bool ok = maxAbs <= tolerance;
                pass &= ok;
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{name,-16} {shape,-18} {maxAbs,12:0.000e+00} {maxRel,12:0.000e+00} {normwise,10:0.00e+00} {tolerance,10:0.00e+00}  {(ok ? "PASS" : "FAIL")}"));
            }
        }
        finally
        {
            foreach (Tensor t in ours.Values)
                t.Dispose();
        }

        output.WriteLine(pass
            ? $"PASS: CnnNative matches {referenceName} within atol {s.Atol} + rtol {s.Rtol} x max|reference|."
            : $"FAIL: CnnNative differs from {referenceName} beyond atol {s.Atol} + rtol {s.Rtol} x max|reference|.");
        return pass ? ExitCodes.Success : ExitCodes.Failure;
    }
}
