namespace CnnNative.Tests.Infrastructure;

/// <summary>Stable seeds from case names (string.GetHashCode is randomised per process).</summary>
public static class Seeds
{
    /// <summary>FNV-1a of the name, as a non-negative int.</summary>
    public static int Of(string name)
    {
        uint h = 2166136261;
        foreach (char ch in name)
        {
            h = (h ^ ch) * 16777619;
        }

        return (int)(h & 0x3FFFFFFF);
    }
}
