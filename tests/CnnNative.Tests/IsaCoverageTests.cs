using CnnNative.Interop;
using CnnNative.Tests.Infrastructure;

namespace CnnNative.Tests;

/// <summary>
/// Which ISAs the ISA-looping tests (<see cref="Isas.Tested"/>) run on, said in the test output, and which the CPU
/// lacks: a log from a machine without AVX-512 must not read as if AVX-512 had been tested.
/// </summary>
public sealed class IsaCoverageTests(ITestOutputHelper output)
{
    [Fact]
    public void TestedIsas_AreEverySupportedIsa_AndTheSkippedOnesAreNamed()
    {
        CnnIsa[] concrete = Enum.GetValues<CnnIsa>().Where(i => i != CnnIsa.Auto).ToArray();
        CnnIsa[] lacking = concrete.Where(i => !Cnn.IsSupported(i)).ToArray();
        output.WriteLine($"ISAs tested: {string.Join(", ", Isas.Tested)}; skipped: " +
                         (lacking.Length == 0 ? "none" : string.Join(", ", lacking.Select(i => $"{i} (the CPU lacks it)"))));

        // Every ISA the CPU has is tested; an ISA in the list the CPU lacks would fail its rows, not skip them.
        Assert.Equal(concrete.Where(Cnn.IsSupported).Order(), Isas.Tested.Order());
    }
}
