"""End-to-end tests of a fleet (issue 16): three appliances under QEMU, one
key broker, HAProxy in front on 127.0.0.1 (scripts/fleet.py starts them
all), and `appliance-client verify|proxy --fleet` verifying every node the
balancer lists before it sends any node a request.

The balancer and its listing are untrusted: the tests give the client a
listing with an impostor node (a fake serving a real node's document with
another measurement) and a plain HTTP server, and check that only those
two are refused and that neither ever receives a request. All traffic
between the client and the balancer passes through a recording relay, and
each node's traffic is captured by QEMU's filter-dump: no prompt appears in
either, nor in HAProxy's log.
"""

import atexit
import http.server
import json
import os
import re
import select
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import e2e_keyrelease as kr
import e2e_serving as serving
from harness import free_port, main, test

sys.path.insert(0, os.path.join(kr.ROOT, "scripts"))
import fleet as fleet_launcher  # noqa: E402

CLIENT = serving.CLIENT
NODES = ("node-1", "node-2", "node-3")
_fleet = None


def fleet():
    """The three-node fleet, started once for every test here."""
    global _fleet
    if _fleet is None:
        b = serving.built()
        work = os.path.join(b["dir"], "fleet")
        os.environ.setdefault("KEYBROKER", kr.KB)
        _fleet = fleet_launcher.Fleet(3, b["image"], b["manifest"], b["sealed"], b["key"], work,
                                      accel=os.environ.get("E2E_ACCEL", "tcg"),
                                      log=lambda s: print(f"    [fleet] {s}", flush=True))
        atexit.register(_fleet.stop)
    return _fleet


class Recorder:
    """A TCP relay on 127.0.0.1 that forwards to `port` and keeps every
    byte in both directions (the client's view of the balancer's traffic)."""

    def __init__(self, port):
        self.target = port
        self.bytes = bytearray()
        self.lock = threading.Lock()
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._relay, args=(c,), daemon=True).start()

    def _relay(self, c):
        try:
            u = socket.create_connection(("127.0.0.1", self.target), timeout=10)
        except OSError:
            c.close()
            return
        peers = {c: u, u: c}
        try:
            while peers:
                readable, _, _ = select.select(list(peers), [], [], 300)
                if not readable:
                    break
                for s in readable:
                    data = s.recv(65536)
                    if not data:
                        raise EOFError
                    with self.lock:
                        self.bytes += data
                    peers[s].sendall(data)
        except (OSError, EOFError):
            pass
        finally:
            c.close()
            u.close()

    def close(self):
        self.server.close()


class Proxy:
    """`appliance-client proxy --fleet URL` on a free loopback port."""

    def __init__(self, fleet_url, refresh_secs=2, extra=()):
        self.port = free_port()
        self.proc = subprocess.Popen(
            [CLIENT, "proxy", "--listen", f"127.0.0.1:{self.port}", "--fleet", fleet_url,
             "--manifest", serving.built()["manifest"], "--insecure",
             "--refresh-secs", str(refresh_secs), *extra],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines = []
        threading.Thread(target=lambda: self.lines.extend(l.rstrip() for l in self.proc.stdout),
                         daemon=True).start()
        self.wait_for("proxy listening on", 180)
        self.url = f"http://127.0.0.1:{self.port}/v1/embeddings"

    def wait_for(self, pattern, timeout=120, after=0):
        """The first line from `after` on matching `pattern` (a regex)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            for line in self.lines[after:]:
                if re.search(pattern, line):
                    return line
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise AssertionError(f"proxy: no line matching {pattern!r}:\n" + "\n".join(self.lines[-40:]))

    def embed(self, texts):
        """(status, vectors or the error body)."""
        req = urllib.request.Request(self.url, data=serving.embeddings_json(texts), method="POST",
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=600) as r:
                body = json.loads(r.read())
                status = r.status
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode(errors="replace")
        vectors = [d["embedding"] for d in sorted(body["data"], key=lambda d: d["index"])]
        return status, vectors

    def served_by(self):
        """Node names of the `... via NODE` request lines so far, in order."""
        return [m.group(1) for l in self.lines
                for m in [re.search(r"POST /v1/embeddings -> 200 .* via (\S+)", l)] if m]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)


def get(url, timeout=60):
    """GET through the balancer, waiting out a 503 while its health check
    has not yet seen a (re)started node."""
    deadline = time.time() + timeout
    while True:
        try:
            return urllib.request.urlopen(url, timeout=30).read()
        except urllib.error.HTTPError as e:
            if e.code != 503 or time.time() > deadline:
                raise
        time.sleep(0.5)


def verify_fleet(url, *extra):
    p = subprocess.run([CLIENT, "verify", "--fleet", url, "--manifest", serving.built()["manifest"],
                        "--insecure", *extra], capture_output=True, text=True, timeout=300)
    return p.returncode, p.stdout, p.stderr


def node_lines(out):
    """{node name: 'verified'|'refused'} from `verify --fleet` lines."""
    found = {}
    for line in out.splitlines():
        m = re.match(r"^(\S+) (verified|refused)\b", line)
        if m:
            found[m.group(1)] = m.group(2)
    return found


@test
def fleet_verifies_every_node_and_spreads_requests_like_the_host():
    f = fleet()
    code, out, err = verify_fleet(f.listing_url)
    assert code == 0, out + err
    assert node_lines(out) == {n: "verified" for n in NODES}, out
    key_ids = sorted(int(m) for m in re.findall(r"key id (\d+)", out))
    assert key_ids == [1, 2, 3], out
    proxy = Proxy(f.url)
    try:
        texts = [f"fleet sentence number {i}" for i in range(9)]
        want = serving.host_embeddings(texts)
        results = {}

        def one(i):
            results[i] = proxy.embed([texts[i]])

        threads = [threading.Thread(target=one, args=(i,)) for i in range(len(texts))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=600)
        for i, text in enumerate(texts):
            status, vectors = results[i]
            assert status == 200, (text, status, vectors)
            assert vectors == [want[i]], f"answer {i} differs from the host engine"
        used = proxy.served_by()
        assert set(used) == set(NODES), f"requests went to {used}"
        # The balancer's own log agrees: every node got encapsulated POSTs.
        log = open(f.haproxy_log).read()
        for n in NODES:
            assert re.search(rf"POST /node/{n}/ ", log), f"no POST for {n} in HAProxy's log"
        print(f"    9 requests: {', '.join(f'{n} {used.count(n)}' for n in NODES)}")
    finally:
        proxy.stop()


@test
def fleet_node_killed_mid_run_loses_no_request_and_returns_with_a_new_key():
    f = fleet()
    keys_url = f.url + "/node/node-2/.well-known/ohttp-gateway"
    old_keys = get(keys_url)
    proxy = Proxy(f.url)
    try:
        texts = [f"survive the loss of a node {i}" for i in range(12)]
        want = serving.host_embeddings(texts)
        results = {}
        started = threading.Semaphore(0)

        def worker(indices):
            for i in indices:
                started.release()
                results[i] = proxy.embed([texts[i]])

        threads = [threading.Thread(target=worker, args=(range(k, 12, 3),)) for k in range(3)]
        for t in threads:
            t.start()
        for _ in range(4):
            started.acquire(timeout=600)
        f.kill("node-2")
        for t in threads:
            t.join(timeout=900)
        for i in range(12):
            status, vectors = results[i]
            assert status == 200, (i, status, vectors)
            assert vectors == [want[i]], f"answer {i} differs from the host engine"
        # "down" is only ever set by a request that failed there and was
        # retried on another node (the refresh leaves verified nodes alone).
        down = proxy.wait_for(r"node-2 down", 60)
        # Before the restart: the proxy's refresh may verify the node again
        # before restart() returns.
        mark = len(proxy.lines)
        f.restart("node-2")
        new_keys = get(keys_url)
        assert new_keys != old_keys, "the restarted node serves its old key"
        proxy.wait_for(r"node-2 verified", 120, after=mark)
        # Least busy with every node idle rotates: within a few requests
        # the returned node serves again, with its new key.
        before = len(proxy.served_by())
        for i in range(6):
            status, vectors = proxy.embed([texts[i]])
            assert status == 200 and vectors == [want[i]], (status, vectors)
            if "node-2" in proxy.served_by()[before:]:
                break
        assert "node-2" in proxy.served_by()[before:], "\n".join(proxy.lines[-20:])
        print(f"    12 answered; {down.strip()}; back with a new key and used again")
    finally:
        proxy.stop()


class Fake(http.server.ThreadingHTTPServer):
    """A node impostor on 127.0.0.1: serves fixed GET answers and records
    any POST (none may come)."""

    def __init__(self, routes):
        self.routes, self.posts = routes, []
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                status, ctype, body = fake.routes.get(self.path, (404, "text/html", b"<h1>no</h1>"))
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                fake.posts.append(self.path)
                self.send_response(500)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server_address[1]}"
        threading.Thread(target=self.serve_forever, daemon=True).start()


@test
def fleet_listing_with_an_impostor_and_a_plain_server_refuses_only_those():
    f = fleet()
    doc = json.loads(get(f.url + "/node/node-1/v1/attestation"))
    keys = get(f.url + "/node/node-1/.well-known/ohttp-gateway")
    assert doc["evidence"]["tee"] == "sample", doc["evidence"]["tee"]
    # node-1's own document and key, claiming a launch digest the manifest
    # does not list.
    doc["evidence"]["measurement"] = "ab" * 48
    impostor = Fake({"/v1/attestation": (200, "application/json", json.dumps(doc).encode()),
                     "/.well-known/ohttp-gateway": (200, "application/ohttp-keys", keys)})
    plain = Fake({"/": (200, "text/html", b"<html>It works!</html>")})
    listing = [{"name": n, "url": f"/node/{n}"} for n in NODES]
    listing += [{"name": "impostor", "url": impostor.url}, {"name": "plain", "url": plain.url}]
    f.set_listing(listing)
    proxy = None
    try:
        # Without the flag, nodes off the balancer are refused for that alone.
        code, out, err = verify_fleet(f.listing_url)
        assert code == 1, out + err
        assert node_lines(out) == {**{n: "verified" for n in NODES},
                                   "impostor": "refused", "plain": "refused"}, out
        assert re.search(r"^plain refused: .*allow-absolute-node-urls", out, re.M), out
        absolute = "--allow-absolute-node-urls"
        code, out, err = verify_fleet(f.listing_url, absolute)
        assert code == 1, out + err
        assert node_lines(out) == {**{n: "verified" for n in NODES},
                                   "impostor": "refused", "plain": "refused"}, out
        assert re.search(r"^impostor refused: .*measurement", out, re.M), out
        proxy = Proxy(f.url, extra=[absolute])
        for i in range(6):
            status, vectors = proxy.embed([f"only verified nodes {i}"])
            assert status == 200, (status, vectors)
        assert set(proxy.served_by()) <= set(NODES), proxy.served_by()
        assert impostor.posts == [] and plain.posts == [], (impostor.posts, plain.posts)
        print(f"    impostor and plain server refused; 6 requests on {sorted(set(proxy.served_by()))}")
    finally:
        if proxy:
            proxy.stop()
        f.set_listing([{"name": n, "url": f"/node/{n}"} for n in NODES])
        impostor.shutdown()
        plain.shutdown()


@test
def fleet_balancer_log_and_traffic_hold_no_prompt():
    f = fleet()
    recorder = Recorder(int(f.url.rsplit(":", 1)[1]))
    proxy = Proxy(f"http://127.0.0.1:{recorder.port}")
    try:
        prompt = f"My {serving.PROMPT_MARKER} account number is private"
        for _ in range(3):  # at least one request per node is likely; all are checked
            status, vectors = proxy.embed([prompt])
            assert status == 200, (status, vectors)
        time.sleep(1)  # let filter-dump write the last packets
        wire = bytes(recorder.bytes)
        assert b"message/ohttp-req" in wire and b"/.well-known/appliance-fleet" in wire, len(wire)
        captures = [open(f.nodes[n].pcap, "rb").read() for n in NODES]
        assert any(b"message/ohttp-req" in c for c in captures), "the node captures hold no request"
        log = open(f.haproxy_log, "rb").read()
        assert b"/node/node-1/" in log, "HAProxy's log has no request lines: it proves nothing"
        for where, data in [("client-balancer traffic", wire), ("HAProxy log", log),
                            *((f"{n} capture", c) for n, c in zip(NODES, captures))]:
            for form in (prompt.encode(), serving.PROMPT_MARKER.encode(),
                         serving.PROMPT_MARKER.upper().encode(), prompt.encode("utf-16-le")):
                assert form not in data, f"prompt text in the {where}"
        proxy_out = "\n".join(proxy.lines)
        assert serving.PROMPT_MARKER not in proxy_out
    finally:
        proxy.stop()
        recorder.close()


if __name__ == "__main__":
    main(sys.argv[1:] or None)
