using CnnNative.Interop;

namespace CnnNative.Cli;

/// <summary><c>cnn info</c>: what this build and this machine offer.</summary>
internal static class InfoCommand
{
    public static int Run(TextWriter output)
    {
        output.WriteLine($"CnnNative {Cnn.Version}");
        output.WriteLine($"CPU:              {CpuInfo.ModelName()}");
        output.WriteLine($"Hardware threads: {Cnn.HardwareThreads}");
        output.WriteLine("Instruction sets:");
        foreach (CnnIsa isa in IsaNames.Concrete)
        {
            bool supported = Cnn.IsSupported(isa);
            output.WriteLine($"  {IsaNames.ToName(isa),-10} {(supported ? "supported" : "not supported by this CPU")}");
        }

        string? fromEnvironment = Environment.GetEnvironmentVariable("CNN_ISA");
        string why = string.IsNullOrEmpty(fromEnvironment) ? "auto: the best supported" : $"from CNN_ISA={fromEnvironment}";
        output.WriteLine($"ISA in use:       {IsaNames.ToName(Cnn.Isa)} ({why})");
        output.WriteLine($"Thread budget:    {Cnn.NumThreads}");
        return ExitCodes.Success;
    }
}

internal static class IsaNames
{
    public static readonly CnnIsa[] Concrete = [CnnIsa.Reference, CnnIsa.Avx2, CnnIsa.Avx512];

    public static string ToName(CnnIsa isa) => isa switch
    {
        CnnIsa.Auto => "auto",
        CnnIsa.Reference => "reference",
        CnnIsa.Avx2 => "avx2",
        CnnIsa.Avx512 => "avx512",
        _ => isa.ToString(),
    };

    public static CnnIsa Parse(string name) => name switch
    {
        "auto" => CnnIsa.Auto,
        "reference" => CnnIsa.Reference,
        "avx2" => CnnIsa.Avx2,
        "avx512" => CnnIsa.Avx512,
        _ => throw new CliException($"unknown ISA '{name}' (expected auto, reference, avx2 or avx512)."),
    };
}

internal static class CpuInfo
{
    /// <summary>The "model name" line of /proc/cpuinfo, or "unknown".</summary>
    public static string ModelName()
    {
        try
        {
            foreach (string line in File.ReadLines("/proc/cpuinfo"))
            {
                if (line.StartsWith("model name", StringComparison.Ordinal))
                {
                    int colon = line.IndexOf(':');
                    return colon >= 0 ? line[(colon + 1)..].Trim() : line;
                }
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
        return "unknown";
    }
}
