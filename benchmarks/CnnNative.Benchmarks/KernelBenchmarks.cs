using BenchmarkDotNet.Attributes;
using CnnNative.Interop;

namespace CnnNative.Benchmarks;

/// <summary>Who runs a case: CnnNative with a given kernel family, or the oneDNN shim.</summary>
public enum Impl
{
    /// <summary>
    /// CnnNative, AVX-512 context (its best ISA; ops without an AVX-512 kernel use AVX2); convolutions as
    /// <see cref="Conv2dPlan"/>s created in setup (weights packed once, like oneDNN's primitive).
    /// </summary>
    CnnAvx512,

    /// <summary>CnnNative, AVX2 context; convolutions as plans, as for <see cref="CnnAvx512"/>.</summary>
    CnnAvx2,

    /// <summary>oneDNN through benchmarks/onednn-shim (its preferred layouts, reorders done at create).</summary>
    OneDnn,

    /// <summary>CnnNative, AVX-512 context, the stateless Functional ops (weights packed in every call); --per-call.</summary>
    CnnAvx512PerCall,
}

/// <summary>
/// The side-by-side suite: every <see cref="KernelCase"/> at each batch size and thread count, run by
/// CnnNative (AVX-512 and AVX2 contexts) and by oneDNN, one after the other in the same process
/// (the in-process toolchain, see <see cref="BenchConfig"/>), so the ratios compare runs made
/// under the same machine load. The execution order (<see cref="SideBySideOrderer"/>) keeps the
/// implementations of one (case, batch, threads) adjacent.
/// Setup (not timed) allocates seeded operands, creates CnnNative's conv plans (the weights packed once,
/// as oneDNN's primitive reorders them at create), runs the op once, and for oneDNN checks its output
/// against CnnNative's (the stateless path): a benchmark of a wrongly wired peer would lie.
/// </summary>
public class KernelBenchmarks
{
    public static IEnumerable<KernelCase> Cases => BenchSettings.SelectCases(KernelCase.All);

    public static IEnumerable<int> Batches => BenchSettings.Quick ? [1] : [1, 8];

    public static IEnumerable<Impl> Impls => Cnn.IsSupported(CnnIsa.Avx512)
        ? BenchSettings.PerCall ? [Impl.CnnAvx512, Impl.CnnAvx2, Impl.OneDnn, Impl.CnnAvx512PerCall] : [Impl.CnnAvx512, Impl.CnnAvx2, Impl.OneDnn]
        : [Impl.CnnAvx2, Impl.OneDnn];

    [ParamsSource(nameof(Cases))]
    public KernelCase Case { get; set; } = null!;

    [ParamsSource(nameof(Batches))]
    public int Batch { get; set; }

    [Params(1, 2)]
    public int Threads { get; set; }

    [ParamsSource(nameof(Impls))]
    public Impl Impl { get; set; }

    private KernelOperands _operands = null!;
    private nint _oneDnn;
    private int _setupThread;
    private int _workloadThread;

    [GlobalSetup]
    public void Setup()
    {
        _setupThread = Environment.CurrentManagedThreadId;
        _operands = Case.Prepare(Batch);
        if (Impl == Impl.OneDnn)
        {
            OneDnnShim.SetThreads(Threads);
            _oneDnn = _operands.CreateOneDnn();
            OneDnnShim.Check(OneDnnShim.Run(_oneDnn), "shim_run");
            CheckAgainstCnn();
            Console.WriteLine($"// oneDNN implementation for {Case} batch {Batch}, {Threads} thread(s): {OneDnnShim.Implementation(_oneDnn)}");
        }
        else
        {
            ConfigureCnn(Impl is Impl.CnnAvx512 or Impl.CnnAvx512PerCall ? CnnIsa.Avx512 : CnnIsa.Avx2);
            _operands.PrepareCnn(prepacked: Impl != Impl.CnnAvx512PerCall); // the plan's ISA is the context's: after ConfigureCnn
            _operands.RunCnn(); // warms the native scratch and validates the shapes
        }
    }

    [Benchmark(Description = "kernel")]
    public void Run()
    {
        _workloadThread = Environment.CurrentManagedThreadId;
        if (_oneDnn != 0)
        {
            OneDnnShim.Check(OneDnnShim.Run(_oneDnn), "shim_run");
        }
        else
        {
            _operands.RunCnn();
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        OneDnnShim.Destroy(_oneDnn);
        _oneDnn = 0;
        _operands.Dispose();
        if (_workloadThread != 0 && _workloadThread != _setupThread)
        {
            throw new InvalidOperationException(
                $"The workload ran on thread {_workloadThread}, not on the setup thread {_setupThread}: the ISA/thread settings did not apply.");
        }
    }

    /// <summary>
    /// Cnn.Isa and Cnn.NumThreads are per calling thread; BenchmarkDotNet runs the workload on the
    /// setup thread (checked in cleanup). A silent fallback to another ISA would make the table lie.
    /// </summary>
    private void ConfigureCnn(CnnIsa isa)
    {
        if (!Cnn.IsSupported(isa))
        {
            throw new NotSupportedException($"This CPU does not support {isa}.");
        }
        Cnn.Isa = isa;
        Cnn.NumThreads = Threads;
        if (Cnn.Isa != isa || Cnn.NumThreads != Threads)
        {
            throw new InvalidOperationException($"Requested {isa}/{Threads} threads, got {Cnn.Isa}/{Cnn.NumThreads}.");
        }
    }

    /// <summary>oneDNN's output must match CnnNative's (AVX2 path) within float rounding of long sums.</summary>
    private void CheckAgainstCnn()
    {
        ConfigureCnn(CnnIsa.Avx2);
        _operands.RunCnn();
        float[] ours = _operands.Output.ToArray();
        float[] theirs = OneDnnShim.Output(_oneDnn, ours.Length);
        float scale = 1f, maxError = 0f;
        for (int i = 0; i < ours.Length; i++)
        {
            scale = MathF.Max(scale, MathF.Abs(ours[i]));
            maxError = MathF.Max(maxError, MathF.Abs(ours[i] - theirs[i]));
        }
        if (!(maxError <= 1e-3f * scale))
        {
            throw new InvalidOperationException($"oneDNN and CnnNative disagree on {Case} batch {Batch}: max abs error {maxError} (scale {scale}).");
        }
    }
}
