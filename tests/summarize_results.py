#!/usr/bin/env python3
"""summarize_results.py — the closing lines of a test run, for humans and CI (build.sh and build.ps1).

usage: summarize_results.py CTEST_LOG TRX_DIR
Reads ctest's "N% tests passed, N tests failed out of N" line from CTEST_LOG and the counters of every
*.trx file (dotnet test's logger) in TRX_DIR, prints

    ctest: N passed, N failed
    xunit: N passed, N failed, N skipped
    total: N passed, N failed

and exits 1 when anything failed or when either runner ran nothing (a run that tested nothing is no pass).
"""
import glob
import re
import sys
import xml.etree.ElementTree as ET


def main():
    if len(sys.argv) != 3:
        print(__doc__.strip().split("\n\n")[1], file=sys.stderr)
        return 2
    with open(sys.argv[1], encoding="utf-8", errors="replace") as f:
        ctest = f.read()
    m = re.search(r"(\d+)% tests passed, (\d+) tests failed out of (\d+)", ctest)
    c_total, c_failed = (int(m.group(3)), int(m.group(2))) if m else (0, 0)
    x_passed = x_failed = x_skipped = 0
    for trx in glob.glob(sys.argv[2] + "/*.trx"):
        counters = ET.parse(trx).getroot().find(".//{*}Counters")
        x_passed += int(counters.get("passed"))
        x_failed += int(counters.get("failed"))
        x_skipped += int(counters.get("notExecuted"))
    print(f"\nctest: {c_total - c_failed} passed, {c_failed} failed")
    print(f"xunit: {x_passed} passed, {x_failed} failed, {x_skipped} skipped")
    print(f"total: {c_total - c_failed + x_passed} passed, {c_failed + x_failed} failed")
    return 1 if (c_failed or x_failed or x_passed == 0 or c_total == 0) else 0


if __name__ == "__main__":
    sys.exit(main())
