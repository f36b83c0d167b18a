using CnnNative.Interop;

namespace CnnNative.Inference;

/// <summary>
/// What one running call of a session owns: a native context (ISA, thread budget, its scratch, which stops
/// growing after the first run) and the arena holding every intermediate value (allocated once).
/// </summary>
internal sealed unsafe class ExecutionContext : IDisposable
{
    private readonly ContextHandle _context;
    private readonly NativeBuffer _arena;

    public ExecutionContext(CnnIsa isa, int numThreads, long arenaBytes)
    {
        _context = ContextHandle.Create(isa, numThreads);
        try
        {
            _arena = NativeBuffer.Allocate(Math.Max(arenaBytes, MemoryPlanner.Alignment));
        }
        catch
        {
            _context.Dispose();
            throw;
        }
    }

    /// <summary>The native context for the generated calls.</summary>
    public nint Context => _context.DangerousGetHandle();

    /// <summary>The arena's first byte.</summary>
    public byte* Arena => (byte*)_arena.DangerousGetHandle();

    public void Dispose()
    {
        _arena.Dispose();
        _context.Dispose();
    }
}
