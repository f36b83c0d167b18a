// A named float32 tensor with its shape: the currency of the references (cnn verify's PyTorch pipe and ONNX Runtime,
// the test suite's expected values). Linked by the test suite and the cnn CLI.
namespace CnnNative.Oracle;

/// <summary>A float32 tensor sent to or received from the oracle.</summary>
public sealed record OracleTensor(string Name, float[] Data, int[] Shape)
{
    /// <summary>A tensor's current contents.</summary>
    public static OracleTensor Of(string name, Tensor tensor) => new(name, tensor.ToArray(), tensor.Shape);

    /// <summary>The current contents of the given tensors, in order, leaving out the absent (null) optional ones.</summary>
    public static OracleTensor[] OfPresent(params (string Name, Tensor? Tensor)[] tensors)
    {
        var list = new List<OracleTensor>(tensors.Length);
        foreach ((string name, Tensor? tensor) in tensors)
        {
            if (tensor != null)
            {
                list.Add(Of(name, tensor));
            }
        }

        return [.. list];
    }

    /// <summary>Shape as "[a, b, c]".</summary>
    public string ShapeText => "[" + string.Join(", ", Shape) + "]";
}
