using System.Text.RegularExpressions;

namespace CnnNative.BindingsGen;

/// <summary>C doc comments (/** */, ///, with @brief, @param, @return) -> C# XML doc lines.</summary>
internal static partial class DocComment
{
    [GeneratedRegex(@"^[@\\]param(?:\s*\[[a-z, ]+\])?\s+(\w+)\s*(.*)$")]
    private static partial Regex ParamRegex();

    [GeneratedRegex(@"^[@\\]returns?\b\s*(.*)$")]
    private static partial Regex ReturnRegex();

    [GeneratedRegex(@"^[@\\]brief\b\s*")]
    private static partial Regex BriefRegex();

    [GeneratedRegex(@"^[*!]<?")]
    private static partial Regex BlockOpenerRegex();

    [GeneratedRegex(@"^//[/!]<?")]
    private static partial Regex LineOpenerRegex();

    /// <summary>The text lines of a /** */ or /// comment, without the comment markers.</summary>
    public static List<string> Lines(string? raw)
    {
        var lines = new List<string>();
        if (string.IsNullOrEmpty(raw))
            return lines;
        raw = raw.Trim();
        if (raw.StartsWith("/*", StringComparison.Ordinal))
        {
            raw = raw[2..];
            if (raw.EndsWith("*/", StringComparison.Ordinal))
                raw = raw[..^2];
            raw = BlockOpenerRegex().Replace(raw, "", 1);
            foreach (string l in raw.Split('\n'))
            {
                string line = l.Trim();
                if (line.StartsWith('*'))
                    line = line[1..];
                lines.Add(line.Trim());
            }
        }
        else
        {
            foreach (string l in raw.Split('\n'))
                lines.Add(LineOpenerRegex().Replace(l.Trim(), "", 1).Trim());
        }
        while (lines.Count > 0 && lines[0].Length == 0)
            lines.RemoveAt(0);
        while (lines.Count > 0 && lines[^1].Length == 0)
            lines.RemoveAt(lines.Count - 1);
        return lines;
    }

    /// <summary>A parsed comment: summary lines, (parameter, text) pairs, the @return text or null.</summary>
    public sealed record Parsed(List<string> Summary, List<(string Name, string Text)> Params, string? Returns);

    public static Parsed Parse(string? raw)
    {
        var summary = new List<string>();
        var parameters = new List<(string Name, string Text)>();
        string? returns = null;
        // While a command's text continues on the next lines: the parameter index, or -1 for @return.
        int? current = null;
        foreach (string l in Lines(raw))
        {
            Match m = ParamRegex().Match(l);
            if (m.Success)
            {
                parameters.Add((m.Groups[1].Value, m.Groups[2].Value.Trim()));
                current = parameters.Count - 1;
                continue;
            }
            m = ReturnRegex().Match(l);
            if (m.Success)
            {
                returns = m.Groups[1].Value.Trim();
                current = -1;
                continue;
            }
            string line = BriefRegex().Replace(l, "", 1);
            if (current is int c && line.Length > 0)
            {
                if (c >= 0)
                    parameters[c] = (parameters[c].Name, (parameters[c].Text + " " + line).Trim());
                else
                    returns = (returns + " " + line).Trim();
                continue;
            }
            current = null;
            if (line.Length > 0 || (summary.Count > 0 && summary[^1].Length > 0))
                summary.Add(line);
        }
        while (summary.Count > 0 && summary[^1].Length == 0)
            summary.RemoveAt(summary.Count - 1);
        return new Parsed(summary, parameters, returns);
    }

    public static string XmlEscape(string text) => text.Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;");

    /// <summary>
    /// The XML doc lines of a declaration. <paramref name="parameterNames"/> is null for declarations
    /// without parameters (types, fields, members); a @param that names no parameter is an error.
    /// </summary>
    public static List<string> Block(string? raw, string indent, IReadOnlyList<string>? parameterNames, string what)
    {
        Parsed doc = Parse(raw);
        var output = new List<string>();
        if (doc.Summary.Count > 0)
        {
            output.Add(indent + "/// <summary>");
            output.AddRange(doc.Summary.Select(line => (indent + "/// " + XmlEscape(line)).TrimEnd()));
            output.Add(indent + "/// </summary>");
        }
        foreach ((string name, string text) in doc.Params)
        {
            if (parameterNames is null)
                throw new MappingException($"{what}: the doc comment has @param but the declaration has no parameters");
            if (!parameterNames.Contains(name))
            {
                string known = parameterNames.Count > 0 ? string.Join(", ", parameterNames) : "none";
                throw new MappingException($"{what}: the doc comment documents @param {name}, which is not a parameter ({known})");
            }
            output.Add($"{indent}/// <param name=\"{name}\">{XmlEscape(text)}</param>");
        }
        if (doc.Returns is not null)
            output.Add($"{indent}/// <returns>{XmlEscape(doc.Returns)}</returns>");
        return output;
    }
}

/// <summary>A declaration of the header that has no blittable C# mapping (the message names it).</summary>
internal sealed class MappingException(string message) : Exception(message);
