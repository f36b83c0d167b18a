namespace CnnNative.BindingsGen;

/// <summary>C names -> C# names (docs/design.md, section "Bindings").</summary>
internal static class Naming
{
    private static readonly HashSet<string> CSharpKeywords =
    [
        "abstract", "as", "base", "bool", "break", "byte", "case", "catch", "char", "checked", "class", "const",
        "continue", "decimal", "default", "delegate", "do", "double", "else", "enum", "event", "explicit",
        "extern", "false", "finally", "fixed", "float", "for", "foreach", "goto", "if", "implicit", "in", "int",
        "interface", "internal", "is", "lock", "long", "namespace", "new", "null", "object", "operator", "out",
        "override", "params", "private", "protected", "public", "readonly", "ref", "return", "sbyte", "sealed",
        "short", "sizeof", "stackalloc", "static", "string", "struct", "switch", "this", "throw", "true", "try",
        "typeof", "uint", "ulong", "unchecked", "unsafe", "ushort", "using", "virtual", "void", "volatile", "while",
    ];

    /// <summary>Members every struct / enum inherits: a field or member with one of these names would hide it.</summary>
    public static readonly HashSet<string> InheritedMembers =
        ["Equals", "GetHashCode", "GetType", "ToString", "MemberwiseClone", "Finalize", "ReferenceEquals"];

    /// <summary>cnn_conv2d_params -> CnnConv2dParams, INVALID_ARGUMENT -> InvalidArgument, in_channels -> InChannels.</summary>
    public static string PascalCase(string name)
    {
        var sb = new System.Text.StringBuilder(name.Length);
        foreach (string part in name.Split('_', StringSplitOptions.RemoveEmptyEntries))
        {
            // An all-capitals part (digits aside) is lowered first, so CNN_STATUS and cnn_status agree.
            bool allUpper = part.Any(char.IsLetter) && part.Where(char.IsLetter).All(char.IsUpper);
            string p = allUpper ? part.ToLowerInvariant() : part;
            sb.Append(char.ToUpperInvariant(p[0])).Append(p, 1, p.Length - 1);
        }
        return sb.ToString();
    }

    /// <summary>A C# keyword used as an identifier gets '@' (params -> @params).</summary>
    public static string EscapeIdentifier(string name) => CSharpKeywords.Contains(name) ? "@" + name : name;

    /// <summary>
    /// Strips the longest common '_'-separated prefix, keeping at least one part of every member and never
    /// leaving a member that starts with a digit (CNN_DIMS_2D, CNN_DIMS_3D -> DIMS_2D, DIMS_3D).
    /// </summary>
    public static IReadOnlyList<string> StripEnumPrefix(IReadOnlyList<string> names)
    {
        string[][] split = names.Select(n => n.Split('_')).ToArray();
        int common = 0;
        if (split.Length > 0)
        {
            int limit = split.Min(s => s.Length) - 1; // keep at least one part
            while (common < limit && split.All(s => s[common] == split[0][common]))
                common++;
        }
        while (common > 0 && split.Any(s => s[common].Length == 0 || !char.IsLetter(s[common][0])))
            common--;
        return split.Select(s => string.Join('_', s.Skip(common))).ToArray();
    }
}
