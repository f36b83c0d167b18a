namespace CnnNative.Onnx;

/// <summary>A graph input or output of an ONNX model: its name and declared shape.</summary>
/// <param name="Name">The value's name in the graph (the key of <see cref="OnnxModel.Run"/>).</param>
/// <param name="Shape">The declared dimensions; a dynamic dimension (a symbolic or missing size, e.g. the batch) is -1.</param>
public sealed record OnnxValueInfo(string Name, IReadOnlyList<int> Shape)
{
    /// <summary>Formats as <c>name [-1, 3, 224, 224]</c>.</summary>
    public override string ToString() => $"{Name} [{string.Join(", ", Shape)}]";
}
