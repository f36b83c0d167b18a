namespace CnnNative.BindingsGen;

/// <summary>A unified diff of two texts by lines (3 lines of context), for the drift report of --check.</summary>
internal static class UnifiedDiff
{
    private const int Context = 3;

    public static string Format(string oldText, string newText, string oldName, string newName)
    {
        string[] a = SplitLines(oldText), b = SplitLines(newText);
        List<(char Op, int A, int B)> edits = Edits(a, b);
        var sb = new System.Text.StringBuilder();
        sb.Append("--- ").Append(oldName).Append('\n').Append("+++ ").Append(newName).Append('\n');
        int i = 0;
        while (i < edits.Count)
        {
            if (edits[i].Op == ' ')
            {
                i++;
                continue;
            }
            // A hunk: from Context lines before this change to Context lines after the last change that is
            // at most 2 * Context unchanged lines away from the previous one.
            int start = Math.Max(0, i - Context), end = i;
            while (end < edits.Count)
            {
                int next = end;
                while (next < edits.Count && edits[next].Op == ' ')
                    next++;
                if (next == edits.Count || next - end > 2 * Context)
                    break;
                end = next + 1;
                while (end < edits.Count && edits[end].Op != ' ')
                    end++;
            }
            end = Math.Min(edits.Count, end + Context);
            AppendHunk(sb, edits, start, end, a, b);
            i = end;
        }
        return sb.ToString();
    }

    private static void AppendHunk(System.Text.StringBuilder sb, List<(char Op, int A, int B)> edits, int start, int end,
                                   string[] a, string[] b)
    {
        int aCount = edits.Skip(start).Take(end - start).Count(e => e.Op != '+');
        int bCount = edits.Skip(start).Take(end - start).Count(e => e.Op != '-');
        int aStart = edits[start].A + (aCount > 0 ? 1 : 0), bStart = edits[start].B + (bCount > 0 ? 1 : 0);
        sb.Append($"@@ -{aStart},{aCount} +{bStart},{bCount} @@\n");
        for (int k = start; k < end; k++)
        {
            (char op, int ia, int ib) = edits[k];
            string line = op == '+' ? b[ib] : a[ia];
            sb.Append(op).Append(line);
            if (!line.EndsWith('\n'))
                sb.Append("\n\\ No newline at end of file\n");
        }
    }

    /// <summary>Lines with their '\n' kept, so that a missing final newline shows as a change.</summary>
    private static string[] SplitLines(string text)
    {
        var lines = new List<string>();
        int from = 0;
        while (from < text.Length)
        {
            int nl = text.IndexOf('\n', from);
            int to = nl < 0 ? text.Length : nl + 1;
            lines.Add(text[from..to]);
            from = to;
        }
        return lines.ToArray();
    }

    /// <summary>
    /// The edit script: ' ' keeps a[A] (= b[B]), '-' drops a[A], '+' inserts b[B]. A and B are the positions
    /// in both texts at that point. Longest common subsequence on what is left between the common prefix and
    /// suffix (the changes a header edit makes are local, so that part is small).
    /// </summary>
    private static List<(char Op, int A, int B)> Edits(string[] a, string[] b)
    {
        int prefix = 0;
        while (prefix < a.Length && prefix < b.Length && a[prefix] == b[prefix])
            prefix++;
        int suffix = 0;
        while (suffix < a.Length - prefix && suffix < b.Length - prefix && a[^(suffix + 1)] == b[^(suffix + 1)])
            suffix++;
        int n = a.Length - prefix - suffix, m = b.Length - prefix - suffix;
        // lcs[i, j] = length of the LCS of a[prefix + i ..] and b[prefix + j ..] within the middle part.
        // Past a few million cells (two unrelated large files) the middle is shown as replaced whole.
        bool small = (long)n * m <= 4_000_000;
        var lcs = new int[small ? n + 1 : 1, small ? m + 1 : 1];
        if (small)
        {
            for (int i = n - 1; i >= 0; i--)
                for (int j = m - 1; j >= 0; j--)
                    lcs[i, j] = a[prefix + i] == b[prefix + j] ? lcs[i + 1, j + 1] + 1 : Math.Max(lcs[i + 1, j], lcs[i, j + 1]);
        }
        var edits = new List<(char Op, int A, int B)>();
        for (int k = 0; k < prefix; k++)
            edits.Add((' ', k, k));
        int x = 0, y = 0;
        while (x < n || y < m)
        {
            if (small && x < n && y < m && a[prefix + x] == b[prefix + y])
                edits.Add((' ', prefix + x++, prefix + y++));
            else if (x < n && (y == m || !small || lcs[x + 1, y] >= lcs[x, y + 1]))
                edits.Add(('-', prefix + x++, prefix + y));
            else
                edits.Add(('+', prefix + x, prefix + y++));
        }
        for (int k = 0; k < suffix; k++)
            edits.Add((' ', a.Length - suffix + k, b.Length - suffix + k));
        return edits;
    }
}
