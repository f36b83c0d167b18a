using CnnNative.Interop;

namespace CnnNative.Tests.Infrastructure;

/// <summary>Deterministic test data made here (independent of the library's own RNG).</summary>
public static class TestData
{
    /// <summary>Standard normal values (Box-Muller over System.Random(seed)), times scale.</summary>
    public static float[] Normal(int seed, long count, double scale = 1.0)
    {
        var rng = new Random(seed);
        var data = new float[count];
        for (long i = 0; i < count; i++)
        {
            double u1 = 1.0 - rng.NextDouble(), u2 = rng.NextDouble();
            data[i] = (float)(scale * Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2));
        }

        return data;
    }

    /// <summary>Uniform values in [low, high).</summary>
    public static float[] Uniform(int seed, long count, double low, double high)
    {
        var rng = new Random(seed);
        var data = new float[count];
        for (long i = 0; i < count; i++)
        {
            data[i] = (float)(low + ((high - low) * rng.NextDouble()));
        }

        return data;
    }

    /// <summary>Element count of a shape.</summary>
    public static long Count(params int[] shape) => shape.Aggregate(1L, (a, d) => a * d);

    /// <summary>A tensor of standard normal values.</summary>
    public static Tensor NormalTensor(int seed, params int[] shape) => Tensor.FromArray(Normal(seed, Count(shape)), shape);

    /// <summary>A tensor of values uniform in [low, high).</summary>
    public static Tensor UniformTensor(int seed, double low, double high, params int[] shape) =>
        Tensor.FromArray(Uniform(seed, Count(shape), low, high), shape);
}

/// <summary>The instruction sets every op test runs on.</summary>
public static class Isas
{
    /// <summary>Reference and Avx2 always (both must work on the test machines), Avx512 when the CPU has it.</summary>
    public static IReadOnlyList<CnnIsa> Tested { get; } = Compute();

    /// <summary>Sets <see cref="Cnn.Isa"/> for the calling thread and restores it on Dispose.</summary>
    public static IDisposable Use(CnnIsa isa)
    {
        CnnIsa previous = Cnn.Isa;
        Cnn.Isa = isa;
        Assert.Equal(isa, Cnn.Isa);
        return new Restore(previous);
    }

    /// <summary>Each case crossed with every tested ISA, as xunit theory rows (name, isa).</summary>
    public static TheoryData<string, CnnIsa> Cross(IEnumerable<string> caseNames)
    {
        var data = new TheoryData<string, CnnIsa>();
        foreach (string name in caseNames)
        {
            foreach (CnnIsa isa in Tested)
            {
                data.Add(name, isa);
            }
        }

        return data;
    }

    /// <summary>Every tested ISA, as xunit theory rows.</summary>
    public static TheoryData<CnnIsa> Rows()
    {
        var data = new TheoryData<CnnIsa>();
        foreach (CnnIsa isa in Tested)
        {
            data.Add(isa);
        }

        return data;
    }

    private static IReadOnlyList<CnnIsa> Compute()
    {
        var list = new List<CnnIsa> { CnnIsa.Reference, CnnIsa.Avx2 };
        try
        {
            if (Cnn.IsSupported(CnnIsa.Avx512))
            {
                list.Add(CnnIsa.Avx512);
            }
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or TypeInitializationException or BadImageFormatException)
        {
            // The native library is missing: the Reference/Avx2 rows fail with the loader's message.
        }

        return list;
    }

    private sealed class Restore(CnnIsa previous) : IDisposable
    {
        public void Dispose() => Cnn.Isa = previous;
    }
}
