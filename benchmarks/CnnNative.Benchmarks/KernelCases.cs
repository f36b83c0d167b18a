using CnnNative.Nn;

namespace CnnNative.Benchmarks;

/// <summary>
/// One kernel shape of the side-by-side suite (a <c>[ParamsSource]</c> value: its <see cref="Name"/> is
/// what the tables show). <see cref="Prepare"/> allocates seeded random operands for a batch Size; the
/// operands then run the op on CnnNative (<see cref="KernelOperands.RunCnn"/>) or hand the same data to
/// the oneDNN shim (<see cref="KernelOperands.CreateOneDnn"/>).
/// </summary>
public abstract record KernelCase(string Name)
{

    /// <summary>Floating-point operations of one call (for GFLOP/s); see <see cref="GflopsColumn"/>.</summary>
    public abstract long Flops(int batch);

    internal abstract KernelOperands Prepare(int batch);

    public sealed override string ToString() => Name;

    /// <summary>The suite: ResNet/VGG/AlexNet/MobileNet convolution shapes, max pool and batch norm.</summary>
    public static IReadOnlyList<KernelCase> All { get; } =
    [
        new ConvCase("conv 7x7/2 3->64 @224", 3, 64, 224, Kernel: 7, Stride: 2, Pad: 3),
        new ConvCase("conv 3x3 64->64 @56", 64, 64, 56, Kernel: 3, Stride: 1, Pad: 1),
        new ConvCase("conv 3x3 128->128 @28", 128, 128, 28, Kernel: 3, Stride: 1, Pad: 1),
        new ConvCase("conv 3x3 256->256 @14", 256, 256, 14, Kernel: 3, Stride: 1, Pad: 1),
        new ConvCase("conv 3x3 512->512 @7", 512, 512, 7, Kernel: 3, Stride: 1, Pad: 1),
        new ConvCase("conv 1x1 256->64 @56", 256, 64, 56, Kernel: 1, Stride: 1, Pad: 0),
        new ConvCase("conv 1x1 64->256 @56", 64, 256, 56, Kernel: 1, Stride: 1, Pad: 0),
        new ConvCase("conv 3x3/2 64->128 @56", 64, 128, 56, Kernel: 3, Stride: 2, Pad: 1),
        new ConvCase("dwconv 3x3 144ch @56", 144, 144, 56, Kernel: 3, Stride: 1, Pad: 1, Groups: 144),
        new ConvCase("conv 11x11/4 3->96 @227", 3, 96, 227, Kernel: 11, Stride: 4, Pad: 0),
        new MaxPoolCase("maxpool 3x3/2 64ch @112", 64, 112, Kernel: 3, Stride: 2, Pad: 1),
        new BatchNormCase("batchnorm 64ch @56", 64, 56),
    ];
}

/// <summary>What one case holds for one batch size: inputs, the caller-owned output, the op.</summary>
internal abstract class KernelOperands : IDisposable
{
    private readonly List<IDisposable> _owned = [];

    /// <summary>Allocates the op's input: N(0, 1) values from <paramref name="seed"/>.</summary>
    protected KernelOperands(int batch, int seed, params int[] inputShape)
    {
        Batch = batch;
        Input = Keep(Tensor.Randn(seed, inputShape));
    }

    public int Batch { get; }

    public Tensor Input { get; }

    public abstract Tensor Output { get; }

    /// <summary>
    /// Untimed CnnNative setup on the current thread's ISA, the counterpart of oneDNN's primitive creation:
    /// with <paramref name="prepacked"/>, ops that have a prepacked form (convolution: <see cref="Conv2dPlan"/>)
    /// pack their constant weights here and <see cref="RunCnn"/> runs the plan; without, RunCnn calls the
    /// stateless Functional op (weights packed inside every call).
    /// </summary>
    public virtual void PrepareCnn(bool prepacked)
    {
    }

    /// <summary>The op on CnnNative (current thread's ISA and threads), writing <see cref="Output"/>.</summary>
    public abstract void RunCnn();

    /// <summary>The same op on the same data as a oneDNN primitive (current OpenMP threads).</summary>
    public abstract nint CreateOneDnn();

    /// <summary>The tensor's data for the shim, which copies it during create (the tensor outlives the call).</summary>
    protected static unsafe float* RawPointer(Tensor tensor)
    {
        fixed (float* p = tensor.AsSpan())
        {
            return p; // native memory: not moved by the GC, valid while the tensor lives
        }
    }

    protected T Keep<T>(T owned) where T : IDisposable
    {
        _owned.Add(owned);
        return owned;
    }

    public void Dispose()
    {
        foreach (IDisposable owned in _owned)
        {
            owned.Dispose();
        }
        _owned.Clear();
    }
}

/// <summary>A convolution without bias (a batch norm follows it in these networks), dilation 1.</summary>
public sealed record ConvCase(string Name, int InChannels, int OutChannels, int Size, int Kernel, int Stride, int Pad, int Groups = 1)
    : KernelCase(Name)
{
    private int OutSize => (Size + 2 * Pad - Kernel) / Stride + 1;

    public override long Flops(int batch)
        => 2L * batch * OutChannels * OutSize * OutSize * (InChannels / Groups) * Kernel * Kernel;

    internal override KernelOperands Prepare(int batch) => new Operands(this, batch);

    private sealed unsafe class Operands : KernelOperands
    {
        private readonly ConvCase _c;
        private readonly Tensor _weight;
        private readonly Conv2dOptions _options;

        public Operands(ConvCase c, int batch) : base(batch, 1, batch, c.InChannels, c.Size, c.Size)
        {
            _c = c;
            float bound = 1f / MathF.Sqrt(c.InChannels / c.Groups * c.Kernel * c.Kernel);
            _weight = Keep(Tensor.Uniform(2, -bound, bound, c.OutChannels, c.InChannels / c.Groups, c.Kernel, c.Kernel));
            Output = Keep(Tensor.Zeros(batch, c.OutChannels, c.OutSize, c.OutSize));
            _options = new Conv2dOptions
            {
                Stride = (c.Stride, c.Stride),
                Padding = Padding2d.Symmetric(c.Pad),
                Groups = c.Groups,
            };
        }

        private Conv2dPlan? _plan;

        public override Tensor Output { get; }

        public override void PrepareCnn(bool prepacked)
            => _plan = prepacked ? Keep(new Conv2dPlan(Input.Shape, _weight, null, _options)) : null;

        public override void RunCnn()
        {
            if (_plan is not null)
            {
                _plan.Forward(Input, Output);
            }
            else
            {
                Functional.Conv2d(Input, _weight, null, _options, Output);
            }
        }

        public override nint CreateOneDnn() => OneDnnShim.CreateConv(new OneDnnShim.ConvDesc
        {
            Batch = Batch,
            InChannels = _c.InChannels,
            InHeight = _c.Size,
            InWidth = _c.Size,
            OutChannels = _c.OutChannels,
            Groups = _c.Groups,
            Window = OneDnnShim.Window.Square(_c.Kernel, _c.Stride, _c.Pad),
            Input = RawPointer(Input),
            Weight = RawPointer(_weight),
        });
    }

}

/// <summary>Max pooling on a square NCHW input (padding never wins, as in torch).</summary>
public sealed record MaxPoolCase(string Name, int Channels, int Size, int Kernel, int Stride, int Pad) : KernelCase(Name)
{
    private int OutSize => (Size + 2 * Pad - Kernel) / Stride + 1;

    /// <summary>One comparison per window element.</summary>
    public override long Flops(int batch) => 1L * batch * Channels * OutSize * OutSize * Kernel * Kernel;

    internal override KernelOperands Prepare(int batch) => new Operands(this, batch);

    private sealed unsafe class Operands : KernelOperands
    {
        private readonly MaxPoolCase _c;
        private readonly Pool2dOptions _options;

        public Operands(MaxPoolCase c, int batch) : base(batch, 1, batch, c.Channels, c.Size, c.Size)
        {
            _c = c;
            Output = Keep(Tensor.Zeros(batch, c.Channels, c.OutSize, c.OutSize));
            _options = new Pool2dOptions { KernelSize = (c.Kernel, c.Kernel), Stride = (c.Stride, c.Stride), Padding = (c.Pad, c.Pad) };
        }

        public override Tensor Output { get; }

        public override void RunCnn() => Functional.MaxPool2d(Input, _options, Output);

        public override nint CreateOneDnn() => OneDnnShim.CreatePool(new OneDnnShim.PoolDesc
        {
            Batch = Batch,
            Channels = _c.Channels,
            InHeight = _c.Size,
            InWidth = _c.Size,
            Window = OneDnnShim.Window.Square(_c.Kernel, _c.Stride, _c.Pad),
            Input = RawPointer(Input),
        });
    }
}

/// <summary>Inference batch norm (running statistics, scale and shift) on a square NCHW input.</summary>
public sealed record BatchNormCase(string Name, int Channels, int Size) : KernelCase(Name)
{
    private const float Eps = 1e-5f;

    /// <summary>Two per element (scale and shift folded per channel).</summary>
    public override long Flops(int batch) => 2L * batch * Channels * Size * Size;

    internal override KernelOperands Prepare(int batch) => new Operands(this, batch);

    private sealed unsafe class Operands : KernelOperands
    {
        private readonly BatchNormCase _c;
        private readonly Tensor _mean, _var, _gamma, _beta;

        public Operands(BatchNormCase c, int batch) : base(batch, 3, batch, c.Channels, c.Size, c.Size)
        {
            _c = c;
            _mean = Keep(Tensor.Randn(4, c.Channels));
            _var = Keep(Tensor.Uniform(5, 0.5f, 2f, c.Channels));
            _gamma = Keep(Tensor.Uniform(6, 0.5f, 1.5f, c.Channels));
            _beta = Keep(Tensor.Randn(7, c.Channels));
            Output = Keep(Tensor.Zeros(batch, c.Channels, c.Size, c.Size));
        }

        public override Tensor Output { get; }

        public override void RunCnn() => Functional.BatchNorm2d(Input, _mean, _var, _gamma, _beta, Eps, Output);

        public override nint CreateOneDnn() => OneDnnShim.CreateBatchNorm(new OneDnnShim.BnDesc
        {
            Batch = Batch,
            Channels = _c.Channels,
            Height = _c.Size,
            Width = _c.Size,
            Eps = Eps,
            Input = RawPointer(Input),
            Mean = RawPointer(_mean),
            Var = RawPointer(_var),
            Gamma = RawPointer(_gamma),
            Beta = RawPointer(_beta),
        });
    }
}
