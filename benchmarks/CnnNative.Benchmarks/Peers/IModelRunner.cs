namespace CnnNative.Benchmarks.Peers;

/// <summary>One framework's prepared forward pass of one model at one batch size and thread count.</summary>
public interface IModelRunner : IDisposable
{
    /// <summary>Column name in the report: "CnnNative", "ONNX Runtime 1.32.0", "libtorch 2.10.0".</summary>
    string Framework { get; }

    /// <summary>A line about what was prepared (memory, optimisations), for the log.</summary>
    string Describe();

    /// <summary>One forward pass of the prepared input into the prepared output; allocates nothing where the framework allows.</summary>
    void Run();

    /// <summary>Called before each timed round of this runner (thread settings that are process-wide).</summary>
    void BeforeRound() { }
}
