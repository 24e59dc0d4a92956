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


_background = set()


def background(fn):
    """A test that mostly waits on a guest's own clock (it costs the host
    almost no CPU): it starts in a thread where it stands in the order (so
    what earlier tests built is there, and it does not compete with their
    builds) and is reported at the end; its minute of waiting overlaps the
    tests after it."""
    _background.add(fn)
    return test(fn)


def run_cmd(args, timeout=300, check=False, **kw):
    p = subprocess.run(args, capture_output=True, text=True, timeout=timeout, **kw)
    if check and p.returncode != 0:
        raise AssertionError(f"{args} exited {p.returncode}:\n{p.stdout}\n{p.stderr}")
    return p


def run_parallel(jobs, timeout=300):
    """Runs each job in its own thread; returns their results in order.
    Fails naming every job that raised or was still running at `timeout`."""
    results = [None] * len(jobs)
    errors = []

    def one(i, job):
        try:
            results[i] = job()
        except Exception as e:  # reported below with its index
            errors.append((i, repr(e)))

    threads = [threading.Thread(target=one, args=(i, j), daemon=True) for i, j in enumerate(jobs)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + timeout
    for t in threads:
        t.join(timeout=max(0.0, deadline - time.monotonic()))
    errors += [(i, f"still running after {timeout} s") for i, t in enumerate(threads) if t.is_alive()]
    assert not errors, f"parallel jobs failed: {sorted(errors)}"
    return results


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


def qemu_cpu_seconds(run_sh_pid):
    """CPU seconds (user + system, all threads) of the QEMU that run.sh
    (`run_sh_pid`) started, from /proc."""
    with open(f"/proc/{run_sh_pid}/task/{run_sh_pid}/children") as f:
        children = [int(c) for c in f.read().split()]
    for pid in children:
        with open(f"/proc/{pid}/comm") as f:
            if not f.read().startswith("qemu-system"):
                continue
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        # utime and stime are fields 14 and 15 of stat(5); fields[0] is field 3.
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    raise RuntimeError(f"no QEMU process under run.sh (pid {run_sh_pid})")


def idle_cpu_share(a, seconds):
    """The share of one host core the appliance's QEMU uses over `seconds`
    with no request in flight."""
    c0, t0 = a.cpu_seconds(), time.monotonic()
    time.sleep(seconds)
    return (a.cpu_seconds() - c0) / (time.monotonic() - t0)


def _run(fn):
    """("ok" | "SKIP" | "FAIL", seconds, detail)."""
    t0 = time.time()
    try:
        fn()
    except Skip as e:
        return "SKIP", time.time() - t0, str(e)
    except Exception:
        return "FAIL", time.time() - t0, traceback.format_exc()
    return "ok", time.time() - t0, ""


def main(selected=None):
    counts = {"ok": 0, "FAIL": 0, "SKIP": 0}

    def report(fn, outcome):
        status, seconds, detail = outcome
        counts[status] += 1
        if status == "SKIP":
            print(f"SKIP {fn.__name__}: {detail}", flush=True)
            return
        print(f"{status:<4} {fn.__name__} ({seconds:.1f}s)", flush=True)
        if detail:
            print(detail, end="", flush=True)

    chosen = [fn for fn in _tests if not selected or fn.__name__ in selected]
    waiting = []
    for fn in chosen:
        if fn in _background:
            box = []
            thread = threading.Thread(target=lambda f=fn, b=box: b.append(_run(f)), daemon=True)
            thread.start()
            waiting.append((fn, thread, box))
        else:
            report(fn, _run(fn))
    for fn, thread, box in waiting:
        thread.join()
        report(fn, box[0] if box else ("FAIL", 0.0, "the test's thread ended without a result\n"))
    print(f"e2e: {counts['ok']} passed, {counts['FAIL']} failed, {counts['SKIP']} skipped")
    sys.exit(1 if counts["FAIL"] else 0)
