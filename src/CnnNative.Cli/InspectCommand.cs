using System.CommandLine;
using System.Globalization;
using CnnNative.Nn;
using CnnNative.Onnx;

namespace CnnNative.Cli;

/// <summary>
/// <c>cnn inspect MODEL [--input-shape 1,3,224,224]</c>: runs the model once on zeros while recording the
/// Functional ops, and prints one row per layer (ONNX node, or op of a zoo model) — name, op, output
/// shape, parameters, FLOPs (2 x MACs of convolutions and linear layers) — and the totals.
/// </summary>
internal static class InspectCommand
{
    public static Command Create()
    {
        var model = new Argument<string>("model") { Description = "An .onnx file or a model name (" + string.Join(", ", ModelSource.Names) + ")." };
        var shape = new Option<string?>("--input-shape") { Description = "Input shape, e.g. 1,3,224,224 (default: the model's, batch 1).", HelpName = "N,C,H,W" };
        var classes = new Option<int>("--num-classes") { Description = "Classes of a zoo model.", DefaultValueFactory = _ => 1000 };
        var maxTensor = ModelSource.MaxTensorMibOption();
        var command = new Command("inspect", "Print a model's layers: output shapes, parameter counts and FLOPs, with totals.") { model, shape, classes, maxTensor };
        command.SetAction(r => Run(r.GetValue(model)!, r.GetValue(shape), r.GetValue(classes), r.GetValue(maxTensor), Console.Out));
        return command;
    }

    /// <summary>One row of the table.</summary>
    internal sealed record Row(string Name, string Op, int[] Shape, long Parameters, long Flops);

    public static int Run(string name, string? shapeText, int classes, int maxTensorMib, TextWriter output)
    {
        Module model;
        int[] shape;
        if (ModelSource.IsOnnxPath(name))
        {
            OnnxModel onnx = ModelSource.LoadOnnx(name, ModelSource.LoadOptions(maxTensorMib));
            model = onnx;
            if (onnx.Inputs.Count != 1)
                throw new CliException($"{name} has {onnx.Inputs.Count} inputs; inspect runs models with one input.");
            shape = ModelSource.Concrete(onnx.Inputs[0], 1);
        }
        else
        {
            (model, shape) = ModelSource.CreateZoo(name, classes);
        }

        using (model)
        {
            if (shapeText != null)
                shape = ModelSource.ParseShape(shapeText);
            ModelSource.Bounded(shape, maxTensorMib, "the input shape");
            List<Row> rows = Layers(model, shape);
            Print(output, name, shape, rows, model.ParameterCount());
        }

        return ExitCodes.Success;
    }

    /// <summary>Runs the model once on zeros and turns the recorded Functional ops into rows.</summary>
    internal static List<Row> Layers(Module model, int[] shape)
    {
        var records = new List<FunctionalRecord>();
        using (Tensor x = Tensor.Zeros(shape))
        using (Autograd.NoGrad())
        using (FunctionalRecorder.Start(records))
        {
            try
            {
                model.Forward(x).Dispose();
            }
            catch (ArgumentException e)
            {
                throw new CliException($"the model does not accept an input of shape {Tensor.FormatShape(shape)}: {e.Message}");
            }
        }

        var owner = new Dictionary<Tensor, string>(ReferenceEqualityComparer.Instance);
        foreach ((string n, Tensor p) in model.NamedParameters())
            owner[p] = n;
        var counted = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        var rows = new List<Row>();
        for (int i = 0; i < records.Count; i++)
        {
            // The records of one ONNX node (its scope) make one row; without scopes each op is a row.
            int j = i;
            while (records[i].Scope != null && j + 1 < records.Count && records[j + 1].Scope == records[i].Scope)
                j++;
            var group = records.GetRange(i, j - i + 1);
            long parameters = group.SelectMany(r => r.Parameters).Where(counted.Add).Sum(p => p.Length);
            string rowName = records[i].Scope
                ?? group.SelectMany(r => r.Parameters).Select(p => owner.TryGetValue(p, out string? n) ? n[..Math.Max(0, n.LastIndexOf('.'))] : null)
                       .FirstOrDefault(n => n != null) ?? "-";
            rows.Add(new Row(rowName, records[i].ScopeOp ?? records[i].Op, group[^1].OutputShape, parameters, 2 * group.Sum(r => r.Macs)));
            i = j;
        }

        return rows;
    }

    private static void Print(TextWriter output, string name, int[] shape, List<Row> rows, long modelParameters)
    {
        static string Num(long v) => v.ToString("N0", CultureInfo.InvariantCulture);
        static string Dims(int[] s) => "[" + string.Join(", ", s) + "]";
        int nameWidth = Math.Clamp(rows.Count == 0 ? 4 : rows.Max(r => r.Name.Length), 4, 48);
        int opWidth = Math.Max(2, rows.Count == 0 ? 2 : rows.Max(r => r.Op.Length));
        int shapeWidth = Math.Max(12, rows.Count == 0 ? 12 : rows.Max(r => Dims(r.Shape).Length));
        output.WriteLine($"{name}: input {Dims(shape)}");
        output.WriteLine($"{"name".PadRight(nameWidth)}  {"op".PadRight(opWidth)}  {"output shape".PadRight(shapeWidth)}  {"params",12}  {"FLOPs",16}");
        foreach (Row r in rows)
        {
            string n = r.Name.Length > nameWidth ? "..." + r.Name[^(nameWidth - 3)..] : r.Name;
            output.WriteLine($"{n.PadRight(nameWidth)}  {r.Op.PadRight(opWidth)}  {Dims(r.Shape).PadRight(shapeWidth)}  {Num(r.Parameters),12}  {Num(r.Flops),16}");
        }

        long total = rows.Sum(r => r.Parameters);
        output.WriteLine($"total: {rows.Count} layers, {Num(total)} parameters, {Num(rows.Sum(r => r.Flops))} FLOPs (2 x MACs of conv/linear) for batch {shape[0]}");
        if (total != modelParameters)
            output.WriteLine($"note: the model holds {Num(modelParameters)} parameters; {Num(modelParameters - total)} are not read by any recorded layer.");
    }
}
