#!/usr/bin/env python3
"""Network benchmark of the guest's HTTP server (self-test word `http`,
guest/app/src/http_server.rs): host-to-guest and guest-to-host throughput and
request latency, under TCG and under KVM where qemu/accel.sh says KVM can
run the image here.

- host -> guest: 16 MiB as two 8 MiB `POST /sha256` (8 MiB is the body
  limit) on one keep-alive connection; the time includes the guest hashing
  each body after it has arrived (the server buffers whole bodies). The
  answers are checked.
- guest -> host: `GET /bytes/16777216` (generated while sending), checked.
- latency: 500 `GET /healthz` on one keep-alive connection after 20 warm-up
  requests; p50 and p99 of the wall time per request seen by the host.

Throughput is the median of --runs runs (default 3); MB = 10^6 bytes.
QEMU user networking with restrict=on, one hostfwd on 127.0.0.1 only.

Usage: bench/net.py [--runs N] [--image out/test/appliance.bin]
"""

import argparse
import hashlib
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MIB = 1 << 20


def pattern(n):
    """The server's /bytes pattern: byte i = (i + i // 256) mod 256."""
    r = bytes(range(256))
    return b"".join(r[k % 256:] + r[:k % 256] for k in range(n // 256 + 1))[:n]


class Guest:
    def __init__(self, image, accel):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        netdev = f"user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:{self.port}-:8080"
        device = "virtio-net-pci,netdev=n0,disable-legacy=on,iommu_platform=on,romfile="
        self.proc = subprocess.Popen(
            [os.path.join(ROOT, "qemu", "run.sh"), "--image", image, "--accel", accel,
             "--selftest", "http", "--", "-netdev", netdev, "-device", device],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
        self.lines = []
        threading.Thread(target=self._read, daemon=True).start()
        deadline = time.time() + 120
        while not any("http: up " in line for line in self.lines):
            if self.proc.poll() is not None or time.time() > deadline:
                self.kill()
                raise RuntimeError(f"{accel}: the HTTP server did not come up:\n"
                                   + "\n".join(self.lines[-20:]))
            time.sleep(0.1)

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def kill(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=20)

    def stop(self):
        try:
            with Conn(self.port) as c:
                c.request("POST", "/quit")
            self.proc.wait(timeout=20)
        except (OSError, subprocess.TimeoutExpired):
            pass
        self.kill()
        return self.proc.returncode


class Conn:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=120)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.sock.close()

    def request(self, method, path, body=b""):
        head = f"{method} {path} HTTP/1.1\r\nHost: appliance\r\n"
        if method == "POST":
            head += f"Content-Length: {len(body)}\r\n"
        self.sock.sendall(head.encode() + b"\r\n" + body)
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise RuntimeError("connection closed before a response")
            self.buf += chunk
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        status = int(head[9:12])
        n = 0
        for line in head.split(b"\r\n")[1:]:
            name, value = line.split(b":", 1)
            if name.strip().lower() == b"content-length":
                n = int(value)
        parts, have = [self.buf], len(self.buf)
        while have < n:
            chunk = self.sock.recv(min(4 * MIB, n - have))
            if not chunk:
                raise RuntimeError("connection closed inside a body")
            parts.append(chunk)
            have += len(chunk)
        data = b"".join(parts)
        body, self.buf = data[:n], data[n:]
        if status != 200:
            raise RuntimeError(f"{method} {path}: status {status}")
        return body


def measure(guest, runs):
    blobs = [os.urandom(8 * MIB) for _ in range(2)]
    digests = [hashlib.sha256(b).hexdigest().encode() for b in blobs]
    down_n = 16 * MIB
    down_digest = hashlib.sha256(pattern(down_n)).digest()
    up, down = [], []
    for _ in range(runs):
        with Conn(guest.port) as c:
            t0 = time.perf_counter()
            for blob, digest in zip(blobs, digests):
                if c.request("POST", "/sha256", blob) != digest:
                    raise RuntimeError("upload digest mismatch")
            up.append(16 * MIB / (time.perf_counter() - t0) / 1e6)
        with Conn(guest.port) as c:
            t0 = time.perf_counter()
            got = c.request("GET", f"/bytes/{down_n}")
            down.append(down_n / (time.perf_counter() - t0) / 1e6)
            if hashlib.sha256(got).digest() != down_digest:
                raise RuntimeError("download content mismatch")
    lat = []
    with Conn(guest.port) as c:
        for _ in range(20):
            c.request("GET", "/healthz")
        for _ in range(500):
            t0 = time.perf_counter()
            if c.request("GET", "/healthz") != b"ok":
                raise RuntimeError("healthz answer")
            lat.append((time.perf_counter() - t0) * 1000)
    lat.sort()
    return {
        "up": statistics.median(up),
        "down": statistics.median(down),
        "p50": lat[len(lat) // 2],
        "p99": lat[min(len(lat) - 1, int(len(lat) * 0.99))],
        "up_runs": up,
        "down_runs": down,
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--image", default=os.path.join(ROOT, "out", "test", "appliance.bin"))
    a = ap.parse_args()
    probe = subprocess.run([os.path.join(ROOT, "qemu", "accel.sh"), a.image],
                           capture_output=True, text=True)
    accels = ["tcg", "kvm"] if probe.stdout.strip() == "kvm" else ["tcg"]
    results = {}
    for accel in accels:
        guest = Guest(a.image, accel)
        try:
            results[accel] = measure(guest, a.runs)
        finally:
            rc = guest.stop()
        if rc != 33:
            print(f"warning: {accel} guest exit status {rc} after POST /quit", file=sys.stderr)
    print(f"network benchmark: HTTP server in the guest, QEMU user networking (slirp), "
          f"throughput median of {a.runs} runs, MB = 10^6 bytes")
    print(f"{'accel':<6} {'host->guest MB/s':>17} {'guest->host MB/s':>17} "
          f"{'GET p50 ms':>11} {'GET p99 ms':>11}")
    for accel, r in results.items():
        print(f"{accel:<6} {r['up']:>17.1f} {r['down']:>17.1f} {r['p50']:>11.3f} {r['p99']:>11.3f}")
    for accel, r in results.items():
        print(f"  {accel} runs: host->guest " + " ".join(f"{x:.1f}" for x in r["up_runs"])
              + ", guest->host " + " ".join(f"{x:.1f}" for x in r["down_runs"]))
    if "kvm" not in accels:
        reason = probe.stderr.strip() or "qemu/accel.sh chose TCG"
        print(f"kvm    not measured: KVM cannot run the image on this machine ({reason})")


if __name__ == "__main__":
    main()
