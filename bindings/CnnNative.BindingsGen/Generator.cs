using ClangSharp.Interop;
using static ClangSharp.Interop.CXCursorKind;
using static ClangSharp.Interop.CXTypeKind;

namespace CnnNative.BindingsGen;

/// <summary>
/// Walks the libclang AST of one header and writes the C# bindings: enums and structs in header order,
/// then one [LibraryImport] method per CNN_API function. The rules are the table in docs/design.md,
/// section "Bindings"; anything that is not blittable is collected as an error naming the declaration,
/// and <see cref="Generate"/> then throws with all of them instead of returning text.
/// </summary>
internal sealed class Generator
{
    private const string Namespace = "CnnNative.Interop";
    private const string LibraryName = "cnnnative";
    private const string ApiMacro = "CNN_API";
    public const string GeneratorName = "bindings/CnnNative.BindingsGen";

    // Fixed-width (and pointer-width) typedefs, recognised by name before looking at the canonical type
    // (int64_t is `long` on Linux and `long long` on Windows, so the canonical type is not portable).
    private static readonly Dictionary<string, string> TypedefMap = new()
    {
        ["int8_t"] = "sbyte", ["uint8_t"] = "byte",
        ["int16_t"] = "short", ["uint16_t"] = "ushort",
        ["int32_t"] = "int", ["uint32_t"] = "uint",
        ["int64_t"] = "long", ["uint64_t"] = "ulong",
        ["intptr_t"] = "nint", ["uintptr_t"] = "nuint",
        ["ptrdiff_t"] = "nint", ["ssize_t"] = "nint", ["size_t"] = "nuint",
    };

    private static readonly Dictionary<string, string> TypedefReject = new()
    {
        ["wchar_t"] = "wchar_t has a platform-dependent width",
        ["char16_t"] = "use uint16_t",
        ["char32_t"] = "use uint32_t",
    };

    private static readonly Dictionary<CXTypeKind, string> SimpleTypes = new()
    {
        [CXType_Void] = "void", [CXType_Float] = "float", [CXType_Double] = "double",
        [CXType_SChar] = "sbyte", [CXType_UChar] = "byte", [CXType_Short] = "short", [CXType_UShort] = "ushort",
        [CXType_Int] = "int", [CXType_UInt] = "uint", [CXType_LongLong] = "long", [CXType_ULongLong] = "ulong",
    };

    /// <summary>C# types allowed as fixed-size buffer elements.</summary>
    private static readonly HashSet<string> FixedBufferTypes =
        ["sbyte", "byte", "short", "ushort", "int", "uint", "long", "ulong", "float", "double"];

    private readonly string _header;
    private readonly IReadOnlyList<string> _includeDirs;
    private readonly string _displayName;
    private readonly TextWriter _warnings;
    private readonly List<string> _errors = [];
    private readonly Dictionary<string, string> _typeNames = [];   // declaration key -> C# name (enums, defined structs)
    private readonly HashSet<string> _opaque = [];                 // keys of structs never defined in the header
    private readonly Dictionary<string, string> _typedefFor = [];  // declaration key -> first typedef naming it
    private CXFile _headerFile;

    /// <param name="header">the header to bind (full path)</param>
    /// <param name="includeDirs">-I directories for its #includes</param>
    /// <param name="displayName">how the header is named in the output and in messages</param>
    /// <param name="warnings">where libclang's warnings go</param>
    public Generator(string header, IReadOnlyList<string> includeDirs, string displayName, TextWriter warnings)
    {
        _header = header;
        _includeDirs = includeDirs;
        _displayName = displayName;
        _warnings = warnings;
    }

    private static string Str(CXString s)
    {
        using (s)
            return s.ToString();
    }

    // -- helpers ---------------------------------------------------------------------------------

    private static (CXFile File, uint Line, uint Offset) Where(CXSourceLocation location)
    {
        location.GetExpansionLocation(out CXFile file, out uint line, out _, out uint offset);
        return (file, line, offset);
    }

    private void Error(CXCursor cursor, string what, string message)
    {
        (CXFile file, uint line, _) = Where(cursor.Location);
        string where = file.Handle != 0 ? $"{Path.GetFileName(Str(file.Name))}:{line}" : _displayName;
        _errors.Add($"{where}: {what}: {message}");
    }

    private bool InHeader(CXCursor cursor)
    {
        CXFile file = Where(cursor.Location).File;
        return file.Handle != 0 && file.Equals(_headerFile);
    }

    private static string Key(CXCursor decl)
    {
        decl = decl.CanonicalCursor;
        string usr = Str(decl.Usr);
        if (usr.Length > 0)
            return usr;
        (CXFile file, _, uint offset) = Where(decl.Location);
        return $"{(file.Handle != 0 ? Str(file.Name) : "")}:{offset}";
    }

    /// <summary>The C name of a struct/enum declaration: its typedef name if it has one, else its tag.</summary>
    private string? DeclCName(CXCursor decl)
    {
        if (_typedefFor.TryGetValue(Key(decl), out string? typedef))
            return typedef;
        string spelling = Str(decl.Spelling);
        return spelling.Length > 0 && !decl.IsAnonymous && !spelling.Contains('(') ? spelling : null;
    }

    private static List<CXCursor> Children(CXCursor parent)
    {
        var children = new List<CXCursor>();
        unsafe
        {
            parent.VisitChildren((cursor, _, _) =>
            {
                children.Add(cursor);
                return CXChildVisitResult.CXChildVisit_Continue;
            }, default);
        }
        return children;
    }

    private static string KindWord(CXCursorKind kind) => kind switch
    {
        CXCursor_StructDecl => "struct",
        CXCursor_UnionDecl => "union",
        CXCursor_EnumDecl => "enum",
        _ => kind.ToString(),
    };

    private CXTranslationUnit Parse(CXIndex index)
    {
        var args = new List<string> { "-x", "c", "-std=c11" };
        foreach (string dir in _includeDirs)
            args.AddRange(["-I", dir]);
        // libclang from NuGet comes without clang's own headers (stddef.h, stdbool.h, ...): use the C compiler's.
        if (BuiltinHeaders.Directory is string builtin)
            args.AddRange(["-isystem", builtin]);
        CXErrorCode status = CXTranslationUnit.TryParse(index, _header, args.ToArray(), [],
            CXTranslationUnit_Flags.CXTranslationUnit_DetailedPreprocessingRecord, out CXTranslationUnit tu);
        if (status != CXErrorCode.CXError_Success)
            throw new MappingException($"{_displayName}: libclang could not parse the header ({status})");
        var fatal = new List<string>();
        for (uint i = 0; i < tu.NumDiagnostics; i++)
        {
            using CXDiagnostic d = tu.GetDiagnostic(i);
            string text = Str(d.Format(CXDiagnostic.DefaultDisplayOptions));
            if (d.Severity >= CXDiagnosticSeverity.CXDiagnostic_Error)
                fatal.Add(text);
            else if (d.Severity == CXDiagnosticSeverity.CXDiagnostic_Warning)
                _warnings.WriteLine($"CnnNative.BindingsGen: {text}");
        }
        if (fatal.Count > 0)
        {
            tu.Dispose();
            throw new MappingException($"{_displayName} does not compile as C11:\n  {string.Join("\n  ", fatal)}");
        }
        return tu;
    }

    // -- types -----------------------------------------------------------------------------------

    /// <summary>Maps a C type to C#; throws a MappingException naming <paramref name="context"/> if it cannot.</summary>
    private string MapType(CXType t, string context, bool isReturn = false, bool inStruct = false, bool pointee = false)
    {
        // Named typedefs first: fixed-width integers are recognised by name.
        while (t.kind is CXType_Typedef or CXType_Elaborated)
        {
            if (t.kind == CXType_Elaborated)
            {
                t = t.NamedType;
                continue;
            }
            string name = Str(t.Declaration.Spelling);
            if (TypedefMap.TryGetValue(name, out string? mapped))
                return mapped;
            if (TypedefReject.TryGetValue(name, out string? why))
                throw new MappingException($"{context} has type {name}: not blittable ({why})");
            if (name == "bool")
                throw new MappingException($"{context} has type bool: not blittable; use int32_t (0/1)");
            t = t.Declaration.TypedefDeclUnderlyingType;
        }
        CXTypeKind kind = t.kind;
        if (kind == CXType_Void && !(pointee || isReturn))
            throw new MappingException($"{context} has type void");
        if (SimpleTypes.TryGetValue(kind, out string? simple))
            return simple;
        switch (kind)
        {
            case CXType_Bool:
                throw new MappingException($"{context} has type bool: not blittable; use int32_t (0/1)");
            case CXType_Char_S or CXType_Char_U:
                throw new MappingException($"{context} has type char: not blittable; char is allowed only as a " +
                                           "`const char*` return (use uint8_t for bytes)");
            case CXType_Long or CXType_ULong:
                throw new MappingException($"{context} has type {Str(t.Spelling)}: its width differs between " +
                                           "platforms; use int64_t / int32_t");
            case CXType_Enum:
                return _typeNames.TryGetValue(Key(t.Declaration), out string? enumName)
                    ? enumName
                    : throw new MappingException($"{context} has type {Str(t.Spelling)}, an enum not declared in {_displayName}");
            case CXType_Record:
                return MapRecord(t, context, isReturn, inStruct, pointee);
            case CXType_Pointer or CXType_IncompleteArray or CXType_ConstantArray or CXType_VariableArray
                or CXType_DependentSizedArray:
                return MapPointer(t, context, isReturn, inStruct);
            case CXType_FunctionProto or CXType_FunctionNoProto:
                throw new MappingException($"{context} is a function type: not supported");
            default:
                throw new MappingException($"{context} has type {Str(t.Spelling)} ({kind}): no blittable C# mapping");
        }
    }

    private string MapRecord(CXType t, string context, bool isReturn, bool inStruct, bool pointee)
    {
        CXCursor decl = t.Declaration;
        string spelling = Str(t.Spelling);
        if (decl.Kind == CXCursor_UnionDecl)
            throw new MappingException($"{context} has type {spelling}: unions are not supported");
        if (IsOpaque(decl))
        {
            if (pointee)
                return "nint"; // (the pointer itself becomes nint, see MapPointer)
            throw new MappingException($"{context} has opaque type {spelling} by value");
        }
        if (!_typeNames.TryGetValue(Key(decl), out string? name))
            throw new MappingException($"{context} has type {spelling}, a struct not declared in {_displayName}");
        if (!(pointee || inStruct))
        {
            if (isReturn)
                throw new MappingException($"{context} is a struct returned by value ({spelling}): not supported; " +
                                           "return it through a pointer parameter");
            throw new MappingException($"{context} is a struct passed by value ({spelling}): not supported; pass a pointer");
        }
        return name;
    }

    private string MapPointer(CXType t, string context, bool isReturn, bool inStruct)
    {
        CXType target;
        if (t.kind == CXType_Pointer)
        {
            target = t.PointeeType;
        }
        else
        {
            if (inStruct)
                throw new MappingException($"{context}: arrays nested in arrays are not supported");
            target = t.ArrayElementType;
        }
        CXType baseType = target;
        while (baseType.kind is CXType_Typedef or CXType_Elaborated)
            baseType = baseType.kind == CXType_Elaborated ? baseType.NamedType : baseType.Declaration.TypedefDeclUnderlyingType;
        if (baseType.kind is CXType_FunctionProto or CXType_FunctionNoProto or CXType_BlockPointer)
            throw new MappingException($"{context} is a function pointer: not supported");
        if (baseType.kind is CXType_Char_S or CXType_Char_U && !IsTypedefNameMapped(target))
        {
            if (isReturn && t.kind == CXType_Pointer && target.IsConstQualified)
                return "byte*";
            if (isReturn)
                throw new MappingException($"{context} returns a non-const char*: only `const char*` returns are allowed");
            throw new MappingException($"{context} has type {Str(t.Spelling)}: char* is not blittable as an input " +
                                       "(only `const char*` returns are allowed; pass uint8_t* bytes and a length)");
        }
        if (baseType.kind == CXType_Record && IsOpaque(baseType.Declaration))
            return "nint";
        return MapType(target, context, pointee: true) + "*";
    }

    /// <summary>A struct declared in the header (possibly only inside another declaration) and never defined.</summary>
    private bool IsOpaque(CXCursor decl) =>
        _opaque.Contains(Key(decl)) || (decl.Kind == CXCursor_StructDecl && decl.Definition.IsNull && InHeader(decl));

    private static bool IsTypedefNameMapped(CXType t)
    {
        while (t.kind is CXType_Typedef or CXType_Elaborated)
        {
            if (t.kind == CXType_Elaborated)
            {
                t = t.NamedType;
                continue;
            }
            if (TypedefMap.ContainsKey(Str(t.Declaration.Spelling)))
                return true;
            t = t.Declaration.TypedefDeclUnderlyingType;
        }
        return false;
    }

    // -- declarations ----------------------------------------------------------------------------

    private List<string> GenEnum(CXCursor cursor, string? comment)
    {
        string cName = DeclCName(cursor)!;
        string csName = _typeNames[Key(cursor)];
        string what = $"enum {cName}";
        List<CXCursor> members = Children(cursor).Where(c => c.Kind == CXCursor_EnumConstantDecl).ToList();
        if (members.Count == 0)
        {
            Error(cursor, what, "an enum without members cannot be mapped");
            return [];
        }
        if (cursor.EnumDecl_IntegerType.SizeOf != 4)
        {
            Error(cursor, what, "its values do not fit in 32 bits");
            return [];
        }
        List<string> memberCNames = members.Select(m => Str(m.Spelling)).ToList();
        IReadOnlyList<string> names = Naming.StripEnumPrefix(memberCNames).Select(Naming.PascalCase).ToList();
        List<string> output = DocComment.Block(comment, "", null, what);
        output.Add($"public enum {csName}");
        output.Add("{");
        var seen = new HashSet<string>();
        for (int i = 0; i < members.Count; i++)
        {
            CXCursor m = members[i];
            string name = names[i];
            string memberWhat = $"{cName}.{memberCNames[i]}";
            Int128 value = IsUnsigned(m.Type) ? m.EnumConstantDeclUnsignedValue : m.EnumConstantDeclValue;
            if (value < int.MinValue || value > int.MaxValue)
                Error(m, memberWhat, $"value {value} does not fit in int");
            if (name.Length == 0 || !(char.IsLetter(name[0]) || name[0] == '_') || !seen.Add(name)
                || Naming.InheritedMembers.Contains(name))
                Error(m, memberWhat, $"maps to C# member name '{name}', which is invalid, reserved or duplicated");
            output.AddRange(DocComment.Block(Str(m.RawCommentText), "    ", null, memberWhat));
            output.Add($"    {name} = {value},");
        }
        output.Add("}");
        return output;
    }

    /// <summary>Whether an enumerator's value is read as unsigned (libclang's reading of its type).</summary>
    private static bool IsUnsigned(CXType t)
    {
        if (t.kind == CXType_Enum)
            t = t.Declaration.EnumDecl_IntegerType;
        return t.kind is CXType_Char_U or CXType_UChar or CXType_Char16 or CXType_Char32 or CXType_UShort
            or CXType_UInt or CXType_ULong or CXType_ULongLong or CXType_UInt128;
    }

    private List<string> GenStruct(CXCursor cursor, string? comment)
    {
        string cName = DeclCName(cursor)!;
        string csName = _typeNames[Key(cursor)];
        string what = $"struct {cName}";
        var body = new List<string>();
        var seen = new HashSet<string>();
        bool isUnsafe = false;
        long offset = 0, maxAlign = 1;
        foreach (CXCursor child in Children(cursor))
        {
            if (child.Kind is CXCursor_StructDecl or CXCursor_UnionDecl or CXCursor_EnumDecl
                && (child.IsDefinition || child.Kind == CXCursor_UnionDecl))
            {
                Error(child, what, child.Kind == CXCursor_UnionDecl
                    ? "contains a union: unions are not supported"
                    : $"declares a nested {KindWord(child.Kind)}: not supported (declare it at top level)");
                return [];
            }
            if (child.Kind != CXCursor_FieldDecl)
                continue;
            string fieldWhat = $"{cName}.{Str(child.Spelling)}";
            if (child.IsBitField)
            {
                Error(child, fieldWhat, "bit-fields are not supported");
                continue;
            }
            string name = Naming.PascalCase(Str(child.Spelling));
            if (name.Length == 0 || !seen.Add(name) || name == csName || Naming.InheritedMembers.Contains(name))
                Error(child, fieldWhat, $"maps to C# field name '{name}', which is invalid, reserved or duplicated");
            CXType t = child.Type;
            string declaration;
            try
            {
                if (t.kind == CXType_ConstantArray)
                {
                    string element = MapType(t.ArrayElementType, "field " + fieldWhat, inStruct: true);
                    if (!FixedBufferTypes.Contains(element))
                        throw new MappingException($"field {fieldWhat} is an array of {element}: only arrays of numbers are supported");
                    declaration = $"public fixed {element} {name}[{t.ArraySize}];";
                    isUnsafe = true;
                }
                else
                {
                    string csType = MapType(t, "field " + fieldWhat, inStruct: true);
                    isUnsafe |= csType.EndsWith('*');
                    declaration = $"public {csType} {name};";
                }
            }
            catch (MappingException e)
            {
                Error(child, what, e.Message);
                continue;
            }
            // Sequential layout in .NET is C's natural layout; packed / over-aligned fields are not.
            long align = t.AlignOf;
            offset = (offset + align - 1) / align * align;
            if (child.OffsetOfField != offset * 8)
                Error(child, fieldWhat, "is not at its natural offset (packed or aligned attribute?): " +
                                        "LayoutKind.Sequential cannot express it");
            offset += t.SizeOf;
            maxAlign = Math.Max(maxAlign, align);
            body.AddRange(DocComment.Block(Str(child.RawCommentText), "    ", null, fieldWhat));
            body.Add("    " + declaration);
        }
        if (seen.Count == 0)
        {
            Error(cursor, what, "a struct without fields cannot be mapped");
            return [];
        }
        long size = (offset + maxAlign - 1) / maxAlign * maxAlign;
        if (cursor.Type.SizeOf != size)
            Error(cursor, what, $"its size {cursor.Type.SizeOf} is not the natural {size} (packed or aligned attribute?)");
        List<string> output = DocComment.Block(comment, "", null, what);
        output.Add("[StructLayout(LayoutKind.Sequential)]");
        output.Add($"public {(isUnsafe ? "unsafe " : "")}struct {csName}");
        output.Add("{");
        output.AddRange(body);
        output.Add("}");
        return output;
    }

    private List<string> GenFunction(CXCursor cursor)
    {
        string name = Str(cursor.Spelling);
        string what = $"function {name}";
        CXType functionType = cursor.Type;
        if (functionType.kind == CXType_FunctionNoProto)
        {
            Error(cursor, what, $"has no prototype; declare it as {name}(void)");
            return [];
        }
        if (functionType.IsFunctionTypeVariadic)
        {
            Error(cursor, what, "is variadic: not supported");
            return [];
        }
        bool ok = true;
        string returnType = "";
        try
        {
            returnType = MapType(cursor.ResultType, "the return of " + name, isReturn: true);
        }
        catch (MappingException e)
        {
            Error(cursor, what, e.Message);
            ok = false;
        }
        var parameters = new List<string>();
        var cNames = new List<string>();
        for (uint i = 0; i < (uint)cursor.NumArguments; i++)
        {
            CXCursor arg = cursor.GetArgument(i);
            string spelling = Str(arg.Spelling);
            string parameterName = spelling.Length > 0 ? spelling : $"arg{i}";
            cNames.Add(parameterName);
            try
            {
                string csType = MapType(arg.Type, $"parameter '{parameterName}' of {name}");
                parameters.Add($"{csType} {Naming.EscapeIdentifier(parameterName)}");
            }
            catch (MappingException e)
            {
                Error(arg, what, e.Message);
                ok = false;
            }
        }
        if (!ok)
            return [];
        List<string> output = DocComment.Block(Str(cursor.RawCommentText), "    ", cNames, what);
        output.Add("    [LibraryImport(LibraryName)]");
        output.Add("    [UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]");
        output.Add($"    public static partial {returnType} {name}({string.Join(", ", parameters)});");
        return output;
    }

    // -- driver ----------------------------------------------------------------------------------

    /// <summary>The C# text for the header; throws a MappingException listing every declaration it cannot map.</summary>
    public string Generate()
    {
        using CXIndex index = CXIndex.Create(false, false);
        using CXTranslationUnit tu = Parse(index);
        _headerFile = tu.GetFile(_header);
        List<CXCursor> top = Children(tu.Cursor).Where(InHeader).ToList();
        List<uint> apiOffsets = top
            .Where(c => c.Kind == CXCursor_MacroExpansion && Str(c.Spelling) == ApiMacro)
            .Select(c => Where(c.Location).Offset).ToList();

        // Pass 1: typedef names, then C# names of enums and structs.
        var typedefComment = new Dictionary<string, string>();
        foreach (CXCursor c in top.Where(c => c.Kind == CXCursor_TypedefDecl))
        {
            CXType under = c.TypedefDeclUnderlyingType;
            while (under.kind == CXType_Elaborated)
                under = under.NamedType;
            if (under.kind is CXType_Enum or CXType_Record)
            {
                string k = Key(under.Declaration);
                _typedefFor.TryAdd(k, Str(c.Spelling));
                typedefComment.TryAdd(k, Str(c.RawCommentText));
            }
        }
        HashSet<string> defined = top.Where(c => c.Kind is CXCursor_EnumDecl or CXCursor_StructDecl && c.IsDefinition)
            .Select(Key).ToHashSet();
        foreach (CXCursor c in top.Where(c => c.Kind is CXCursor_EnumDecl or CXCursor_StructDecl))
        {
            string k = Key(c);
            if (c.Kind == CXCursor_StructDecl && !defined.Contains(k))
            {
                _opaque.Add(k);
                continue;
            }
            if (DeclCName(c) is not string cName)
            {
                Error(c, $"anonymous {KindWord(c.Kind)}", "has no tag or typedef name");
                continue;
            }
            _typeNames.TryAdd(k, Naming.PascalCase(cName));
        }
        var csNames = new HashSet<string>();
        foreach (string name in _typeNames.Values)
        {
            if (!csNames.Add(name) || name == "NativeMethods")
                _errors.Add($"{_displayName}: two C types map to the C# name {name}");
        }

        // Pass 2: emit in header order.
        var types = new List<List<string>>();
        var functions = new List<List<string>>();
        var done = new HashSet<string>();
        foreach (CXCursor c in top)
        {
            switch (c.Kind)
            {
                case CXCursor_UnionDecl:
                    if (done.Add(Key(c)))
                        Error(c, $"union {DeclCName(c) ?? "(anonymous)"}", "unions are not supported");
                    break;
                case CXCursor_EnumDecl or CXCursor_StructDecl:
                {
                    string k = Key(c);
                    if (!c.IsDefinition || !_typeNames.ContainsKey(k) || !done.Add(k))
                        break;
                    string rawComment = Str(c.RawCommentText);
                    string? comment = rawComment.Length > 0 ? rawComment : typedefComment.GetValueOrDefault(k);
                    AddBlock(types, c, $"type {DeclCName(c)}",
                        () => c.Kind == CXCursor_EnumDecl ? GenEnum(c, comment) : GenStruct(c, comment));
                    break;
                }
                case CXCursor_FunctionDecl:
                {
                    if (!done.Add(Key(c)) || c.StorageClass == CX_StorageClass.CX_SC_Static)
                        break; // static inline helpers are not exported
                    uint start = Where(c.Extent.Start).Offset, end = Where(c.Location).Offset;
                    if (!apiOffsets.Any(off => start <= off && off < end))
                    {
                        Error(c, $"function {Str(c.Spelling)}",
                            $"is declared without {ApiMacro}, so it is not exported; add {ApiMacro} (or make it static inline)");
                        break;
                    }
                    AddBlock(functions, c, $"function {Str(c.Spelling)}", () => GenFunction(c));
                    break;
                }
                case CXCursor_VarDecl:
                    Error(c, $"variable {Str(c.Spelling)}", "global variables cannot be bound; use a function");
                    break;
            }
        }
        if (_errors.Count > 0)
            throw new MappingException(string.Join("\n", _errors));
        return Render(types, functions);
    }

    private void AddBlock(List<List<string>> blocks, CXCursor cursor, string what, Func<List<string>> generate)
    {
        try
        {
            List<string> block = generate();
            if (block.Count > 0)
                blocks.Add(block);
        }
        catch (MappingException e)
        {
            Error(cursor, what, e.Message);
        }
    }

    private string Render(List<List<string>> types, List<List<string>> functions)
    {
        var output = new List<string>
        {
            $"// <auto-generated> Generated by {GeneratorName} from {_displayName}. Do not edit. </auto-generated>",
            "",
            "#pragma warning disable CS1573, CS1591 // C doc comments need not document every field and parameter",
            "",
            "using System.Runtime.CompilerServices;",
            "using System.Runtime.InteropServices;",
            "",
            $"namespace {Namespace};",
            "",
        };
        foreach (List<string> block in types)
        {
            output.AddRange(block);
            output.Add("");
        }
        output.Add("public static unsafe partial class NativeMethods");
        output.Add("{");
        output.Add($"    public const string LibraryName = \"{LibraryName}\";");
        foreach (List<string> block in functions)
        {
            output.Add("");
            output.AddRange(block);
        }
        output.Add("}");
        return string.Join("\n", output) + "\n";
    }
}
