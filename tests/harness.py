"""Tiny test harness for the end-to-end suite: no third-party packages, one
line per test, and the closing line 'e2e: N passed, N failed, N skipped'."""

import os
import signal
import socket
import subprocess
import sys
import threading
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


def free_port():
    """A free TCP port on 127.0.0.1 (tests bind and forward on loopback only)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LineProcess:
    """A process (QEMU, the key broker) in its own session whose combined
    output is collected line by line by a thread, so tests can wait for a
    line without blocking on the pipe."""

    def __init__(self, args):
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, start_new_session=True)
        self.lines = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    # Default patience of `wait_for`, in seconds.
    wait_timeout = 90

    def log(self, last=60):
        """The last `last` lines (all of them with None)."""
        return "\n".join(self.lines[-last:] if last else self.lines)

    def wait_for(self, text, timeout=None):
        """The first line containing `text`; fails once the process has
        exited without it (all its output read) or after `timeout` s."""
        deadline = time.time() + (timeout or self.wait_timeout)
        while time.time() < deadline:
            for line in self.lines:
                if text in line:
                    return line
            if self.proc.poll() is not None:
                self.reader.join(timeout=5)
                for line in self.lines:
                    if text in line:
                        return line
                break
            time.sleep(0.1)
        raise AssertionError(f"no {text!r} from the process:\n{self.log()}")

    def wait_exit(self, timeout=300):
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"still running after {timeout} s:\n{self.log()}")
        self.reader.join(timeout=5)
        return code

    def kill(self, sig=signal.SIGKILL):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.reader.join(timeout=5)


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
