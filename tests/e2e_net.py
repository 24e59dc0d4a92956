"""End-to-end tests of networking (issue 4, items 1-2): virtio-net-pci
(modern, ACCESS_PLATFORM) under plain QEMU, DHCP or static IPv4, and TCP
through the guest's test service (guest/app/src/net_selftest.rs).

QEMU user networking runs with restrict=on (the guest reaches nothing but
the explicit forwards): one port on 127.0.0.1 forwarded to the guest's port
8080 (hostfwd) and, for the client test, the guest's 10.0.2.100:1234
forwarded to a listener on 127.0.0.1 (guestfwd). No traffic goes anywhere
but 127.0.0.1. Expects `image-builder build --test-image
--out out/test` to have run (scripts/test.sh does).
"""

import hashlib
import os
import signal
import socket
import subprocess
import threading
import time

from harness import ROOT, LineProcess, free_port, run_parallel, main, test

# The test image: these boots select self-tests (the production image has none).
IMAGE = os.path.join(ROOT, "out", "test", "appliance.bin")
RUN = os.path.join(ROOT, "qemu", "run.sh")
EXIT_OK = 33
MIB = 1 << 20


class Guest(LineProcess):
    """The appliance booted with the network self-test; serial collected."""

    def __init__(self, selftest="net", guestfwd_port=None):
        self.port = free_port()
        netdev = f"user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:{self.port}-:8080"
        if guestfwd_port is not None:
            netdev += f",guestfwd=tcp:10.0.2.100:1234-tcp:127.0.0.1:{guestfwd_port}"
        device = "virtio-net-pci,netdev=n0,disable-legacy=on,iommu_platform=on,romfile="
        super().__init__([RUN, "--image", IMAGE, "--accel", "tcg", "--selftest", selftest,
                          "--", "-netdev", netdev, "-device", device])

    def connect(self):
        return socket.create_connection(("127.0.0.1", self.port), timeout=120)

    def stop(self):
        """Ask the service to power off; kill QEMU if it does not."""
        if self.proc.poll() is None:
            try:
                with self.connect() as s:
                    s.sendall(b"QUIT\n")
                    read_line(s)
            except OSError:
                pass
        try:
            return self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=20)
            return None
        finally:
            self.reader.join(timeout=5)


def read_line(s):
    out = bytearray()
    while not out.endswith(b"\n"):
        chunk = s.recv(1)
        if not chunk:
            break
        out += chunk
    return out.decode()


def read_exactly(s, n):
    out = bytearray()
    while len(out) < n:
        chunk = s.recv(min(1 << 20, n - len(out)))
        if not chunk:
            break
        out += chunk
    return bytes(out)


def pattern(n, seed):
    """The service's download bytes: byte i = (i + i // 256 + seed) mod 256."""
    r = bytes(range(256))
    blocks = []
    for k in range(n // 256 + 1):
        j = (k + seed) % 256
        blocks.append(r[j:] + r[:j])
    return b"".join(blocks)[:n]


def upload(guest, data, sock=None):
    s = sock or guest.connect()
    try:
        if sock is None:
            s.sendall(b"UPLOAD %d\n" % len(data))
        s.sendall(data)
        return read_line(s).strip()
    finally:
        s.close()


def download(guest, n, seed):
    with guest.connect() as s:
        s.sendall(b"DOWNLOAD %d %d\n" % (n, seed))
        return read_exactly(s, n)


def stats(guest):
    with guest.connect() as s:
        s.sendall(b"STATS\n")
        words = read_line(s).split()
    return {k: int(v) for k, v in zip(words[0::2], words[1::2])}


@test
def net_dhcp_tcp_4mib_up_down_and_8_parallel():
    guest = Guest("net")
    try:
        up = guest.wait_for("net: up ")
        assert "net: up 10.0.2.15 (dhcp)" in up, up
        assert "ACCESS_PLATFORM true" in guest.wait_for("virtio-net: "), guest.log()

        # (a) 4 MiB upload, SHA-256 computed by the guest.
        data = os.urandom(4 * MIB)
        t0 = time.time()
        digest = upload(guest, data)
        up_s = time.time() - t0
        assert digest == hashlib.sha256(data).hexdigest(), f"upload digest {digest!r}\n{guest.log()}"

        # (b) 4 MiB download of the deterministic pattern.
        t0 = time.time()
        got = download(guest, 4 * MIB, 7)
        down_s = time.time() - t0
        assert len(got) == 4 * MIB, f"download got {len(got)} bytes"
        assert hashlib.sha256(got).digest() == hashlib.sha256(pattern(4 * MIB, 7)).digest(), "download content"

        # (c) 8 connections open at once: each sends its command and a first
        # piece, so all 8 are established in the guest before any finishes.
        size = 512 << 10
        blobs = [os.urandom(size) for _ in range(8)]
        socks = []
        for blob in blobs:
            s = guest.connect()
            s.sendall(b"UPLOAD %d\n" % size + blob[:1024])
            socks.append(s)
        # The STATS probe is itself an established connection when the guest
        # counts: all 8 uploads open at once show as 9.
        seen = 0
        for _ in range(100):
            seen = stats(guest)["concurrent-max"]
            if seen >= 9:
                break
            time.sleep(0.1)
        assert seen >= 9, f"guest saw at most {seen} concurrent connections (8 uploads + the probe = 9)"
        digests = run_parallel([lambda s=s, b=b: upload(guest, b[1024:], sock=s) for s, b in zip(socks, blobs)])
        for d, b in zip(digests, blobs):
            assert d == hashlib.sha256(b).hexdigest(), "parallel upload digest"
        outs = run_parallel([lambda seed=seed: download(guest, size, seed) for seed in range(8)])
        for seed, out in enumerate(outs):
            assert out == pattern(size, seed), f"parallel download {seed}"

        st = stats(guest)
        assert st["device-errors"] == 0, st
        print(f"net: upload 4 MiB {4 / up_s:.1f} MiB/s, download 4 MiB {4 / down_s:.1f} MiB/s (TCG), "
              f"concurrent max {st['concurrent-max']}, {st['rx-packets']} rx / {st['tx-packets']} tx packets")
    finally:
        rc = guest.stop()
    assert rc == EXIT_OK, f"QEMU exit {rc} after QUIT\n{guest.log()}"
    assert "net: quit requested" in "\n".join(guest.lines), guest.log()


@test
def net_static_config_tcp():
    guest = Guest("net-static")
    try:
        up = guest.wait_for("net: up ")
        assert "net: up 10.0.2.15 (static)" in up, up
        data = os.urandom(256 << 10)
        assert upload(guest, data) == hashlib.sha256(data).hexdigest()
        assert download(guest, 100_000, 200) == pattern(100_000, 200)
    finally:
        rc = guest.stop()
    assert rc == EXIT_OK, f"QEMU exit {rc} after QUIT\n{guest.log()}"


@test
def net_guest_tcp_client():
    """The guest connects out (FETCH) and hashes what the host sends."""
    data = os.urandom(4 * MIB)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.settimeout(60)
    served = []

    def serve():
        # QEMU's guestfwd connects once at start-up; the bytes reach the
        # guest when its client connection opens.
        conn, _ = listener.accept()
        with conn:
            conn.sendall(data)
        served.append(True)

    server = threading.Thread(target=serve, daemon=True)
    server.start()
    guest = Guest("net", guestfwd_port=listener.getsockname()[1])
    try:
        guest.wait_for("net: up ")
        with guest.connect() as s:
            s.sendall(b"FETCH %d\n" % len(data))
            answer = read_line(s).strip()
        assert answer == hashlib.sha256(data).hexdigest(), f"FETCH answer {answer!r}\n{guest.log()}"
        server.join(timeout=30)
        assert served, "host listener never served the guest"
    finally:
        rc = guest.stop()
        listener.close()
    assert rc == EXIT_OK, f"QEMU exit {rc} after QUIT\n{guest.log()}"


if __name__ == "__main__":
    main()
