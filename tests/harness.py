"""Tiny test harness for the end-to-end suite: no third-party packages, one
line per test, and the closing line 'e2e: N passed, N failed, N skipped'."""

import os
import subprocess
import sys
import time
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_tests = []


class Skip(Exception):
    """A test that cannot run on this machine, with the reason printed."""


def test(fn):
    _tests.append(fn)
    return fn


def run_cmd(args, timeout=300, check=False, **kw):
    p = subprocess.run(args, capture_output=True, text=True, timeout=timeout, **kw)
    if check and p.returncode != 0:
        raise AssertionError(f"{args} exited {p.returncode}:\n{p.stdout}\n{p.stderr}")
    return p


def main(selected=None):
    passed = failed = skipped = 0
    for fn in _tests:
        if selected and fn.__name__ not in selected:
            continue
        t0 = time.time()
        try:
            fn()
        except Skip as e:
            skipped += 1
            print(f"SKIP {fn.__name__}: {e}", flush=True)
            continue
        except Exception:
            failed += 1
            print(f"FAIL {fn.__name__} ({time.time() - t0:.1f}s)", flush=True)
            traceback.print_exc()
            continue
        passed += 1
        print(f"ok   {fn.__name__} ({time.time() - t0:.1f}s)", flush=True)
    print(f"e2e: {passed} passed, {failed} failed, {skipped} skipped")
    sys.exit(1 if failed else 0)
