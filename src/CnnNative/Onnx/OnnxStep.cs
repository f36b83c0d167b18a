namespace CnnNative.Onnx;

/// <summary>
/// One compiled operation of the graph: a Functional call on the tensors named by
/// <see cref="Inputs"/> (runtime values or constants), producing the value <see cref="Output"/>.
/// Several ONNX nodes may compile into one step (a Pad folded into a Conv, a Relu fused into it).
/// </summary>
/// <param name="NodeName">The ONNX node's name (or its output if it has none).</param>
/// <param name="OpType">The ONNX operator, with fused followers (<c>Conv+Relu</c>).</param>
/// <param name="Inputs">Value names read, in the order <see cref="Run"/> receives them.</param>
/// <param name="Output">The value name written.</param>
/// <param name="Run">Computes the output from the inputs through <see cref="Functional"/> ops; the caller owns the result.</param>
internal sealed record OnnxStep(string NodeName, string OpType, string[] Inputs, string Output, Func<Tensor[], Tensor> Run);
