using System.Globalization;
using CnnNative.Interop;

namespace CnnNative.Tests.Infrastructure;

/// <summary>Theory rows and name parsing shared by the forward oracle tests and the gradient oracle tests.</summary>
public static class CaseNames
{
    /// <summary>Activation cases, "op-n" or "op-AxBxCxD", crossed with the ISAs.</summary>
    public static TheoryData<string, CnnIsa> ActivationRows()
    {
        var names = new List<string>();
        foreach (string op in new[] { "relu", "sigmoid", "tanh" })
        {
            foreach (int n in new[] { 1, 7, 8, 31, 1000, 4099 })
            {
                names.Add($"{op}-{n}");
            }

            names.Add($"{op}-2x3x5x7");
        }

        return Isas.Cross(names);
    }

    /// <summary>Add cases, "shape-activation", crossed with the ISAs.</summary>
    public static TheoryData<string, CnnIsa> AddRows() => Isas.Cross(
    [
        "1-none", "7-relu", "2x3x5x5-none", "2x3x5x5-relu", "4099-sigmoid", "1x64x7x7-tanh", "33-relu",
    ]);

    /// <summary>"AxBxC" as its dimensions.</summary>
    public static int[] Shape(string text) => text.Split('x').Select(int.Parse).ToArray();

    /// <summary>The parts of <paramref name="name"/> before and after its first '-'.</summary>
    public static (string Head, string Tail) SplitFirstDash(string name) =>
        (name[..name.IndexOf('-')], name[(name.IndexOf('-') + 1)..]);

    /// <summary>A softmax case name: op-shape-d&lt;dim&gt;-s&lt;scale&gt;; dim may be negative.</summary>
    public static (string Op, int[] Shape, int Dim, double Scale) Softmax(string name)
    {
        string op = name.StartsWith("log_softmax", StringComparison.Ordinal) ? "log_softmax" : "softmax";
        string rest = name[(op.Length + 1)..];
        int dIndex = rest.IndexOf("-d", StringComparison.Ordinal);
        int sIndex = rest.LastIndexOf("-s", StringComparison.Ordinal);
        int[] shape = Shape(rest[..dIndex]);
        int dim = int.Parse(rest[(dIndex + 2)..sIndex], CultureInfo.InvariantCulture);
        double scale = double.Parse(rest[(sIndex + 2)..], CultureInfo.InvariantCulture);
        return (op, shape, dim, scale);
    }

    /// <summary>A batch-norm (eval) case name: shape-affine-activation-eps.</summary>
    public static (int[] Shape, string Affine, Activation Act, float Eps) BatchNorm(string name)
    {
        string[] parts = name.Split('-');
        int[] shape = Shape(parts[0]);
        string affine = parts[1];
        var act = Enum.Parse<Activation>(parts[2], ignoreCase: true);
        float eps = float.Parse(parts[3], CultureInfo.InvariantCulture);
        return (shape, affine, act, eps);
    }

    /// <summary>A linear case name: lead-in-out-bias|nobias-activation, lead the leading dims, e.g. [B] or [B, T].</summary>
    public static (int[] Lead, int In, int Out, bool HasBias, Activation Act) Linear(string name)
    {
        string[] p = name.Split('-');
        int[] lead = p[0].Split('x').Select(v => int.Parse(v, CultureInfo.InvariantCulture)).ToArray();
        int inF = int.Parse(p[1], CultureInfo.InvariantCulture), outF = int.Parse(p[2], CultureInfo.InvariantCulture);
        bool hasBias = p[3] == "bias";
        var act = Enum.Parse<Activation>(p[4], ignoreCase: true);
        return (lead, inF, outF, hasBias, act);
    }
}
