using CnnNative.Nn;

namespace CnnNative.Onnx;

/// <summary>
/// A holder of an ONNX model's initializers, nested by the dots of their names (<c>fc.weight</c> is the
/// parameter <c>weight</c> of the child <c>fc</c>), so that <see cref="Module.StateDict"/> keys equal the
/// initializer names. It computes nothing.
/// </summary>
internal sealed class OnnxScope : Module
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) =>
        throw new NotSupportedException("an ONNX initializer scope has no forward pass; call the OnnxModel.");

    /// <summary>Registers a tensor under a dotted name below this scope.</summary>
    internal void Add(string[] parts, int start, Tensor tensor, bool parameter, string fullName) =>
        Place(parts, start, fullName, ChildScope, leaf =>
        {
            if (parameter)
                RegisterParameter(leaf, tensor);
            else
                RegisterBuffer(leaf, tensor);
        }, (child, next) => child.Add(parts, next, tensor, parameter, fullName));

    /// <summary>
    /// Registers at <paramref name="parts"/>[start..] on a module: the last part through
    /// <paramref name="register"/>, earlier ones as child scopes; name clashes become NotSupportedException.
    /// </summary>
    internal static void Place(string[] parts, int start, string fullName, Func<string, OnnxScope> child,
        Action<string> register, Action<OnnxScope, int> descend)
    {
        string part = parts[start].Length == 0 ? "_" : parts[start];
        try
        {
            if (start == parts.Length - 1)
                register(part);
            else
                descend(child(part), start + 1);
        }
        catch (ArgumentException e)
        {
            throw new NotSupportedException($"the ONNX initializer name '{fullName}' clashes with another initializer's name ({e.Message})", e);
        }
    }

    /// <summary>The child scope <paramref name="name"/> of a module, created on first use.</summary>
    internal static OnnxScope ChildOf(Module owner, string name, Func<string, OnnxScope, OnnxScope> register)
    {
        foreach ((string n, Module m) in owner.NamedChildren())
        {
            if (n == name)
                return (OnnxScope)m;
        }

        return register(name, new OnnxScope());
    }

    private OnnxScope ChildScope(string name) => ChildOf(this, name, RegisterModule);
}
