#!/usr/bin/python3
"""Generates bindings/NativeMethods.g.cs (P/Invoke bindings) from native/include/cnn/cnn.h.

Runs under Debian's /usr/bin/python3 with the clang.cindex module of python3-clang-14.
The C -> C# mapping rules are the table in docs/design.md, section "Bindings". Anything that
cannot be mapped blittably (bool, char* inputs, by-value struct parameters, function pointers,
unions, variadics, ...) is an error naming the declaration: that is how the C API stays blittable.

Usage: generate_bindings.py [--output PATH] [--check]
  --output PATH  where to write (default: bindings/NativeMethods.g.cs)
  --check        write nothing; exit 1 with a unified diff if PATH differs from a fresh generation
  --header PATH  a different input header (for bindings/test_generator.py)
Exit codes: 0 ok, 1 drift (--check), 2 the header cannot be mapped, 3 libclang unavailable.
"""

import argparse
import difflib
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_HEADER = os.path.join(ROOT, "native", "include", "cnn", "cnn.h")
DEFAULT_INCLUDE_DIR = os.path.join(ROOT, "native", "include")
DEFAULT_OUTPUT = os.path.join(ROOT, "bindings", "NativeMethods.g.cs")
LIBCLANG = "/usr/lib/x86_64-linux-gnu/libclang-14.so.1"
APT_HINT = "install it with: sudo apt-get install python3-clang-14 libclang-14-dev"

NAMESPACE = "CnnNative.Interop"
LIBRARY_NAME = "cnnnative"
API_MACRO = "CNN_API"

# Fixed-width (and pointer-width) typedefs, recognised by name before looking at the canonical type
# (int64_t is `long` on Linux and `long long` on Windows, so the canonical type is not portable).
TYPEDEF_MAP = {
    "int8_t": "sbyte", "uint8_t": "byte",
    "int16_t": "short", "uint16_t": "ushort",
    "int32_t": "int", "uint32_t": "uint",
    "int64_t": "long", "uint64_t": "ulong",
    "intptr_t": "nint", "uintptr_t": "nuint",
    "ptrdiff_t": "nint", "ssize_t": "nint", "size_t": "nuint",
}
TYPEDEF_REJECT = {
    "wchar_t": "wchar_t has a platform-dependent width",
    "char16_t": "use uint16_t",
    "char32_t": "use uint32_t",
}
# C# types allowed as fixed-size buffer elements.
FIXED_BUFFER_TYPES = {"sbyte", "byte", "short", "ushort", "int", "uint", "long", "ulong", "float", "double"}

CSHARP_KEYWORDS = set("""
abstract as base bool break byte case catch char checked class const continue decimal default
delegate do double else enum event explicit extern false finally fixed float for foreach goto if
implicit in int interface internal is lock long namespace new null object operator out override
params private protected public readonly ref return sbyte sealed short sizeof stackalloc static
string struct switch this throw true try typeof uint ulong unchecked unsafe ushort using virtual
void volatile while
""".split())
# Members every struct / enum inherits: a field or member with one of these names would hide it.
INHERITED_MEMBERS = {"Equals", "GetHashCode", "GetType", "ToString", "MemberwiseClone", "Finalize",
                     "ReferenceEquals"}


class MappingError(Exception):
    pass


def load_cindex():
    try:
        import clang.cindex as cindex
    except ImportError as e:
        print("generate_bindings.py: cannot import clang.cindex (%s); it needs Debian's /usr/bin/python3 "
              "and the python3-clang-14 package; %s" % (e, APT_HINT), file=sys.stderr)
        sys.exit(3)
    path = os.environ.get("CNN_LIBCLANG", LIBCLANG)
    if not os.path.exists(path):
        print("generate_bindings.py: libclang not found at %s; %s" % (path, APT_HINT), file=sys.stderr)
        sys.exit(3)
    if not cindex.Config.loaded:
        cindex.Config.set_library_file(path)
    try:
        cindex.conf.lib  # forces loading, so a broken library fails here with a clear message
    except Exception as e:  # noqa: BLE001 - cindex raises LibclangError, plain Exception subclass
        print("generate_bindings.py: cannot load libclang %s (%s); %s" % (path, e, APT_HINT), file=sys.stderr)
        sys.exit(3)
    return cindex


# ---------------------------------------------------------------------------------------------
# Names
# ---------------------------------------------------------------------------------------------

def pascal_case(name):
    """cnn_conv2d_params -> CnnConv2dParams, INVALID_ARGUMENT -> InvalidArgument, in_channels -> InChannels."""
    parts = [p for p in name.split("_") if p]
    out = []
    for p in parts:
        letters = [ch for ch in p if ch.isalpha()]
        if letters and all(ch.isupper() for ch in letters):
            p = p.lower()
        out.append(p[0].upper() + p[1:])
    return "".join(out)


def escape_identifier(name):
    return "@" + name if name in CSHARP_KEYWORDS else name


def strip_enum_prefix(names):
    """Strips the longest common `_`-separated prefix, keeping at least one part of every member
    and never leaving a member that starts with a digit."""
    split = [n.split("_") for n in names]
    common = 0
    if split:
        limit = min(len(s) for s in split) - 1  # keep at least one part
        while common < limit and all(s[common] == split[0][common] for s in split):
            common += 1
    while common > 0 and any(not s[common][:1].isalpha() for s in split):
        common -= 1
    return ["_".join(s[common:]) for s in split]


# ---------------------------------------------------------------------------------------------
# Doc comments
# ---------------------------------------------------------------------------------------------

def xml_escape(text):
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def comment_lines(raw):
    """The text lines of a /** */ or /// comment, without the comment markers."""
    if not raw:
        return []
    raw = raw.strip()
    if raw.startswith("/*"):
        raw = raw[2:]
        if raw.endswith("*/"):
            raw = raw[:-2]
        raw = re.sub(r"^[*!]<?", "", raw)
        lines = []
        for line in raw.split("\n"):
            line = line.strip()
            if line.startswith("*"):
                line = line[1:]
            lines.append(line.strip())
    else:
        lines = [re.sub(r"^//[/!]<?", "", line.strip()).strip() for line in raw.split("\n")]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    return lines


PARAM_RE = re.compile(r"^[@\\]param(?:\s*\[[a-z, ]+\])?\s+(\w+)\s*(.*)$")
RETURN_RE = re.compile(r"^[@\\]returns?\b\s*(.*)$")
BRIEF_RE = re.compile(r"^[@\\]brief\b\s*")


def parse_doc(raw):
    """-> (summary lines, [(param name, text)], returns text or None)."""
    summary, params, returns = [], [], None
    current = None  # ("param", index) or ("returns",) while a command's text continues
    for line in comment_lines(raw):
        m = PARAM_RE.match(line)
        if m:
            params.append([m.group(1), m.group(2).strip()])
            current = ("param", len(params) - 1)
            continue
        m = RETURN_RE.match(line)
        if m:
            returns = m.group(1).strip()
            current = ("returns",)
            continue
        line = BRIEF_RE.sub("", line)
        if current and line:
            if current[0] == "param":
                params[current[1]][1] = (params[current[1]][1] + " " + line).strip()
            else:
                returns = (returns + " " + line).strip()
            continue
        current = None
        if line or (summary and summary[-1]):
            summary.append(line)
    while summary and not summary[-1]:
        summary.pop()
    return summary, [tuple(p) for p in params], returns


def doc_block(raw, indent, param_names=None, what=""):
    summary, params, returns = parse_doc(raw)
    out = []
    if summary:
        out.append(indent + "/// <summary>")
        out.extend((indent + "/// " + xml_escape(line)).rstrip() for line in summary)
        out.append(indent + "/// </summary>")
    if params and param_names is None:
        raise MappingError("%s: the doc comment has @param but the declaration has no parameters" % what)
    for name, text in params:
        if name not in param_names:
            raise MappingError("%s: the doc comment documents @param %s, which is not a parameter (%s)"
                               % (what, name, ", ".join(param_names) or "none"))
        out.append(indent + '/// <param name="%s">%s</param>' % (name, xml_escape(text)))
    if returns is not None:
        out.append(indent + "/// <returns>%s</returns>" % xml_escape(returns))
    return out


# ---------------------------------------------------------------------------------------------
# The generator
# ---------------------------------------------------------------------------------------------

class Generator:
    def __init__(self, cindex, header, include_dirs, display_name):
        self.ci = cindex
        self.header = os.path.realpath(header)
        self.include_dirs = include_dirs
        self.display_name = display_name
        self.errors = []
        self.type_names = {}     # declaration key -> C# name (enums and defined structs)
        self.opaque = set()      # declaration keys of structs never defined in the header
        self.typedef_for = {}    # declaration key -> first typedef naming it
        self.unsafe_structs = set()

    # -- helpers ------------------------------------------------------------------------------

    def error(self, cursor, what, message):
        loc = cursor.location
        where = "%s:%d" % (os.path.basename(loc.file.name), loc.line) if loc.file else self.display_name
        self.errors.append("%s: %s: %s" % (where, what, message))

    def in_header(self, cursor):
        f = cursor.location.file
        return f is not None and os.path.realpath(f.name) == self.header

    @staticmethod
    def key(decl):
        decl = decl.canonical
        return decl.get_usr() or "%s:%d" % (decl.location.file and decl.location.file.name, decl.location.offset)

    def decl_c_name(self, decl):
        """The C name of a struct/enum declaration: its typedef name if it has one, else its tag."""
        td = self.typedef_for.get(self.key(decl))
        if td:
            return td
        if decl.spelling and not decl.is_anonymous() and "(" not in decl.spelling:
            return decl.spelling
        return None

    def parse(self):
        ci = self.ci
        args = ["-x", "c", "-std=c11"]
        for d in self.include_dirs:
            args += ["-I", d]
        index = ci.Index.create()
        try:
            tu = index.parse(self.header, args=args,
                             options=ci.TranslationUnit.PARSE_DETAILED_PROCESSING_RECORD)
        except ci.TranslationUnitLoadError as e:
            raise MappingError("%s: libclang could not parse the header (%s)" % (self.display_name, e))
        fatal = [d for d in tu.diagnostics if d.severity >= ci.Diagnostic.Error]
        for d in tu.diagnostics:
            if d.severity == ci.Diagnostic.Warning:
                print("generate_bindings.py: %s" % d, file=sys.stderr)
        if fatal:
            raise MappingError("%s does not compile as C11:\n  %s"
                               % (self.display_name, "\n  ".join(str(d) for d in fatal)))
        return tu

    # -- types --------------------------------------------------------------------------------

    def map_type(self, t, context, *, is_return=False, in_struct=False, pointee=False):
        """Maps a C type to C#; raises MappingError naming `context` if it cannot be mapped."""
        K = self.ci.TypeKind
        # Named typedefs first: fixed-width integers are recognised by name.
        while t.kind in (K.TYPEDEF, K.ELABORATED):
            if t.kind == K.ELABORATED:
                t = t.get_named_type()
                continue
            name = t.get_declaration().spelling
            if name in TYPEDEF_MAP:
                return TYPEDEF_MAP[name]
            if name in TYPEDEF_REJECT:
                raise MappingError("%s has type %s: not blittable (%s)" % (context, name, TYPEDEF_REJECT[name]))
            if name in ("bool",):
                raise MappingError("%s has type bool: not blittable; use int32_t (0/1)" % context)
            t = t.get_declaration().underlying_typedef_type
        kind = t.kind
        simple = {
            K.VOID: "void", K.FLOAT: "float", K.DOUBLE: "double",
            K.SCHAR: "sbyte", K.UCHAR: "byte", K.SHORT: "short", K.USHORT: "ushort",
            K.INT: "int", K.UINT: "uint", K.LONGLONG: "long", K.ULONGLONG: "ulong",
        }
        if kind == K.VOID and not (pointee or is_return):
            raise MappingError("%s has type void" % context)
        if kind in simple:
            return simple[kind]
        if kind == K.BOOL:
            raise MappingError("%s has type bool: not blittable; use int32_t (0/1)" % context)
        if kind in (K.CHAR_S, K.CHAR_U):
            raise MappingError("%s has type char: not blittable; char is allowed only as a `const char*` "
                               "return (use uint8_t for bytes)" % context)
        if kind in (K.LONG, K.ULONG):
            raise MappingError("%s has type %s: its width differs between platforms; use int64_t / int32_t"
                               % (context, t.spelling))
        if kind == K.ENUM:
            decl = t.get_declaration()
            name = self.type_names.get(self.key(decl))
            if name is None:
                raise MappingError("%s has type %s, an enum not declared in %s" % (context, t.spelling, self.display_name))
            return name
        if kind == K.RECORD:
            decl = t.get_declaration()
            if decl.kind == self.ci.CursorKind.UNION_DECL:
                raise MappingError("%s has type %s: unions are not supported" % (context, t.spelling))
            k = self.key(decl)
            if self.is_opaque(decl):
                if pointee:
                    return "nint"  # (the pointer itself becomes nint, see POINTER below)
                raise MappingError("%s has opaque type %s by value" % (context, t.spelling))
            name = self.type_names.get(k)
            if name is None:
                raise MappingError("%s has type %s, a struct not declared in %s" % (context, t.spelling, self.display_name))
            if not (pointee or in_struct):
                if is_return:
                    raise MappingError("%s is a struct returned by value (%s): not supported; return it "
                                       "through a pointer parameter" % (context, t.spelling))
                raise MappingError("%s is a struct passed by value (%s): not supported; pass a pointer"
                                   % (context, t.spelling))
            return name
        if kind in (K.POINTER, K.INCOMPLETEARRAY, K.CONSTANTARRAY, K.VARIABLEARRAY, K.DEPENDENTSIZEDARRAY):
            if kind == K.POINTER:
                target = t.get_pointee()
            else:
                if in_struct:
                    raise MappingError("%s: arrays nested in arrays are not supported" % context)
                target = t.get_array_element_type()
            base = target
            while base.kind in (K.TYPEDEF, K.ELABORATED):
                base = base.get_named_type() if base.kind == K.ELABORATED else base.get_declaration().underlying_typedef_type
            if base.kind in (K.FUNCTIONPROTO, K.FUNCTIONNOPROTO, K.BLOCKPOINTER):
                raise MappingError("%s is a function pointer: not supported" % context)
            if base.kind in (K.CHAR_S, K.CHAR_U) and not self.is_typedef_name_mapped(target):
                if is_return and kind == K.POINTER and target.is_const_qualified():
                    return "byte*"
                if is_return:
                    raise MappingError("%s returns a non-const char*: only `const char*` returns are allowed" % context)
                raise MappingError("%s has type %s: char* is not blittable as an input (only `const char*` "
                                   "returns are allowed; pass uint8_t* bytes and a length)" % (context, t.spelling))
            if base.kind == K.RECORD and self.is_opaque(base.get_declaration()):
                return "nint"
            inner = self.map_type(target, context, pointee=True)
            return inner + "*"
        if kind in (K.FUNCTIONPROTO, K.FUNCTIONNOPROTO):
            raise MappingError("%s is a function type: not supported" % context)
        raise MappingError("%s has type %s (%s): no blittable C# mapping" % (context, t.spelling, kind.name))

    def is_opaque(self, decl):
        """A struct declared in the header (possibly only inside another declaration) and never defined."""
        if self.key(decl) in self.opaque:
            return True
        return (decl.kind == self.ci.CursorKind.STRUCT_DECL and decl.get_definition() is None
                and self.in_header(decl))

    def is_typedef_name_mapped(self, t):
        K = self.ci.TypeKind
        while t.kind in (K.TYPEDEF, K.ELABORATED):
            if t.kind == K.ELABORATED:
                t = t.get_named_type()
                continue
            if t.get_declaration().spelling in TYPEDEF_MAP:
                return True
            t = t.get_declaration().underlying_typedef_type
        return False

    # -- declarations -------------------------------------------------------------------------

    def gen_enum(self, cursor, comment):
        c_name = self.decl_c_name(cursor)
        cs_name = self.type_names[self.key(cursor)]
        what = "enum %s" % c_name
        members = [c for c in cursor.get_children() if c.kind == self.ci.CursorKind.ENUM_CONSTANT_DECL]
        if not members:
            self.error(cursor, what, "an enum without members cannot be mapped")
            return []
        if cursor.enum_type.get_size() != 4:
            self.error(cursor, what, "its values do not fit in 32 bits")
            return []
        names = [pascal_case(n) for n in strip_enum_prefix([m.spelling for m in members])]
        out = doc_block(comment, "", what=what)
        out.append("public enum %s" % cs_name)
        out.append("{")
        seen = set()
        for m, name in zip(members, names):
            value = m.enum_value
            if not -2**31 <= value < 2**31:
                self.error(m, "%s.%s" % (c_name, m.spelling), "value %d does not fit in int" % value)
            if not name or not (name[0].isalpha() or name[0] == "_") or name in seen or name in INHERITED_MEMBERS:
                self.error(m, "%s.%s" % (c_name, m.spelling), "maps to C# member name %r, which is invalid, "
                           "reserved or duplicated" % name)
            seen.add(name)
            out.extend(doc_block(m.raw_comment, "    ", what="%s.%s" % (c_name, m.spelling)))
            out.append("    %s = %d," % (name, value))
        out.append("}")
        return out

    def gen_struct(self, cursor, comment):
        ci = self.ci
        c_name = self.decl_c_name(cursor)
        cs_name = self.type_names[self.key(cursor)]
        what = "struct %s" % c_name
        body = []
        seen = set()
        unsafe = False
        offset = 0
        max_align = 1
        children = list(cursor.get_children())
        for child in children:
            if child.kind in (ci.CursorKind.STRUCT_DECL, ci.CursorKind.UNION_DECL, ci.CursorKind.ENUM_DECL) \
                    and (child.is_definition() or child.kind == ci.CursorKind.UNION_DECL):
                kind = "union" if child.kind == ci.CursorKind.UNION_DECL else child.kind.name.split("_")[0].lower()
                self.error(child, what, "declares a nested %s: not supported (declare it at top level)" % kind
                           if kind != "union" else "contains a union: unions are not supported")
                return []
            if child.kind != ci.CursorKind.FIELD_DECL:
                continue
            fwhat = "%s.%s" % (c_name, child.spelling)
            if child.is_bitfield():
                self.error(child, fwhat, "bit-fields are not supported")
                continue
            name = pascal_case(child.spelling)
            if not name or name in seen or name == cs_name or name in INHERITED_MEMBERS:
                self.error(child, fwhat, "maps to C# field name %r, which is invalid, reserved or duplicated" % name)
            seen.add(name)
            t = child.type
            try:
                if t.kind == ci.TypeKind.CONSTANTARRAY:
                    elem = self.map_type(t.get_array_element_type(), "field " + fwhat, in_struct=True)
                    if elem not in FIXED_BUFFER_TYPES:
                        raise MappingError("field %s is an array of %s: only arrays of numbers are supported"
                                           % (fwhat, elem))
                    decl = "public fixed %s %s[%d];" % (elem, name, t.get_array_size())
                    unsafe = True
                else:
                    cs_type = self.map_type(t, "field " + fwhat, in_struct=True)
                    if cs_type.endswith("*"):
                        unsafe = True
                    decl = "public %s %s;" % (cs_type, name)
            except MappingError as e:
                self.error(child, what, str(e))
                continue
            # Sequential layout in .NET is C's natural layout; packed / over-aligned fields are not.
            align = t.get_align()
            offset = (offset + align - 1) // align * align
            if child.get_field_offsetof() != offset * 8:
                self.error(child, fwhat, "is not at its natural offset (packed or aligned attribute?): "
                           "LayoutKind.Sequential cannot express it")
            offset += t.get_size()
            max_align = max(max_align, align)
            body.extend(doc_block(child.raw_comment, "    ", what=fwhat))
            body.append("    " + decl)
        if not seen:
            self.error(cursor, what, "a struct without fields cannot be mapped")
            return []
        size = (offset + max_align - 1) // max_align * max_align
        if cursor.type.get_size() != size:
            self.error(cursor, what, "its size %d is not the natural %d (packed or aligned attribute?)"
                       % (cursor.type.get_size(), size))
        out = doc_block(comment, "", what=what)
        out.append("[StructLayout(LayoutKind.Sequential)]")
        out.append("public %sstruct %s" % ("unsafe " if unsafe else "", cs_name))
        out.append("{")
        out.extend(body)
        out.append("}")
        return out

    def gen_function(self, cursor):
        ci = self.ci
        name = cursor.spelling
        what = "function %s" % name
        ftype = cursor.type
        if ftype.kind == ci.TypeKind.FUNCTIONNOPROTO:
            self.error(cursor, what, "has no prototype; declare it as %s(void)" % name)
            return []
        if ftype.is_function_variadic():
            self.error(cursor, what, "is variadic: not supported")
            return []
        ok = True
        try:
            ret = self.map_type(cursor.result_type, "the return of " + name, is_return=True)
        except MappingError as e:
            self.error(cursor, what, str(e))
            ok = False
        params = []
        c_names = []
        for i, arg in enumerate(cursor.get_arguments()):
            pname = arg.spelling or "arg%d" % i
            c_names.append(pname)
            try:
                cs_type = self.map_type(arg.type, "parameter '%s' of %s" % (pname, name))
            except MappingError as e:
                self.error(arg, what, str(e))
                ok = False
                continue
            params.append("%s %s" % (cs_type, escape_identifier(pname)))
        if not ok:
            return []
        out = doc_block(cursor.raw_comment, "    ", param_names=c_names, what=what)
        out.append("    [LibraryImport(LibraryName)]")
        out.append("    [UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]")
        out.append("    public static partial %s %s(%s);" % (ret, name, ", ".join(params)))
        return out

    # -- driver -------------------------------------------------------------------------------

    def generate(self):
        ci = self.ci
        CK = ci.CursorKind
        tu = self.parse()
        top = [c for c in tu.cursor.get_children() if self.in_header(c)]
        api_offsets = sorted(c.location.offset for c in top
                             if c.kind == CK.MACRO_INSTANTIATION and c.spelling == API_MACRO)

        # Pass 1: typedef names, then C# names of enums and structs.
        typedef_comment = {}
        for c in top:
            if c.kind == CK.TYPEDEF_DECL:
                under = c.underlying_typedef_type
                while under.kind == ci.TypeKind.ELABORATED:
                    under = under.get_named_type()
                if under.kind in (ci.TypeKind.ENUM, ci.TypeKind.RECORD):
                    k = self.key(under.get_declaration())
                    self.typedef_for.setdefault(k, c.spelling)
                    typedef_comment.setdefault(k, c.raw_comment)
        defined = set()
        for c in top:
            if c.kind in (CK.ENUM_DECL, CK.STRUCT_DECL) and c.is_definition():
                defined.add(self.key(c))
        for c in top:
            if c.kind in (CK.ENUM_DECL, CK.STRUCT_DECL):
                k = self.key(c)
                if c.kind == CK.STRUCT_DECL and k not in defined:
                    self.opaque.add(k)
                    continue
                c_name = self.decl_c_name(c)
                if c_name is None:
                    self.error(c, "anonymous %s" % c.kind.name.split("_")[0].lower(), "has no tag or typedef name")
                    continue
                self.type_names.setdefault(k, pascal_case(c_name))
        cs_names = {}
        for k, n in self.type_names.items():
            if n in cs_names or n == "NativeMethods":
                self.errors.append("%s: two C types map to the C# name %s" % (self.display_name, n))
            cs_names[n] = k

        # Pass 2: emit in header order.
        types, functions = [], []
        done = set()
        for c in top:
            k = None
            if c.kind in (CK.ENUM_DECL, CK.STRUCT_DECL, CK.UNION_DECL, CK.FUNCTION_DECL):
                k = self.key(c)
            if c.kind == CK.UNION_DECL:
                if k not in done:
                    self.error(c, "union %s" % (self.decl_c_name(c) or "(anonymous)"),
                               "unions are not supported")
                done.add(k)
            elif c.kind in (CK.ENUM_DECL, CK.STRUCT_DECL):
                if not c.is_definition() or k in done or k not in self.type_names:
                    continue
                done.add(k)
                comment = c.raw_comment or typedef_comment.get(k)
                try:
                    block = self.gen_enum(c, comment) if c.kind == CK.ENUM_DECL else self.gen_struct(c, comment)
                except MappingError as e:
                    self.error(c, "type %s" % self.decl_c_name(c), str(e))
                    continue
                if block:
                    types.append(block)
            elif c.kind == CK.FUNCTION_DECL:
                if k in done:
                    continue
                done.add(k)
                if c.storage_class == ci.StorageClass.STATIC:
                    continue  # static inline helpers are not exported
                start, end = c.extent.start.offset, c.location.offset
                if not any(start <= off < end for off in api_offsets):
                    self.error(c, "function %s" % c.spelling,
                               "is declared without %s, so it is not exported; add %s (or make it static inline)"
                               % (API_MACRO, API_MACRO))
                    continue
                try:
                    block = self.gen_function(c)
                except MappingError as e:
                    self.error(c, "function %s" % c.spelling, str(e))
                    continue
                if block:
                    functions.append(block)
            elif c.kind == CK.VAR_DECL:
                self.error(c, "variable %s" % c.spelling, "global variables cannot be bound; use a function")

        if self.errors:
            raise MappingError("\n".join(self.errors))

        out = [
            "// <auto-generated> Generated by bindings/generate_bindings.py from %s. Do not edit. </auto-generated>"
            % self.display_name,
            "",
            "#pragma warning disable CS1573, CS1591 // C doc comments need not document every field and parameter",
            "",
            "using System.Runtime.CompilerServices;",
            "using System.Runtime.InteropServices;",
            "",
            "namespace %s;" % NAMESPACE,
            "",
        ]
        for block in types:
            out.extend(block)
            out.append("")
        out.append("public static unsafe partial class NativeMethods")
        out.append("{")
        out.append('    public const string LibraryName = "%s";' % LIBRARY_NAME)
        for block in functions:
            out.append("")
            out.extend(block)
        out.append("}")
        return "\n".join(out) + "\n"


def display_path(header):
    rel = os.path.relpath(os.path.realpath(header), ROOT)
    return os.path.basename(header) if rel.startswith("..") else rel.replace(os.sep, "/")


def generate(header=DEFAULT_HEADER, include_dirs=None, cindex=None):
    """Returns the C# text for `header`; raises MappingError listing every declaration it cannot map."""
    cindex = cindex or load_cindex()
    if include_dirs is None:
        include_dirs = [DEFAULT_INCLUDE_DIR]
    if not os.path.isfile(header):
        raise MappingError("header not found: %s" % header)
    return Generator(cindex, header, include_dirs, display_path(header)).generate()


def main(argv=None):
    ap = argparse.ArgumentParser(description="Generate the P/Invoke bindings of cnn.h.")
    ap.add_argument("--output", default=DEFAULT_OUTPUT, help="output file (default: %(default)s)")
    ap.add_argument("--check", action="store_true",
                    help="compare with the existing output file; exit 1 with a diff if they differ")
    ap.add_argument("--header", default=DEFAULT_HEADER, help=argparse.SUPPRESS)
    ap.add_argument("--include-dir", action="append", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    include_dirs = args.include_dir
    if include_dirs is None:
        include_dirs = [DEFAULT_INCLUDE_DIR] if args.header == DEFAULT_HEADER else [os.path.dirname(os.path.abspath(args.header))]
    try:
        text = generate(args.header, include_dirs)
    except MappingError as e:
        print("generate_bindings.py: cannot generate bindings:\n%s" % e, file=sys.stderr)
        return 2
    if args.check:
        try:
            with open(args.output, encoding="utf-8", newline="") as f:
                current = f.read()
        except FileNotFoundError:
            print("generate_bindings.py: %s does not exist" % args.output, file=sys.stderr)
            return 1
        if current == text:
            return 0
        rel = display_path(args.output)
        sys.stdout.writelines(difflib.unified_diff(
            current.splitlines(True), text.splitlines(True), "a/" + rel + " (committed)", "b/" + rel + " (generated)"))
        return 1
    tmp = args.output + ".tmp"
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
    os.replace(tmp, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
