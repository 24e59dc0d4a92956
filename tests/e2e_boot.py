"""End-to-end tests of issue 2: boot, measurement, reproducibility.

Expects `image-builder build --out out` and `image-builder build --test-image
--out out/test` to have run (scripts/test.sh does). Boots that ask for a
self-test use the test image: the production image has none.
"""

import hashlib
import os
import re
import shutil
import sys
import tempfile
import time

from harness import ROOT, LineProcess, Skip, main, run_cmd, test

OUT = os.path.join(ROOT, "out")
IMAGE = os.path.join(OUT, "appliance.bin")
TEST_IMAGE = os.path.join(OUT, "test", "appliance.bin")
IB = os.path.join(ROOT, "target", "debug", "image-builder")
RUN = os.path.join(ROOT, "qemu", "run.sh")
EXIT_OK, EXIT_FAIL = 33, 35


def accelerators():
    """TCG always; KVM only where it boots this image (qemu/accel.sh)."""
    p = run_cmd([os.path.join(ROOT, "qemu", "accel.sh"), TEST_IMAGE], env={**os.environ, "APPLIANCE_ACCEL": ""})
    return ["tcg", "kvm"] if p.stdout.strip() == "kvm" else ["tcg"]


ACCELS = None


def boot(accel, *, mem="256M", smp=1, selftest="exit", image=TEST_IMAGE, timeout=120):
    p = run_cmd([RUN, "--image", image, "--accel", accel, "--mem", mem, "--smp", str(smp),
                 "--selftest", selftest], timeout=timeout)
    return p.returncode, p.stdout


def each_accel(fn):
    global ACCELS
    if ACCELS is None:
        ACCELS = accelerators()
        if "kvm" not in ACCELS:
            print("note: KVM is not usable on this machine (see qemu/accel.sh); KVM cases run as TCG only")
    for a in ACCELS:
        fn(a)


@test
def boots_to_ready_1_vcpu():
    def one(accel):
        rc, out = boot(accel)
        assert rc == EXIT_OK, f"{accel}: exit {rc}\n{out}"
        ready = [l for l in out.splitlines() if "appliance ready" in l]
        assert len(ready) == 1, f"{accel}: expected one ready line:\n{out}"
    each_accel(one)


@test
def kvm_boot():
    global ACCELS
    if ACCELS is None:
        ACCELS = accelerators()
    if "kvm" not in ACCELS:
        raise Skip("no usable KVM here: /dev/kvm missing or it cannot boot the image (qemu/accel.sh says why)")
    rc, out = boot("kvm")
    assert rc == EXIT_OK and "appliance ready" in out, out


@test
def boots_with_1_2_4_and_8_vcpus_every_ap_reporting_in():
    def one(accel):
        for smp in (1, 2, 4, 8):
            rc, out = boot(accel, smp=smp)
            assert rc == EXIT_OK and out.count("appliance ready") == 1, f"{accel} smp {smp}: exit {rc}\n{out}"
            assert f"smp: {smp} vCPUs, {smp - 1} APs working" in out, f"{accel} smp {smp}:\n{out}"
    each_accel(one)


def heap_case(mem, expect_mib):
    def one(accel):
        rc, out = boot(accel, mem=mem, selftest="heap,exit", timeout=600)
        assert rc == EXIT_OK, f"{accel}: exit {rc}\n{out}"
        assert "heap test: ok" in out, out
        line = next(l for l in out.splitlines() if l.startswith("heap test: touched"))
        touched = int(line.split()[3])
        # The heap is RAM minus low memory, the kernel region and the frame pool.
        assert touched >= expect_mib, f"only {touched} MiB touched: {line}"
        print(f"     [{accel}, {mem}] {line}")
    each_accel(one)


@test
def heap_uses_all_of_256m():
    heap_case("256M", 230)


@test
def heap_uses_all_of_1g():
    heap_case("1G", 950)


@test
def deliberate_fault_reports_vector_and_rip():
    """The test image faults after boot (late, self-test word `fault`), or,
    with fw_cfg `opt/appliance/fault-early`, right after the IDT is loaded
    and before any SNP set-up, by reading the unmapped guard page below the
    boot stack. Both must print the vector, not reset (a triple fault would
    exit 0 with -no-reboot and print nothing)."""
    with tempfile.TemporaryDirectory() as d:
        rc, out = boot("tcg", selftest="fault")
        assert rc == EXIT_FAIL, f"exit {rc}\n{out}"
        assert "appliance ready" in out, out
        exc = [l for l in out.splitlines() if l.startswith("EXCEPTION vector=14")]
        assert exc and "rip=0x" in exc[0] and "error_code=0x" in exc[0], out

        flag = os.path.join(d, "fault-early")
        open(flag, "w").write("1")
        p = run_cmd([RUN, "--image", TEST_IMAGE, "--accel", "tcg", "--mem", "256M",
                     "--fw-cfg", f"opt/appliance/fault-early,file={flag}"], timeout=120)
        out = p.stdout
        assert p.returncode == EXIT_FAIL, f"early fault: exit {p.returncode}\n{out}"
        # Nothing of the normal boot ran: the fault came before the banner.
        assert "appliance: kernel" not in out and "appliance ready" not in out, out
        exc = [l for l in out.splitlines() if l.startswith("EXCEPTION vector=14 (page fault)")]
        assert exc and "error_code=0x0 " in exc[0], out  # a read of a not-present page
        addr = [l for l in out.splitlines() if l.startswith("EXCEPTION page fault address=0x")]
        assert addr, out
        guard = int(addr[0].rsplit("=", 1)[1], 16)
        # The guard page lies in the pre-validated kernel region, page-aligned.
        assert 0x100000 <= guard < 0x500000 and guard % 4096 == 0, hex(guard)
        print(f"     late fault reported; early fault reported at the stack guard page {guard:#x}")


@test
def out_of_memory_prints_a_fixed_line_and_exits():
    """The test image allocates 1 MiB blocks with the infallible API until the
    heap refuses one (self-test word `oom`): the kernel prints one fixed line
    with the refused request's size, no panic location, and ends the VM with
    the failure status within a bounded time instead of hanging."""
    t0 = time.time()
    rc, out = boot("tcg", selftest="oom", timeout=120)
    took = time.time() - t0
    assert rc == EXIT_FAIL, f"exit {rc}\n{out}"
    assert "oom test: allocating until the heap runs out" in out, out
    lines = out.splitlines()
    fatal = [l for l in lines if l.startswith("FATAL: out of memory")]
    assert fatal == ["FATAL: out of memory (1048576 bytes requested)"], out
    # It is the last line: nothing ran after it, and no panic report instead.
    assert lines[-1] == fatal[0], out
    assert "PANIC" not in out, out
    print(f"     out of memory reported and the VM ended in {took:.1f}s")


@test
def a_vcpu_without_avx2_and_fma_is_refused_at_boot():
    """The guest has no scalar kernel (int8-kernels' `scalar` is host-only):
    on a vCPU without AVX2 + FMA the production image stops at boot with one
    line naming what is missing, and the failure status; no panic."""
    cases = {"qemu64": "XSAVE, AVX, AVX2, FMA", "SandyBridge": "AVX2, FMA", "max,-fma": "FMA"}
    for cpu, lacks in cases.items():
        # The later -cpu wins over run.sh's.
        p = run_cmd([RUN, "--image", IMAGE, "--accel", "tcg", "--", "-cpu", cpu], timeout=60)
        want = ("cpu: FAILED: the appliance needs AVX2 and FMA (every SEV-SNP CPU has them); "
                f"this vCPU lacks {lacks}: use -cpu EPYC-Milan, EPYC-Genoa or max")
        lines = p.stdout.splitlines()
        assert p.returncode == EXIT_FAIL and lines and lines[-1] == want, f"{cpu}: exit {p.returncode}\n{p.stdout}"
        assert "PANIC" not in p.stdout, p.stdout
    print(f"     refused at boot on {', '.join(cases)}; the last: {want}")


@test
def production_image_ignores_test_requests():
    """No fw_cfg value selects test code in the production image: asked for
    self-tests, a power-off and an early fault, it boots to ready and does
    none of them; without a configuration it says so and waits."""
    with tempfile.TemporaryDirectory() as d:
        flag = os.path.join(d, "fault-early")
        open(flag, "w").write("1")
        guest = LineProcess([RUN, "--image", IMAGE, "--accel", "tcg", "--mem", "256M",
                             "--selftest", "heap,fault,exit",
                             "--fw-cfg", f"opt/appliance/fault-early,file={flag}"])
        try:
            guest.wait_for("appliance ready", timeout=120)
            time.sleep(5)
            assert guest.proc.poll() is None, f"exited {guest.proc.returncode}:\n{guest.log()}"
            log = guest.log(None)
            for text in ("heap test", "self-test", "EXCEPTION", "fault test"):
                assert text not in log, f"{text!r} in the production image's output:\n{log}"
            assert "appliance: no runtime configuration (fw_cfg opt/appliance/config): nothing to " \
                   "serve, halted" in log, log
        finally:
            guest.kill()
    print("     production image: self-test, exit and fault requests ignored")


def digest_ours(image, vcpus, vtype):
    p = run_cmd([IB, "measure", "--vcpus", str(vcpus), "--vcpu-type", vtype, image], check=True)
    return p.stdout.strip().splitlines()[-1]


def digest_reference(image, vcpus, vtype):
    if shutil.which("sev-snp-measure") is None:
        raise AssertionError("sev-snp-measure is not installed: run scripts/setup.sh")
    p = run_cmd(["sev-snp-measure", "--mode", "snp", "--vmm-type", "QEMU", "--vcpus", str(vcpus),
                 "--vcpu-type", vtype, "--ovmf", image, "--output-format", "hex"], check=True)
    return p.stdout.strip().splitlines()[-1]


@test
def measure_equals_sev_snp_measure_on_the_image():
    configs = [(n, t) for t in ("EPYC-v4", "EPYC-Milan", "EPYC-Genoa") for n in (1, 2, 4)]
    configs += [(3, "EPYC-Rome"), (8, "EPYC-Turin"), (1, "EPYC")]
    for n, t in configs:
        ours, ref = digest_ours(IMAGE, n, t), digest_reference(IMAGE, n, t)
        assert len(ours) == 96 and ours == ref, f"{n} x {t}: ours {ours} vs sev-snp-measure {ref}"
    print(f"     {len(configs)} configurations equal")


@test
def manifest_lists_the_measured_digests():
    import json
    m = json.load(open(os.path.join(OUT, "manifest.json")))
    assert m["image"]["sha256"] == hashlib.sha256(open(IMAGE, "rb").read()).hexdigest()
    assert len(m["launch_configurations"]) == 9
    for c in m["launch_configurations"]:
        assert c["launch_digest"] == digest_reference(IMAGE, c["vcpus"], c["vcpu_type"]), c
    assert m["toolchain"].startswith("rustc 1.95.0")


@test
def test_image_digests_are_listed_apart():
    """The test image's digests live only in out/test/test-manifest.json,
    under "test_image", a shape the verifiers' manifest reader refuses; none
    of them is in the production manifest."""
    import json
    test_dir = os.path.join(OUT, "test")
    assert not os.path.exists(os.path.join(test_dir, "manifest.json"))
    t = json.load(open(os.path.join(test_dir, "test-manifest.json")))
    assert list(t) == ["test_image"], list(t)
    ti = t["test_image"]
    assert ti["image"]["sha256"] == hashlib.sha256(open(TEST_IMAGE, "rb").read()).hexdigest()
    c = ti["launch_configurations"][0]
    assert c["launch_digest"] == digest_reference(TEST_IMAGE, c["vcpus"], c["vcpu_type"]), c
    prod = json.load(open(os.path.join(OUT, "manifest.json")))
    prod_digests = {x["launch_digest"] for x in prod["launch_configurations"]}
    test_digests = {x["launch_digest"] for x in ti["launch_configurations"]}
    assert not prod_digests & test_digests, "a test digest is in the production manifest"
    assert prod["image"]["sha256"] != ti["image"]["sha256"]
    # The key broker refuses the test manifest outright.
    broker = os.path.join(ROOT, "target", "debug", "keybroker")
    with tempfile.TemporaryDirectory() as d:
        p = run_cmd([broker, "add-resource", "--resources", d, "--path", "appliance/key/model",
                     "--file", os.path.join(test_dir, "test-manifest.json"),
                     "--manifest", os.path.join(test_dir, "test-manifest.json")])
    assert p.returncode != 0, p.stdout + p.stderr
    print(f"     {len(test_digests)} test digests apart; keybroker: {(p.stderr or p.stdout).strip()[:100]}")


@test
def corrupted_images_are_refused():
    data = open(IMAGE, "rb").read()
    # name -> (image, the reason `measure` must give: host/snp-measure/src/error.rs)
    cases = {
        "truncated by 4 KiB": (data[:-4096], f"image size {len(data) - 4096} is not a multiple of 64 KiB"),
        "truncated by 64 KiB (footer cut off)": (data[:-65536], "OVMF footer table GUID 96b582de-1fb2-45f7-baea-a366c55a082d not found"),
        "not a multiple of 64 KiB": (data + b"\0" * 4096, f"image size {len(data) + 4096} is not a multiple of 64 KiB"),
        "footer GUID damaged": (data[:-48] + bytes([data[-48] ^ 0xFF]) + data[-47:], "OVMF footer table GUID 96b582de-1fb2-45f7-baea-a366c55a082d not found"),
        "reset block GUID damaged": (data[:-60] + bytes([data[-60] ^ 0xFF]) + data[-59:], "SEV-ES reset block (GUID 00f771de-1a7e-4fcb-890e-68c77e2fb44e) missing"),
    }
    asev = data.find(b"ASEV")
    assert asev > 0
    bad = bytearray(data)
    bad[asev + 8] = 7  # ASEV version
    cases["ASEV version"] = (bytes(bad), "SEV metadata version is 7, only version 1 is known")
    with tempfile.TemporaryDirectory() as d:
        for name, (blob, reason) in cases.items():
            path = os.path.join(d, "img.bin")
            open(path, "wb").write(blob)
            p = run_cmd([IB, "measure", "--vcpus", "1", "--vcpu-type", "EPYC-v4", path])
            assert p.returncode != 0, f"{name}: accepted"
            assert not p.stdout.strip(), f"{name}: a digest on failure: {p.stdout!r}"
            assert p.stderr.startswith("image-builder: error: ") and reason in p.stderr, \
                f"{name}: want {reason!r}, got {p.stderr!r}"
            print(f"     {name}: {p.stderr.strip()}")


@test
def snp_launcher_prints_command_and_digest():
    """run-snp.sh --print: every piece the appliance needs under SNP is on the
    command line (HOST_DATA of the config, the NIC for the SNP DMA path, the
    127.0.0.1-only network, the three fw_cfg files), with the digest of the
    chosen configuration; bad or missing inputs are refused with a clear word."""
    import base64
    import json
    import shlex
    launcher = os.path.join(ROOT, "qemu", "run-snp.sh")
    with tempfile.TemporaryDirectory() as d:
        config = os.path.join(d, "config.json")
        raw = json.dumps({"listen_port": 8080, "kbs": {"host": "10.0.2.100", "port": 8081},
                          "resource_path": "appliance/key/model"}).encode()
        open(config, "wb").write(raw)
        sealed = os.path.join(d, "model.sealed")
        vcek = os.path.join(d, "vcek.der")
        open(sealed, "wb").write(b"sealed")
        open(vcek, "wb").write(b"vcek")
        base = [launcher, "--print", "--config", config, "--sealed-model", sealed, "--kbs-port", "18081"]
        p = run_cmd(base + ["--vcpus", "2", "--vcpu-type", "EPYC-Genoa", "--vcek", vcek, "--api-port", "18080"],
                    check=True)
        argv = shlex.split(p.stdout.splitlines()[0])
        pairs = {argv[i]: [] for i in range(len(argv))}
        for i in range(len(argv) - 1):
            pairs[argv[i]].append(argv[i + 1])
        assert argv[0] == "qemu-system-x86_64", argv
        assert pairs["-cpu"] == ["EPYC-Genoa"] and pairs["-smp"] == ["2"], argv
        host_data = base64.b64encode(hashlib.sha256(raw).digest()).decode()
        snp = [o for o in pairs["-object"] if o.startswith("sev-snp-guest,")]
        assert len(snp) == 1, pairs["-object"]
        opts = dict(kv.split("=", 1) for kv in snp[0].split(",")[1:])
        assert opts["host-data"] == host_data, (opts, host_data)
        want_policy = json.load(open(os.path.join(OUT, "manifest.json")))["policy"]["guest_policy"]
        assert opts["policy"] == want_policy, opts
        assert any(o.startswith("memory-backend-memfd,") for o in pairs["-object"]), pairs["-object"]
        nic = pairs["-device"]
        assert len(nic) == 1 and nic[0].startswith("virtio-net-pci,netdev=n0,"), nic
        assert "iommu_platform=on" in nic[0].split(",") and "disable-legacy=on" in nic[0].split(","), nic
        [net] = pairs["-netdev"]
        assert net.startswith("user,id=n0,") and "restrict=on" in net.split(","), net
        assert "hostfwd=tcp:127.0.0.1:18080-:8080" in net, net
        assert "guestfwd=tcp:10.0.2.100:8081-cmd:python3 " in net and net.endswith(" 18081"), net
        fw = sorted(pairs["-fw_cfg"])
        assert fw == sorted([f"name=opt/appliance/config,file={config}",
                             f"name=opt/appliance/model.sealed,file={sealed}",
                             f"name=opt/appliance/vcek,file={vcek}"]), fw
        want = digest_reference(IMAGE, 2, "EPYC-Genoa")
        assert f"expected launch digest: {want}" in p.stdout, p.stdout
        assert f"host data (sha256 of {config}, base64): {host_data}" in p.stdout, p.stdout
        # Without --vcek there is no VCEK file; the API port defaults to listen_port.
        p = run_cmd(base + ["--vcpus", "1", "--vcpu-type", "EPYC-v4"], check=True)
        assert "opt/appliance/vcek" not in p.stdout and "hostfwd=tcp:127.0.0.1:8080-:8080" in p.stdout, p.stdout
        assert f"expected launch digest: {digest_reference(IMAGE, 1, 'EPYC-v4')}" in p.stdout, p.stdout
        refusals = [
            (base + ["--vcpus", "3"], "not a configuration"),
            ([launcher, "--print", "--sealed-model", sealed, "--kbs-port", "1"], "--config FILE is required"),
            ([launcher, "--print", "--config", config, "--kbs-port", "1"], "--sealed-model FILE is required"),
            ([launcher, "--print", "--config", config, "--sealed-model", sealed], "--kbs-port PORT is required"),
            (base + ["--vcek", os.path.join(d, "absent.der")], "no VCEK at"),
            (base[:-1] + ["99999"], "must be a port number"),
            (base + ["--config"], "needs a value"),
        ]
        bad_config = os.path.join(d, "bad.json")
        open(bad_config, "w").write("[1, 2]")
        refusals.append(([launcher, "--print", "--config", bad_config, "--sealed-model", sealed,
                          "--kbs-port", "1"], "not an appliance configuration"))
        far_config = os.path.join(d, "far.json")
        open(far_config, "w").write(json.dumps({"listen_port": 8080, "kbs": {"host": "192.168.1.5", "port": 8081},
                                                "resource_path": "appliance/key/model"}))
        refusals.append(([launcher, "--print", "--config", far_config, "--sealed-model", sealed,
                          "--kbs-port", "1"], "must be an address in QEMU's user network"))
        for argv, word in refusals:
            p = run_cmd(argv)
            assert p.returncode != 0 and word in p.stderr, (argv, p.returncode, p.stderr)
    print("     HOST_DATA, NIC, 127.0.0.1-only network, three fw_cfg files and the digest present; 9 refusals")


@test
def reproducible_build_in_two_folders():
    """The checkout's image (built by the test command in the checkout) and
    a build from a copy of its files at another path of another length give
    the same bytes (one copy: a second one cost 70 s and showed nothing the
    checkout does not)."""
    files = run_cmd(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, check=True).stdout.split()
    with tempfile.TemporaryDirectory() as d:
        src = os.path.join(d, "build-here-with-a-longer-path")
        assert len(src) != len(ROOT)
        for f in files:
            if not os.path.isfile(os.path.join(ROOT, f)):
                continue
            os.makedirs(os.path.join(src, os.path.dirname(f)), exist_ok=True)
            shutil.copy2(os.path.join(ROOT, f), os.path.join(src, f))
        out = os.path.join(d, "out")
        run_cmd([IB, "build", "--out", out, "--source", src], timeout=1200, check=True)
        copy = open(os.path.join(out, "appliance.bin"), "rb").read()
    assert copy == open(IMAGE, "rb").read(), "a copy in another folder gave a different image than the checkout"


@test
def fw_cfg_streams_64_mib_with_bounded_memory():
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "big.bin")
        data = os.urandom(64 << 20)
        open(path, "wb").write(data)
        want = hashlib.sha256(data).hexdigest()
        p = run_cmd([RUN, "--image", TEST_IMAGE, "--accel", "tcg", "--selftest", "fwcfg-stream,exit",
                     "--fw-cfg", f"opt/appliance/stream-test,file={path}"], timeout=300)
    assert p.returncode == EXIT_OK, p.stdout
    line = next(l for l in p.stdout.splitlines() if l.startswith("fw_cfg stream:"))
    assert f"{64 << 20} bytes sha256 {want}" in line, line
    in_use_kib = int(line.split("streaming")[1].split()[0])
    assert in_use_kib <= 128, line
    print(f"     {line}")


CONFIG_OK = (b'{"listen_port": 8080, "kbs": {"host": "10.0.2.2", "port": 8081}, '
             b'"resource_path": "appliance/model/key", "log_level": "info"}')


def boot_with_config(data):
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "config.json")
        open(path, "wb").write(data)
        return run_cmd([RUN, "--image", TEST_IMAGE, "--accel", "tcg", "--selftest", "exit",
                        "--fw-cfg", f"opt/appliance/config,file={path}"], timeout=120)


@test
def runtime_config_is_parsed_and_measured():
    p = boot_with_config(CONFIG_OK)
    assert p.returncode == EXIT_OK, p.stdout
    want = hashlib.sha256(CONFIG_OK).hexdigest()
    assert f"boot log: runtime-config sha256:{want}" in p.stdout, p.stdout
    assert "config: listen port 8080, key broker 10.0.2.2:8081, resource appliance/model/key" in p.stdout, p.stdout


@test
def runtime_config_errors_stop_boot_with_a_clear_message():
    cases = {
        b'{"listen_port": 8080, "kbs": {"host": "10.0.2.2", "port": 8081}, '
        b'"resource_path": "a/b/c", "colour": "blue"}': "unknown field `colour`",
        b'{"listen_port": 0, "kbs": {"host": "10.0.2.2", "port": 8081}, "resource_path": "a/b/c"}': "listen_port",
        b'{"listen_port": 8080, "kbs": {"host": "10.0.2", "port": 8081}, "resource_path": "a/b/c"}': "host",
        b'{"listen_port": 8080, "kbs": {"host": "10.0.2.2", "port": 8081}, "resource_path": "a/../c"}': "resource_path",
        b"not json": "JSON",
        b" " * 5000: "4096",
    }
    for data, needle in cases.items():
        p = boot_with_config(data)
        assert p.returncode == EXIT_FAIL, f"{data[:60]!r}: exit {p.returncode}\n{p.stdout}"
        assert "appliance ready" not in p.stdout, p.stdout
        fatal = next(l for l in p.stdout.splitlines() if l.startswith("runtime configuration opt/appliance/config: FAILED: "))
        assert needle.lower() in fatal.lower(), f"{needle!r} not in {fatal!r}"
        print(f"     {fatal}")


@test
def no_raw_io_outside_the_io_abstraction():
    p = run_cmd([os.path.join(ROOT, "tests", "check_no_raw_io.sh")])
    assert p.returncode == 0, p.stdout + p.stderr
    # And the check can fail: a port write slipped into another module.
    with tempfile.TemporaryDirectory() as d:
        # The whole checkout: the script asks cargo for the guest's crates.
        for f in run_cmd(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, check=True).stdout.split():
            if os.path.isfile(os.path.join(ROOT, f)):
                os.makedirs(os.path.join(d, os.path.dirname(f)), exist_ok=True)
                shutil.copy2(os.path.join(ROOT, f), os.path.join(d, f))
        time_rs = os.path.join(d, "guest", "kernel", "src", "time.rs")
        original = open(time_rs).read()
        with open(time_rs, "a") as f:
            f.write('\nfn sneaky() { unsafe { core::arch::asm!("out dx, al", in("dx") 0x80u16, in("al") 0u8) } }\n')
        p = run_cmd([os.path.join(d, "tests", "check_no_raw_io.sh")])
        assert p.returncode != 0 and "guest/kernel/src/time.rs" in p.stdout, p.stdout
        open(time_rs, "w").write(original)
        # Exemptions are per file AND per pattern: io.rs may use volatile
        # access, not CPUID.
        with open(os.path.join(d, "guest", "kernel", "src", "io.rs"), "a") as f:
            f.write('\nfn sneaky() -> u32 { unsafe { core::arch::x86_64::__cpuid(0).eax } }\n')
        p = run_cmd([os.path.join(d, "tests", "check_no_raw_io.sh")])
        assert p.returncode != 0 and re.search(r"guest/kernel/src/io\.rs:\d+:.*\[cpuid\]", p.stdout), p.stdout


if __name__ == "__main__":
    main(sys.argv[1:] or None)
