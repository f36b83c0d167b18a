#!/usr/bin/env python3
"""check_portability.py — fails when compiler- or OS-specific syntax appears unguarded in the C core.

The core must build with GCC/Clang (Linux) and MSVC/clang-cl (Windows). Compiler-specific spellings
live in native/src/core/compiler.h (CNN_ALWAYS_INLINE, CNN_UNROLL, CNN_PREFETCH, CNN_THREAD_LOCAL...);
anywhere else a GCC-ism (or POSIX header) must sit in a branch that only GCC/Clang/POSIX compile
(`#if defined(__GNUC__) || defined(__clang__)`, `#if CNN_GNU_LIKE`, the `#else` of `#if defined(_MSC_VER)`
or `#if defined(_WIN32)`), and an MSVC-ism in a branch only MSVC/Windows compiles.

usage: check_portability.py NATIVE_DIR     (ctest runs it; it first checks itself on known snippets)
Exit 0 when clean, 1 with one line per finding (file:line: what, which guard it needs).
"""
import pathlib
import re
import sys

GNU_ONLY = [
    (r"\b__attribute__\b", "__attribute__"),
    (r"\b__builtin_\w+", "a __builtin_ function"),
    (r"^\s*#\s*pragma\s+(GCC|clang)\b", "#pragma GCC/clang"),
    (r"\b_Pragma\s*\(", "_Pragma"),
    (r"\b__asm__\b|\b__asm\b|\basm\s*(volatile\s*)?\(", "inline asm"),
    (r"\b__thread\b|\b_Thread_local\b", "a thread-local keyword (use CNN_THREAD_LOCAL)"),
    (r"\b__typeof__\b|\btypeof\s*\(", "typeof"),
    (r"\b__int128\b", "__int128"),
    (r"\(\{", "a statement expression"),
    (r"\bcase\b[^:]*\.\.\.", "a case range"),
    (r"#\s*include\s*<(cpuid|x86intrin|pthread|unistd)\.h>", "a GCC/POSIX-only header"),
    (r"\b(__cpuid_count|sysconf|setenv|unsetenv|pthread_\w+|clock_gettime)\b", "a GCC/POSIX-only function"),
]
MSVC_ONLY = [
    (r"\b__declspec\b", "__declspec"),
    (r"\b__forceinline\b", "__forceinline"),
    (r"#\s*include\s*<(intrin|windows)\.h>", "an MSVC/Windows-only header"),
    (r"\b(__cpuidex|_xgetbv|_aligned_malloc|_aligned_free|_putenv_s)\b", "an MSVC-only function"),
]
EXEMPT = {"src/core/compiler.h"}  # the one file that spells both

_GNU = r"(__GNUC__|__clang__|CNN_GNU_LIKE)"
_MSVC = r"(_MSC_VER|_WIN32)"


def _mentions(cond, names, negated):
    """Whether `cond` tests one of `names` positively (or, with negated, under a `!`)."""
    bang = r"!\s*" if negated else r"(?<![!\w])"
    return re.search(bang + r"(defined\s*\(?\s*)?" + names + r"\b", cond) is not None


def _branch(kind, cond, previous):
    """(gnu_only, msvc_only) for a preprocessor branch; `previous` holds the conditions before an #else."""
    if kind == "else":
        return (any(_mentions(c, _MSVC, False) for c in previous),
                any(_mentions(c, _GNU, False) for c in previous))
    return (_mentions(cond, _GNU, False) or _mentions(cond, _MSVC, True),
            _mentions(cond, _MSVC, False) or _mentions(cond, _GNU, True))


def _strip(text):
    """Comments and string literals blanked (line breaks kept, so line numbers stay right)."""
    def blank(m):
        return re.sub(r"[^\n]", " ", m.group(0))
    return re.sub(r'//[^\n]*|/\*.*?\*/|"(\\.|[^"\\\n])*"', blank, text, flags=re.S)


def _logical_lines(text):
    """(first line number, text) per logical line: a backslash-continued macro is one line, so it
    is checked under the guard it starts in."""
    out, start, parts = [], 0, []
    for number, line in enumerate(_strip(text).split("\n"), 1):
        if not parts:
            start = number
        parts.append(line.rstrip("\\"))
        if not line.endswith("\\"):
            out.append((start, " ".join(parts)))
            parts = []
    if parts:
        out.append((start, " ".join(parts)))
    return out


def check_text(text, name):
    findings = []
    frames = []  # per open #if: [its conditions so far, (gnu_only, msvc_only) of the current branch]
    for number, line in _logical_lines(text):
        directive = re.match(r"\s*#\s*(if|ifdef|ifndef|elif|else|endif)\b(.*)", line)
        if directive:
            kind, cond = directive.group(1), directive.group(2).strip()
            if kind in ("if", "ifdef", "ifndef"):
                cond = {"ifdef": f"defined({cond})", "ifndef": f"!defined({cond})"}.get(kind, cond)
                frames.append([[cond], _branch("if", cond, [])])
            elif kind == "elif" and frames:
                frames[-1][0].append(cond)
                frames[-1][1] = _branch("if", cond, [])
            elif kind == "else" and frames:
                frames[-1][1] = _branch("else", "", frames[-1][0])
            elif kind == "endif" and frames:
                frames.pop()
            continue
        gnu_ok = any(f[1][0] for f in frames)
        msvc_ok = any(f[1][1] for f in frames)
        for patterns, ok, need in ((GNU_ONLY, gnu_ok, "GCC/Clang or non-Windows"),
                                   (MSVC_ONLY, msvc_ok, "MSVC or Windows")):
            for pattern, what in patterns:
                if not ok and re.search(pattern, line):
                    findings.append(f"{name}:{number}: unguarded {what}: use core/compiler.h's macro "
                                    f"or put it under a {need}-only #if: {line.strip()[:70]}")
    return findings


def self_test():
    """The checker must flag what it exists to flag, and pass what is guarded."""
    must_fail = {
        "attr": "static inline __attribute__((always_inline)) void f(void) {}\n",
        "pragma": "void f(void) {\n#pragma GCC unroll 4\n    for (;;) {}\n}\n",
        "builtin": "void f(const float* p) { __builtin_prefetch(p); }\n",
        "tls": "static _Thread_local int x;\n",
        "wrong-branch": "#if defined(_MSC_VER)\nstatic __attribute__((unused)) int x;\n#endif\n",
        "msvc": "static __declspec(thread) int x;\n",
        "posix": "#include <pthread.h>\n",
    }
    must_pass = {
        "guarded": "#if defined(__GNUC__) || defined(__clang__)\n#define P(a) __builtin_prefetch(a)\n#else\n#define P(a)\n#endif\n",
        "else-of-msvc": "#if defined(_MSC_VER)\n#include <intrin.h>\n#else\n#include <cpuid.h>\n#endif\n",
        "ifndef-win": "#ifndef _WIN32\n#include <unistd.h>\n#endif\n",
        "comment": "/* __attribute__ and #pragma GCC in a comment */\nstatic const char* s = \"__builtin_x\";\n",
        "macro": "#if CNN_GNU_LIKE\n#pragma GCC diagnostic push\n#endif\n",
    }
    bad = [f"self-test: '{k}' not flagged" for k, v in must_fail.items() if not check_text(v, k)]
    bad += [f"self-test: '{k}' flagged: {check_text(v, k)}" for k, v in must_pass.items() if check_text(v, k)]
    return bad


def main():
    if len(sys.argv) != 2:
        print(__doc__.strip().split("\n\n")[1], file=sys.stderr)
        return 2
    root = pathlib.Path(sys.argv[1])
    findings = self_test()
    files = sorted(p for d in ("src", "include") for p in (root / d).rglob("*") if p.suffix in (".c", ".h"))
    files += sorted((root / "tests").glob("test_*.c")) + sorted((root / "tests").glob("test_*.h"))
    if not files:
        findings.append(f"no C sources under {root} (expected src/, include/, tests/)")
    for path in files:
        rel = path.relative_to(root).as_posix()
        if rel not in EXEMPT:
            findings += check_text(path.read_text(encoding="utf-8"), rel)
    for f in findings:
        print(f)
    print(f"check_portability: {len(files)} files, {len(findings)} findings")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
