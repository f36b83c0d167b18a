#!/usr/bin/env python3
"""Marks one GLIBCXX version need of an ELF shared object weak (VER_FLG_WEAK in .gnu.version_r).

Why: TorchSharp's libLibTorchSharp.so is built with GCC 13 and asks libstdc++ for GLIBCXX_3.4.32 for
exactly one symbol, std::ios_base_library_init(). Debian 12's libstdc++ (GCC 12) stops at 3.4.30, so
the loader refuses the whole library. With the need marked weak the loader only notes the missing
version, and the symbol itself comes from ios_init_shim.so (preloaded for the test run).

Usage: weaken_glibcxx_need.py LIB.so [VERSION]   (default GLIBCXX_3.4.32). Idempotent; patches in place;
exit 0 when the need is weak afterwards (or absent), 1 on a malformed file.
"""
import struct
import sys

VER_FLG_WEAK = 0x2


def main(path, version):
    with open(path, "r+b") as f:
        data = bytearray(f.read())
        if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
            print(f"{path}: not a little-endian ELF64 file", file=sys.stderr)
            return 1
        e_shoff, = struct.unpack_from("<Q", data, 0x28)
        e_shentsize, e_shnum, e_shstrndx = struct.unpack_from("<HHH", data, 0x3A)

        def section(i):
            # sh_name, sh_type, sh_flags, sh_addr, sh_offset, sh_size, sh_link, sh_info
            return struct.unpack_from("<IIQQQQII", data, e_shoff + i * e_shentsize)

        def cstr(offset):
            return bytes(data[offset:data.index(0, offset)]).decode()

        shstr_off = section(e_shstrndx)[4]
        verneed = next((section(i) for i in range(e_shnum)
                        if cstr(shstr_off + section(i)[0]) == ".gnu.version_r"), None)
        if verneed is None:
            print(f"{path}: no .gnu.version_r: nothing to patch")
            return 0
        strtab_off = section(verneed[6])[4]
        count = verneed[7]  # sh_info = number of Verneed entries
        need = verneed[4]
        for _ in range(count):
            vn_version, vn_cnt, vn_file, vn_aux, vn_next = struct.unpack_from("<HHIII", data, need)
            aux = need + vn_aux
            for _ in range(vn_cnt):
                vna_hash, vna_flags, vna_other, vna_name, vna_next = struct.unpack_from("<IHHII", data, aux)
                if cstr(strtab_off + vna_name) == version:
                    if not vna_flags & VER_FLG_WEAK:
                        struct.pack_into("<H", data, aux + 4, vna_flags | VER_FLG_WEAK)
                        f.seek(aux + 4)
                        f.write(data[aux + 4:aux + 6])
                        print(f"{path}: {version} need ({cstr(strtab_off + vn_file)}) marked weak")
                    else:
                        print(f"{path}: {version} need already weak")
                    return 0
                aux += vna_next
            need += vn_next
        print(f"{path}: no {version} need: nothing to patch")
        return 0


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1], sys.argv[2] if len(sys.argv) == 3 else "GLIBCXX_3.4.32"))
