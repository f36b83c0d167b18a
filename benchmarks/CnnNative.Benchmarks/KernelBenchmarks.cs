using BenchmarkDotNet.Attributes;
using CnnNative.Interop;

namespace CnnNative.Benchmarks;

/// <summary>
/// Shared parameters and per-thread setup. <see cref="Cnn.Isa"/> and <see cref="Cnn.NumThreads"/>
/// are per calling thread, so they are set in [GlobalSetup], which BenchmarkDotNet runs on the
/// thread that then runs the workload; [GlobalCleanup] checks that this held (a silent fallback
/// to another ISA would make the table lie). Every case calls a Functional overload with a
/// caller-owned output tensor allocated in setup: nothing is allocated in the timed region.
/// </summary>
public abstract class KernelBenchmarkBase
{
    [ParamsSource(nameof(Isas))]
    public CnnIsa Isa { get; set; }

    /// <summary>The ISAs a class runs: by default the reference, AVX2 and (where the CPU has it) AVX-512.</summary>
    public virtual IEnumerable<CnnIsa> Isas => Supported(CnnIsa.Reference, CnnIsa.Avx2, CnnIsa.Avx512);

    /// <summary>Those of <paramref name="isas"/> this CPU supports (AVX-512 is optional hardware).</summary>
    protected static IEnumerable<CnnIsa> Supported(params CnnIsa[] isas) => isas.Where(Cnn.IsSupported).ToArray();

    [Params(1, 2)]
    public int Threads { get; set; }

    private int _setupThread;
    private readonly List<Tensor> _tensors = [];

    /// <summary>Set by each workload call: the thread that ran it.</summary>
    protected int WorkloadThread;

    protected void ConfigureThread()
    {
        if (!Cnn.IsSupported(Isa))
        {
            throw new NotSupportedException($"This CPU does not support {Isa}.");
        }
        Cnn.Isa = Isa;
        Cnn.NumThreads = Threads;
        if (Cnn.Isa != Isa || Cnn.NumThreads != Threads)
        {
            throw new InvalidOperationException($"Requested {Isa}/{Threads} threads, got {Cnn.Isa}/{Cnn.NumThreads}.");
        }
        _setupThread = Environment.CurrentManagedThreadId;
    }

    /// <summary>A tensor of N(0, 1) values that lives until cleanup.</summary>
    protected Tensor Randn(int seed, params int[] shape) => Keep(Tensor.Randn(seed, shape));

    /// <summary>A tensor of uniform values that lives until cleanup.</summary>
    protected Tensor Uniform(int seed, float low, float high, params int[] shape) => Keep(Tensor.Uniform(seed, low, high, shape));

    protected Tensor Zeros(params int[] shape) => Keep(Tensor.Zeros(shape));

    private Tensor Keep(Tensor tensor)
    {
        _tensors.Add(tensor);
        return tensor;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (Tensor tensor in _tensors)
        {
            tensor.Dispose();
        }
        _tensors.Clear();
        if (WorkloadThread != 0 && WorkloadThread != _setupThread)
        {
            throw new InvalidOperationException(
                $"The workload ran on thread {WorkloadThread}, not on the setup thread {_setupThread}: the ISA/thread settings did not apply.");
        }
        if (Cnn.Isa != Isa || Cnn.NumThreads != Threads)
        {
            throw new InvalidOperationException($"Settings changed during the run: {Cnn.Isa}/{Cnn.NumThreads} threads.");
        }
    }

    /// <summary>A conv case (random input, weight uniform in +-1/sqrt(fan-in), no bias), checked once.</summary>
    internal ConvCase MakeConv(int inChannels, int outChannels, int size, int kernel, int stride, int pad, int groups, int batch = 1)
    {
        int outSize = (size + 2 * pad - kernel) / stride + 1;
        var options = new Conv2dOptions
        {
            Stride = (stride, stride),
            Padding = new Padding2d(pad, pad, pad, pad),
            Groups = groups,
        };
        Tensor input = Randn(1, batch, inChannels, size, size);
        float bound = 1f / MathF.Sqrt(inChannels / groups * kernel * kernel);
        Tensor weight = Uniform(2, -bound, bound, outChannels, inChannels / groups, kernel, kernel);
        Tensor output = Zeros(batch, outChannels, outSize, outSize);
        // Validates the shapes once (and warms the native scratch) outside the timed region.
        ExpectShape(Functional.Conv2d(input, weight, null, options, Activation.None, output), batch, outChannels, outSize, outSize);
        return new ConvCase(input, weight, output, options);
    }

    internal Tensor Run(ConvCase c)
    {
        WorkloadThread = Environment.CurrentManagedThreadId;
        return Functional.Conv2d(c.Input, c.Weight, null, c.Options, Activation.None, c.Output);
    }

    protected static void ExpectShape(Tensor tensor, params int[] expected)
    {
        if (!tensor.Shape.SequenceEqual(expected))
        {
            throw new InvalidOperationException($"Shape [{string.Join(", ", tensor.Shape)}], expected [{string.Join(", ", expected)}].");
        }
    }
}

/// <summary>One convolution case: input, weight, caller-owned output, options.</summary>
internal sealed record ConvCase(Tensor Input, Tensor Weight, Tensor Output, Conv2dOptions Options);

/// <summary>ResNet-50 / MobileNetV2-like convolutions at batch 1 (no bias: a BN follows them).</summary>
public class Conv2dBenchmarks : KernelBenchmarkBase
{
    private ConvCase _conv3x3 = null!;
    private ConvCase _conv1x1 = null!;
    private ConvCase _conv3x3s2 = null!;
    private ConvCase _depthwise = null!;

    [GlobalSetup]
    public void Setup()
    {
        ConfigureThread();
        _conv3x3 = MakeConv(inChannels: 64, outChannels: 64, size: 56, kernel: 3, stride: 1, pad: 1, groups: 1);
        _conv1x1 = MakeConv(inChannels: 256, outChannels: 64, size: 56, kernel: 1, stride: 1, pad: 0, groups: 1);
        _conv3x3s2 = MakeConv(inChannels: 64, outChannels: 128, size: 56, kernel: 3, stride: 2, pad: 1, groups: 1);
        _depthwise = MakeConv(inChannels: 144, outChannels: 144, size: 56, kernel: 3, stride: 1, pad: 1, groups: 144);
    }

    [Benchmark(Description = "conv 3x3 64->64 @56")]
    [Flops(2L * 1 * 64 * 56 * 56 * 64 * 3 * 3)]
    public Tensor Conv3x3() => Run(_conv3x3);

    [Benchmark(Description = "conv 1x1 256->64 @56")]
    [Flops(2L * 1 * 64 * 56 * 56 * 256 * 1 * 1)]
    public Tensor Conv1x1() => Run(_conv1x1);

    [Benchmark(Description = "conv 3x3/2 64->128 @56")]
    [Flops(2L * 1 * 128 * 28 * 28 * 64 * 3 * 3)]
    public Tensor Conv3x3Stride2() => Run(_conv3x3s2);

    [Benchmark(Description = "dwconv 3x3 144ch @56")]
    [Flops(2L * 1 * 144 * 56 * 56 * 1 * 3 * 3)]
    public Tensor DepthwiseConv3x3() => Run(_depthwise);

}

/// <summary>
/// The ResNet stem, 7x7 stride 2 3->64 on 224x224: ~0.24 GFLOP per call, slow on the scalar
/// reference path, hence fewer iterations (<see cref="SlowCaseAttribute"/>).
/// </summary>
[SlowCase]
public class StemConv2dBenchmarks : KernelBenchmarkBase
{
    private Tensor _input = null!;
    private Tensor _weight = null!;
    private Tensor _output = null!;
    private Conv2dOptions _options = null!;

    [GlobalSetup]
    public void Setup()
    {
        ConfigureThread();
        _options = new Conv2dOptions { Stride = (2, 2), Padding = new Padding2d(3, 3, 3, 3) };
        _input = Randn(1, 1, 3, 224, 224);
        float bound = 1f / MathF.Sqrt(3 * 7 * 7);
        _weight = Uniform(2, -bound, bound, 64, 3, 7, 7);
        _output = Zeros(1, 64, 112, 112);
        ExpectShape(Functional.Conv2d(_input, _weight, null, _options, Activation.None, _output), 1, 64, 112, 112);
    }

    [Benchmark(Description = "conv 7x7/2 3->64 @224")]
    [Flops(2L * 1 * 64 * 112 * 112 * 3 * 7 * 7)]
    public Tensor Conv7x7Stride2()
    {
        WorkloadThread = Environment.CurrentManagedThreadId;
        return Functional.Conv2d(_input, _weight, null, _options, Activation.None, _output);
    }
}

/// <summary>Max pool 3x3/2 pad 1 on the ResNet stem output, and batch norm (inference) at 64x56x56.</summary>
public class PoolNormBenchmarks : KernelBenchmarkBase
{
    private Tensor _poolInput = null!;
    private Tensor _poolOutput = null!;
    private Pool2dOptions _poolOptions = null!;

    private Tensor _bnInput = null!;
    private Tensor _bnOutput = null!;
    private Tensor _mean = null!;
    private Tensor _var = null!;
    private Tensor _gamma = null!;
    private Tensor _beta = null!;

    [GlobalSetup]
    public void Setup()
    {
        ConfigureThread();
        _poolOptions = new Pool2dOptions { KernelSize = (3, 3), Stride = (2, 2), Padding = (1, 1) };
        _poolInput = Randn(1, 1, 64, 112, 112);
        _poolOutput = Zeros(1, 64, 56, 56);
        ExpectShape(Functional.MaxPool2d(_poolInput, _poolOptions, _poolOutput), 1, 64, 56, 56);

        _bnInput = Randn(3, 1, 64, 56, 56);
        _bnOutput = Zeros(1, 64, 56, 56);
        _mean = Randn(4, 64);
        _var = Uniform(5, 0.5f, 2f, 64);
        _gamma = Uniform(6, 0.5f, 1.5f, 64);
        _beta = Randn(7, 64);
        ExpectShape(Functional.BatchNorm2d(_bnInput, _mean, _var, _gamma, _beta, 1e-5f, Activation.None, _bnOutput), 1, 64, 56, 56);
    }

    [Benchmark(Description = "maxpool 3x3/2 64ch @112")]
    [Flops(1L * 64 * 56 * 56 * 3 * 3)]
    public Tensor MaxPool3x3Stride2()
    {
        WorkloadThread = Environment.CurrentManagedThreadId;
        return Functional.MaxPool2d(_poolInput, _poolOptions, _poolOutput);
    }

    [Benchmark(Description = "batchnorm 64ch @56")]
    [Flops(2L * 64 * 56 * 56)]
    public Tensor BatchNorm()
    {
        WorkloadThread = Environment.CurrentManagedThreadId;
        return Functional.BatchNorm2d(_bnInput, _mean, _var, _gamma, _beta, 1e-5f, Activation.None, _bnOutput);
    }
}

/// <summary>
/// Every conv layer shape of the suite at batch 1 and 8, AVX2 vs AVX-512 (the vector paths
/// only: the reference is far slower and the classes above already compare it). GFLOP/s counts
/// the whole batch (<see cref="FlopsAttribute"/> is per image, times <see cref="Batch"/>).
/// </summary>
[SlowCase]
public class ConvSuiteBenchmarks : KernelBenchmarkBase
{
    [Params(1, 8)]
    public int Batch { get; set; }

    public override IEnumerable<CnnIsa> Isas => Supported(CnnIsa.Avx2, CnnIsa.Avx512);

    private ConvCase _stem = null!, _c64 = null!, _c128 = null!, _c256 = null!, _c512 = null!;
    private ConvCase _down1x1 = null!, _up1x1 = null!, _s2 = null!, _dw = null!, _alex = null!;

    [GlobalSetup]
    public void Setup()
    {
        ConfigureThread();
        _stem = MakeConv(3, 64, size: 224, kernel: 7, stride: 2, pad: 3, groups: 1, Batch);
        _c64 = MakeConv(64, 64, size: 56, kernel: 3, stride: 1, pad: 1, groups: 1, Batch);
        _c128 = MakeConv(128, 128, size: 28, kernel: 3, stride: 1, pad: 1, groups: 1, Batch);
        _c256 = MakeConv(256, 256, size: 14, kernel: 3, stride: 1, pad: 1, groups: 1, Batch);
        _c512 = MakeConv(512, 512, size: 7, kernel: 3, stride: 1, pad: 1, groups: 1, Batch);
        _down1x1 = MakeConv(256, 64, size: 56, kernel: 1, stride: 1, pad: 0, groups: 1, Batch);
        _up1x1 = MakeConv(64, 256, size: 56, kernel: 1, stride: 1, pad: 0, groups: 1, Batch);
        _s2 = MakeConv(64, 128, size: 56, kernel: 3, stride: 2, pad: 1, groups: 1, Batch);
        _dw = MakeConv(144, 144, size: 56, kernel: 3, stride: 1, pad: 1, groups: 144, Batch);
        _alex = MakeConv(3, 96, size: 227, kernel: 11, stride: 4, pad: 0, groups: 1, Batch);
    }

    [Benchmark(Description = "suite 7x7/2 3->64 @224")]
    [Flops(2L * 64 * 112 * 112 * 3 * 7 * 7)]
    public Tensor Stem() => Run(_stem);

    [Benchmark(Description = "suite 3x3 64->64 @56")]
    [Flops(2L * 64 * 56 * 56 * 64 * 3 * 3)]
    public Tensor Conv64() => Run(_c64);

    [Benchmark(Description = "suite 3x3 128->128 @28")]
    [Flops(2L * 128 * 28 * 28 * 128 * 3 * 3)]
    public Tensor Conv128() => Run(_c128);

    [Benchmark(Description = "suite 3x3 256->256 @14")]
    [Flops(2L * 256 * 14 * 14 * 256 * 3 * 3)]
    public Tensor Conv256() => Run(_c256);

    [Benchmark(Description = "suite 3x3 512->512 @7")]
    [Flops(2L * 512 * 7 * 7 * 512 * 3 * 3)]
    public Tensor Conv512() => Run(_c512);

    [Benchmark(Description = "suite 1x1 256->64 @56")]
    [Flops(2L * 64 * 56 * 56 * 256)]
    public Tensor Conv1x1Down() => Run(_down1x1);

    [Benchmark(Description = "suite 1x1 64->256 @56")]
    [Flops(2L * 256 * 56 * 56 * 64)]
    public Tensor Conv1x1Up() => Run(_up1x1);

    [Benchmark(Description = "suite 3x3/2 64->128 @56")]
    [Flops(2L * 128 * 28 * 28 * 64 * 3 * 3)]
    public Tensor Conv3x3Stride2() => Run(_s2);

    [Benchmark(Description = "suite dwconv 3x3 144ch @56")]
    [Flops(2L * 144 * 56 * 56 * 3 * 3)]
    public Tensor Depthwise() => Run(_dw);

    [Benchmark(Description = "suite 11x11/4 3->96 @227")]
    [Flops(2L * 96 * 55 * 55 * 3 * 11 * 11)]
    public Tensor AlexNetStem() => Run(_alex);
}
