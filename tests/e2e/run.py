#!/usr/bin/env python3
"""Runs e2e test modules or classes with unittest for CTest: `run.py test_baseline` or
`run.py test_protection.HydraIsStopped`. Exit status: 0 when everything that ran passed, 1 on a failure
or error, 77 when every test was skipped (CTest's SKIP_RETURN_CODE), so a run without root, without the
mail packages or without the daemon shows as "Skipped" with the reason in its output, never as "Passed"."""
import sys
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
# The e2e modules, and the daemon-process base they share with the kernel-label tests.
sys.path[:0] = [str(HERE), str(HERE.parent / "support")]


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print("usage: run.py MODULE[.CLASS[.METHOD]] ...", file=sys.stderr)
        return 2
    suite = unittest.defaultTestLoader.loadTestsFromNames(argv[1:])
    result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
    if not result.wasSuccessful():
        return 1
    if result.skipped and len(result.skipped) >= result.testsRun:
        for _, reason in result.skipped[:1]:
            print(f"SKIPPED: {reason}")
        return 77
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
