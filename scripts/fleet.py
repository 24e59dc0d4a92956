#!/usr/bin/env python3
"""A fleet behind one address (issue 16; README "Scaling out"): N appliances
under QEMU, each with its own user network and API port on 127.0.0.1, all
fed by ONE key broker, and HAProxy in front on one 127.0.0.1 port.

HAProxy answers GET /.well-known/appliance-fleet itself from a static
listing file ({"version": 1, "nodes": [{"name", "url": "/node/NAME"}]}),
sends /node/NAME/... to node NAME with the prefix stripped, health-checks
every node on GET /.well-known/ohttp-gateway (inter 2s fall 2 rise 1: a
killed node answers 503 through the balancer within about 4 s; a busy one
may take up to 120 s to answer a check and stays up) and answers
404 for anything else. Its httplog lines (method, path, status, timings;
never bodies) go to a file.

As a module (tests, benchmarks):

    fleet = Fleet(3, image, manifest, sealed, key, workdir, accel="tcg")
    fleet.url, fleet.listing_url, fleet.haproxy_log
    fleet.nodes["node-2"]: .port .url .key_id .pcap (this boot's capture) .log() .alive()
    fleet.kill("node-2"); fleet.restart("node-2"); fleet.set_listing([...])
    fleet.server_status() -> {"node-1": "UP", "node-2": "DOWN", ...} (HAProxy's view)
    fleet.stop()

In WORKDIR: keybroker.log, haproxy.cfg, haproxy.log, appliance-fleet.json
(the listing) and per node NAME/config.json, NAME/serial.log (every boot)
and NAME/guest*.pcap. HAProxy runs master-worker in the foreground
(-W -db); set_listing reloads it with SIGUSR2 (same port, health states
kept through a server-state file, requests in flight finish).

As a command: `python3 scripts/fleet.py --nodes 3 [--smp 1] [--accel kvm|tcg]`
builds what is missing (the release tools; the sealed model and the pinned
image in out/fleet/), starts the fleet, prints the balancer's URL and the
appliance-client commands to use, and runs until Ctrl-C.
"""

import argparse
import atexit
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUN = os.path.join(ROOT, "qemu", "run.sh")
RELAY = os.path.join(ROOT, "tests", "tcp_relay.py")
RESOURCE = "appliance/key/model"
NAME_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,31}")
MAX_NODES = 16
BOOT_TIMEOUT = 600


def tool(name):
    """A host tool: $NAME (upper case, '-' as '_'), else target/release,
    else target/debug."""
    env = os.environ.get(name.upper().replace("-", "_"))
    if env:
        return env
    for profile in ("release", "debug"):
        p = os.path.join(ROOT, "target", profile, name)
        if os.path.isfile(p) and os.access(p, os.X_OK):
            return p
    raise FileNotFoundError(
        f"no {name} in target/release or target/debug: run "
        f"`cargo build --release --locked -p image-builder -p keybroker -p appliance-client`")


def haproxy_bin():
    """HAProxy: on PATH, else Debian's /usr/sbin/haproxy (not on a non-root
    user's PATH); None when neither."""
    found = shutil.which("haproxy")
    if found:
        return found
    return "/usr/sbin/haproxy" if os.access("/usr/sbin/haproxy", os.X_OK) else None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url, timeout=10):
    """(status, body) of a GET; (None, b"") when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except (OSError, urllib.error.URLError):
        return None, b""


def _kill_group(proc, term_grace=None):
    """Ends a process started with start_new_session and its whole group:
    SIGTERM first when term_grace is given (run.sh then removes its temp
    directory), SIGKILL otherwise or after the grace."""
    if proc is None:
        return
    if proc.poll() is None:
        try:
            if term_grace:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=term_grace)
                except subprocess.TimeoutExpired:
                    pass
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    else:
        # The leader is gone; kill what may be left of its group (QEMU
        # under an exited run.sh, an old haproxy worker).
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        pass


class Node:
    """One appliance: run.sh + QEMU in their own process group, API on
    127.0.0.1:port, traffic captured to .pcap (one file per boot), serial
    output kept in memory (this boot) and in serial.log (all boots)."""

    def __init__(self, name, key_id, port, dir, start_args):
        self.name = name
        self.key_id = key_id
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.dir = dir
        self.boots = 0
        self.proc = None
        self.pcap = None
        self.pcaps = []
        self.lines = []
        self._start_args = start_args  # (image, sealed, broker_port, smp, accel)
        os.makedirs(dir, exist_ok=True)
        self.config = os.path.join(dir, "config.json")
        with open(self.config, "w") as f:
            json.dump({"listen_port": 8080, "kbs": {"host": "10.0.2.100", "port": 8081},
                       "resource_path": RESOURCE, "log_level": "info",
                       "ohttp_key_id": key_id}, f)

    def start(self):
        """Boots the appliance (does not wait for it)."""
        image, sealed, broker_port, smp, accel = self._start_args
        self.boots += 1
        self.pcap = os.path.join(self.dir, "guest.pcap" if self.boots == 1
                                 else f"guest-boot{self.boots}.pcap")
        self.pcaps.append(self.pcap)
        self.lines = []
        netdev = (f"user,id=n0,restrict=on,"
                  f"guestfwd=tcp:10.0.2.100:8081-cmd:{sys.executable} {RELAY} {broker_port},"
                  f"hostfwd=tcp:127.0.0.1:{self.port}-:8080")
        args = [RUN, "--image", image, "--mem", "512M", "--smp", str(smp)]
        if accel:
            args += ["--accel", accel]
        args += ["--fw-cfg", f"opt/appliance/config,file={self.config}",
                 "--fw-cfg", f"opt/appliance/model.sealed,file={sealed}",
                 "--", "-netdev", netdev,
                 "-device", "virtio-net-pci,netdev=n0,disable-legacy=on,iommu_platform=on,romfile=",
                 "-object", f"filter-dump,id=cap0,netdev=n0,file={self.pcap}"]
        env = dict(os.environ)
        env.setdefault("IMAGE_BUILDER", tool("image-builder"))
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, errors="replace", start_new_session=True, env=env)
        proc, lines, boot = self.proc, self.lines, self.boots
        serial = open(os.path.join(self.dir, "serial.log"), "a")
        serial.write(f"--- boot {boot} ---\n")
        serial.flush()

        def read():
            with serial:
                for line in proc.stdout:
                    lines.append(line.rstrip("\n"))
                    serial.write(line)
                    serial.flush()
        self._reader = threading.Thread(target=read, daemon=True)
        self._reader.start()

    def log(self, last=None):
        """This boot's serial output (the last `last` lines with a number)."""
        lines = list(self.lines)
        return "\n".join(lines[-last:] if last else lines)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def ready(self):
        """True once the guest serves; raises if it exited before."""
        if any("http: up " in l for l in list(self.lines)):
            return True
        if self.proc.poll() is not None:
            self._reader.join(timeout=5)
            if any("http: up " in l for l in list(self.lines)):
                return True
            raise RuntimeError(f"{self.name} exited ({self.proc.returncode}) before serving; "
                               f"last lines of its log:\n{self.log(30)}")
        return False

    def wait_ready(self, timeout=BOOT_TIMEOUT):
        deadline = time.time() + timeout
        while not self.ready():
            if time.time() > deadline:
                raise RuntimeError(f"{self.name} did not print 'http: up ' within {timeout} s; "
                                   f"last lines of its log:\n{self.log(30)}")
            time.sleep(0.2)

    def kill(self, term_grace=None):
        _kill_group(self.proc, term_grace)
        if self.proc is not None:
            self._reader.join(timeout=5)


class Fleet:
    def __init__(self, n, image, manifest, sealed, key, workdir, smp=1, accel=None, names=None,
                 log=print):
        if not isinstance(n, int) or not 1 <= n <= MAX_NODES:
            raise ValueError(f"a fleet has 1 to {MAX_NODES} nodes, not {n!r}")
        names = list(names) if names is not None else [f"node-{i}" for i in range(1, n + 1)]
        if len(names) != n:
            raise ValueError(f"{len(names)} names for {n} nodes")
        for nm in names:
            if not NAME_RE.fullmatch(nm):
                raise ValueError(f"node name {nm!r} is not [a-z0-9][a-z0-9-]{{0,31}}")
        if len(set(names)) != n:
            raise ValueError(f"node names are not unique: {names}")
        self.haproxy_bin = haproxy_bin()
        if not self.haproxy_bin:
            raise FileNotFoundError("no haproxy here: run `bash scripts/setup.sh` "
                                    "(or `sudo apt-get install haproxy`)")
        for what, path in (("image", image), ("manifest", manifest), ("sealed model", sealed),
                           ("model key", key)):
            if not os.path.isfile(path):
                raise FileNotFoundError(f"no {what} at {path}")
        self.log_fn = log
        self.image, self.manifest, self.sealed, self.key = image, manifest, sealed, key
        self.workdir = os.path.abspath(workdir)
        os.makedirs(self.workdir, exist_ok=True)
        self.nodes = {}
        self.broker = self.haproxy = None
        self._stopped = False
        self._lock = threading.Lock()
        atexit.register(self.stop)
        try:
            self._start(names, smp, accel)
        except BaseException:
            self.stop()
            raise

    def _start(self, names, smp, accel):
        t0 = time.time()
        kb = tool("keybroker")
        resources = os.path.join(self.workdir, "resources")
        # The key is bound to this image's launch digests.
        p = subprocess.run([kb, "add-resource", "--resources", resources, "--path", RESOURCE,
                            "--file", self.key, "--manifest", self.manifest],
                           capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError(f"keybroker add-resource failed:\n{p.stdout}{p.stderr}")
        self.broker_port = free_port()
        self.broker_log = os.path.join(self.workdir, "keybroker.log")
        with open(self.broker_log, "ab") as out:
            self.broker = subprocess.Popen(
                [kb, "serve", "--listen", f"127.0.0.1:{self.broker_port}", "--manifest",
                 self.manifest, "--resources", resources, "--insecure-allow-sample"],
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        self.log_fn(f"key broker on 127.0.0.1:{self.broker_port} "
                    f"(sample evidence allowed: no SNP hardware)")

        start_args = (self.image, self.sealed, self.broker_port, smp, accel)
        for i, name in enumerate(names, 1):
            self.nodes[name] = Node(name, i, free_port(), os.path.join(self.workdir, name),
                                    start_args)
        for node in self.nodes.values():
            node.start()
        self.log_fn(f"booting {len(names)} appliances: " +
                    ", ".join(f"{n.name} on 127.0.0.1:{n.port}" for n in self.nodes.values()))
        deadline = time.time() + BOOT_TIMEOUT
        waiting = dict(self.nodes)
        while waiting:
            for name, node in list(waiting.items()):
                if node.ready():  # raises for a node that exited
                    del waiting[name]
                    self.log_fn(f"{name} serves ({time.time() - t0:.0f} s)")
            if waiting and time.time() > deadline:
                name, node = next(iter(waiting.items()))
                raise RuntimeError(f"{name} did not print 'http: up ' within {BOOT_TIMEOUT} s; "
                                   f"last lines of its log:\n{node.log(30)}")
            time.sleep(0.2)

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.listing_url = self.url + "/.well-known/appliance-fleet"
        self.listing_file = os.path.join(self.workdir, "appliance-fleet.json")
        self.haproxy_cfg = os.path.join(self.workdir, "haproxy.cfg")
        self.haproxy_log = os.path.join(self.workdir, "haproxy.log")
        self.haproxy_sock = os.path.join(self.workdir, "haproxy.sock")
        if len(self.haproxy_sock) > 100:  # a Unix socket path holds at most 107 bytes
            self.haproxy_sock = os.path.join(tempfile.mkdtemp(prefix="fleet-"), "haproxy.sock")
        self.haproxy_state = os.path.join(self.workdir, "haproxy.state")
        open(self.haproxy_state, "w").close()
        self._write_listing([{"name": n, "url": f"/node/{n}"} for n in self.nodes])
        self._write_cfg()
        self._start_haproxy()
        self.wait_balanced()
        self.log_fn(f"balancer {self.url} in front of {len(self.nodes)} nodes, "
                    f"all UP ({time.time() - t0:.0f} s after start)")

    # --- HAProxy -----------------------------------------------------------

    def _write_listing(self, nodes):
        for e in nodes:
            if set(e) - {"name", "url"} or not {"name", "url"} <= set(e):
                raise ValueError(f"listing entries are {{'name', 'url'}}, not {e!r}")
        tmp = self.listing_file + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"version": 1, "nodes": list(nodes)}, f)
            f.write("\n")
        os.replace(tmp, self.listing_file)

    def _write_cfg(self):
        cfg = [
            "# Generated by scripts/fleet.py: one frontend for the fleet (see README, Scaling out).",
            "global",
            "    log stdout format raw local0",
            f"    stats socket {self.haproxy_sock} mode 600 level admin",
            "    # Health states carried over a reload (set_listing).",
            f"    server-state-file {self.haproxy_state}",
            "",
            "defaults",
            "    mode http",
            "    log global",
            "    option httplog",
            "    load-server-state-from-file global",
            "    timeout connect 2s",
            "    # Inference under TCG is slow.",
            "    timeout client 300s",
            "    timeout server 300s",
            "    # An appliance does not answer while it computes a batch (its network",
            "    # loop waits), so a check may take as long as the longest request:",
            "    # busy is not dead. A killed node refuses the connection at once.",
            "    timeout check 120s",
            "",
            "frontend fleet",
            f"    bind 127.0.0.1:{self.port}",
            "    http-request return status 200 content-type application/json "
            f"file {self.listing_file} if {{ path /.well-known/appliance-fleet }} {{ method GET }}",
        ]
        for name in self.nodes:
            cfg.append(f"    use_backend node_{name} if {{ path_beg /node/{name}/ }}")
        cfg += ["    default_backend not_found", "",
                "backend not_found",
                "    http-request return status 404 content-type text/plain string \"not found\\n\"",
                ""]
        for name, node in self.nodes.items():
            cfg += [f"backend node_{name}",
                    f"    http-request replace-path ^/node/{name}(/.*)$ \\1",
                    "    option httpchk GET /.well-known/ohttp-gateway",
                    "    http-check expect status 200",
                    f"    server {name} 127.0.0.1:{node.port} check inter 2s fall 2 rise 1",
                    ""]
        with open(self.haproxy_cfg, "w") as f:
            f.write("\n".join(cfg))
        p = subprocess.run([self.haproxy_bin, "-c", "-q", "-f", self.haproxy_cfg],
                           capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError(f"haproxy -c rejected {self.haproxy_cfg}:\n{p.stdout}{p.stderr}")

    def _start_haproxy(self):
        with open(self.haproxy_log, "ab") as out:
            # Master-worker (-W) in the foreground (-db): SIGUSR2 to the
            # master reloads; the old worker finishes its connections.
            self.haproxy = subprocess.Popen([self.haproxy_bin, "-W", "-db", "-f", self.haproxy_cfg],
                                            stdout=out, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, start_new_session=True)

    def haproxy_command(self, command):
        """One command on HAProxy's stats socket (e.g. "show stat"); its
        answer, or None when HAProxy does not answer."""
        try:
            with socket.socket(socket.AF_UNIX) as s:
                s.settimeout(5)
                s.connect(self.haproxy_sock)
                s.sendall(command.encode() + b"\n")
                data = b""
                while chunk := s.recv(65536):
                    data += chunk
        except OSError:
            return None
        return data.decode(errors="replace")

    def _stats(self):
        """HAProxy's view: {server name: status} ("UP", "DOWN", "UP 1/2", ...)."""
        lines = (self.haproxy_command("show stat") or "").splitlines()
        if not lines or not lines[0].startswith("# "):
            return {}
        head = lines[0][2:].split(",")
        out = {}
        for line in lines[1:]:
            row = dict(zip(head, line.split(",")))
            if row.get("svname") in self.nodes and row.get("pxname") == f"node_{row['svname']}":
                out[row["svname"]] = row.get("status", "")
        return out

    def server_status(self, name=None):
        """HAProxy's health view of one node ("UP", "DOWN", "UP 1/2", ...
        or "" when HAProxy does not answer), or of all of them as a dict."""
        s = self._stats()
        return s.get(name, "") if name else s

    def wait_balanced(self, timeout=60, names=None):
        """Until the balancer serves the listing and every node (or the
        given ones) is UP in HAProxy's view and answers through it."""
        names = list(names or self.nodes)
        pending = ["listing", *names]
        deadline = time.time() + timeout
        while True:
            if self.haproxy.poll() is not None:
                raise RuntimeError(f"haproxy exited ({self.haproxy.returncode}):\n"
                                   f"{tail(self.haproxy_log, 30)}")
            # Each thing once it is ready: the polls are in HAProxy's log.
            if "listing" in pending and http_get(self.listing_url, timeout=5)[0] == 200:
                pending.remove("listing")
            if "listing" not in pending:
                stats = self._stats()
                for name in [p for p in pending if p != "listing"]:
                    if stats.get(name) == "UP" and http_get(
                            f"{self.url}/node/{name}/.well-known/ohttp-gateway",
                            timeout=10)[0] == 200:
                        pending.remove(name)
            if not pending:
                return
            if time.time() > deadline:
                raise RuntimeError(f"the balancer is not ready after {timeout} s "
                                   f"(waiting for {', '.join(pending)}; haproxy view "
                                   f"{self._stats()}):\n{tail(self.haproxy_log, 30)}")
            time.sleep(0.3)

    # --- operations ----------------------------------------------------------

    def kill(self, name):
        """SIGKILL to that node's run.sh + QEMU; HAProxy keeps running and
        marks it down after two failed checks (about 4 s)."""
        node = self.nodes[name]
        node.kill()
        self.log_fn(f"killed {name}")

    def restart(self, name, wait=True):
        """Boots that node again: same API port and key id (the OHTTP key
        itself is fresh every boot); waits for 'http: up ' and, with wait,
        until HAProxy has it UP again."""
        node = self.nodes[name]
        node.kill(term_grace=5)
        t0 = time.time()
        node.start()
        node.wait_ready()
        self.log_fn(f"{name} serves again ({time.time() - t0:.0f} s)")
        if wait:
            self.wait_balanced(names=[name])

    def set_listing(self, nodes):
        """Rewrites the static listing (a list of {"name", "url"}; any
        names and URLs, also ones the balancer does not route) and reloads
        HAProxy (it reads the file once, at start): same port, health states
        carried over, requests in flight finish on the old worker. Routing
        does not change: /node/NAME/ still reaches every node of the fleet."""
        nodes = list(nodes)
        self._write_listing(nodes)
        state = self.haproxy_command("show servers state")
        if state is not None:
            with open(self.haproxy_state, "w") as f:
                f.write(state)
        self.haproxy.send_signal(signal.SIGUSR2)
        deadline = time.time() + 30
        want = json.dumps({"version": 1, "nodes": nodes}).encode()
        while True:
            status, body = http_get(self.listing_url, timeout=5)
            if status == 200 and json.loads(body) == json.loads(want):
                break
            if self.haproxy.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"haproxy did not come back with the new listing:\n"
                                   f"{tail(self.haproxy_log, 30)}")
            time.sleep(0.2)
        self.log_fn(f"listing now {[e['name'] for e in nodes]}")

    def stop(self):
        """Stops HAProxy, every node and the broker; idempotent."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
        _kill_group(self.haproxy, term_grace=5)
        for node in self.nodes.values():
            node.kill(term_grace=5)
        _kill_group(self.broker, term_grace=5)


def tail(path, n):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError:
        return ""


# --- the command -------------------------------------------------------------

def main(argv=None):
    ap = argparse.ArgumentParser(
        description="Start N appliances under QEMU, one key broker and HAProxy in front "
                    "(127.0.0.1 only); runs until Ctrl-C.")
    ap.add_argument("--nodes", type=int, default=3, help=f"1 to {MAX_NODES} (default 3)")
    ap.add_argument("--smp", type=int, default=1, help="vCPUs per appliance (default 1)")
    ap.add_argument("--accel", choices=("kvm", "tcg"),
                    help="default: KVM when it works here, TCG otherwise")
    ap.add_argument("--rebuild", action="store_true",
                    help="quantize, seal and build the image again even if out/fleet/ has them")
    args = ap.parse_args(argv)
    if not 1 <= args.nodes <= MAX_NODES:
        ap.error(f"--nodes must be between 1 and {MAX_NODES}")
    if args.smp < 1:
        ap.error("--smp must be at least 1")
    if not haproxy_bin():
        sys.exit("[fleet] no haproxy here: run `bash scripts/setup.sh` first")
    if not shutil.which("qemu-system-x86_64"):
        sys.exit("[fleet] no qemu-system-x86_64 here: run `bash scripts/setup.sh` first")

    release = os.path.join(ROOT, "target", "release")
    if not all(os.path.isfile(os.path.join(release, t))
               for t in ("image-builder", "keybroker", "appliance-client")):
        print("[fleet] building image-builder, keybroker and appliance-client (release)", flush=True)
        p = subprocess.run(["cargo", "build", "--locked", "--release", "-q", "-p", "image-builder",
                            "-p", "keybroker", "-p", "appliance-client"], cwd=ROOT)
        if p.returncode != 0:
            sys.exit("[fleet] cargo build failed (did `bash scripts/setup.sh` run?)")

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import demo

    work = os.path.join(ROOT, "out", "fleet")
    built_file = os.path.join(work, "built.json")
    built = None
    if not args.rebuild and os.path.isfile(built_file):
        built = json.load(open(built_file))
        if not all(os.path.isfile(built.get(k, "")) for k in ("image", "manifest", "sealed", "key")):
            built = None
    if built is None:
        built = demo.build_artifacts(work, log=lambda m: print(f"[fleet] {m}", flush=True))
        with open(built_file, "w") as f:
            json.dump(built, f, indent=1)
    else:
        print(f"[fleet] using the sealed model and image in {work} (--rebuild to redo)", flush=True)

    os.makedirs(work, exist_ok=True)
    run_dir = tempfile.mkdtemp(prefix="run-", dir=work)
    print(f"[fleet] logs, configs and captures in {run_dir}", flush=True)
    def interrupted(*_):
        raise KeyboardInterrupt
    # Also when started in the background, where SIGINT arrives ignored.
    signal.signal(signal.SIGINT, interrupted)
    signal.signal(signal.SIGTERM, interrupted)
    fleet = None
    try:
        fleet = Fleet(args.nodes, built["image"], built["manifest"], built["sealed"],
                      built["key"], run_dir, smp=args.smp, accel=args.accel,
                      log=lambda m: print(f"[fleet] {m}", flush=True))
        client = os.path.join(release, "appliance-client")
        m = built["manifest"]
        print(f"\nbalancer: {fleet.url}")
        print(f"listing:  {fleet.listing_url}")
        print("  " + open(fleet.listing_file).read().strip())
        for n in fleet.nodes.values():
            print(f"  {n.name}: {fleet.url}/node/{n.name}/  (direct 127.0.0.1:{n.port}, "
                  f"key id {n.key_id})")
        print("\nverify every node:")
        print(f"  {client} verify --fleet {fleet.url} --manifest {m} --insecure")
        print("OpenAI-compatible endpoint spreading requests over the verified nodes:")
        print(f"  {client} proxy --fleet {fleet.url} --manifest {m} --insecure "
              f"--listen 127.0.0.1:8000")
        print(f"HAProxy's request log: {fleet.haproxy_log}")
        print("\nCtrl-C stops everything.", flush=True)
        reported = set()
        while True:
            time.sleep(1)
            for n in fleet.nodes.values():
                if not n.alive() and n.name not in reported:
                    reported.add(n.name)
                    print(f"[fleet] {n.name} exited ({n.proc.returncode}); the balancer answers "
                          f"503 for it. Last lines of its log:\n{n.log(30)}", flush=True)
    except KeyboardInterrupt:
        pass
    except (RuntimeError, FileNotFoundError, ValueError) as e:
        print(f"[fleet] {e}", file=sys.stderr)
        return 1
    finally:
        print("\n[fleet] stopping", flush=True)
        if fleet is not None:
            fleet.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
