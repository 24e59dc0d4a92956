"""End-to-end tests of issue 2: boot, measurement, reproducibility.

Expects `image-builder build --out out` to have run (scripts/test.sh does).
"""

import hashlib
import os
import shutil
import sys
import tempfile

from harness import ROOT, Skip, main, run_cmd, test

OUT = os.path.join(ROOT, "out")
IMAGE = os.path.join(OUT, "appliance.bin")
IB = os.path.join(ROOT, "target", "debug", "image-builder")
RUN = os.path.join(ROOT, "qemu", "run.sh")
EXIT_OK, EXIT_FAIL = 33, 35


def accelerators():
    """TCG always; KVM only where it boots this image (qemu/accel.sh)."""
    p = run_cmd([os.path.join(ROOT, "qemu", "accel.sh"), IMAGE], env={**os.environ, "APPLIANCE_ACCEL": ""})
    return ["tcg", "kvm"] if p.stdout.strip() == "kvm" else ["tcg"]


ACCELS = None


def boot(accel, *, mem="256M", smp=1, selftest="exit", image=IMAGE, timeout=120):
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
def boots_with_2_vcpus_aps_parked():
    def one(accel):
        rc, out = boot(accel, smp=2)
        assert rc == EXIT_OK and out.count("appliance ready") == 1, f"{accel}: exit {rc}\n{out}"
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
    with tempfile.TemporaryDirectory() as d:
        run_cmd([IB, "build", "--out", d, "--features", "fault-test"], timeout=900, check=True, cwd=ROOT)
        rc, out = boot("tcg", image=os.path.join(d, "appliance.bin"), selftest="")
    assert rc == EXIT_FAIL, f"exit {rc}\n{out}"
    assert "appliance ready" in out, out
    exc = [l for l in out.splitlines() if l.startswith("EXCEPTION vector=14")]
    assert exc and "rip=0x" in exc[0] and "error_code=0x" in exc[0], out


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
def corrupted_images_are_refused():
    data = open(IMAGE, "rb").read()
    cases = {
        "truncated": data[:-4096],
        "not a multiple of 64 KiB": data + b"\0" * 4096,
        "footer GUID damaged": data[:-48] + bytes([data[-48] ^ 0xFF]) + data[-47:],
        "reset block GUID damaged": data[:-60] + bytes([data[-60] ^ 0xFF]) + data[-59:],
    }
    asev = data.find(b"ASEV")
    assert asev > 0
    bad = bytearray(data)
    bad[asev + 8] = 7  # ASEV version
    cases["ASEV version"] = bytes(bad)
    with tempfile.TemporaryDirectory() as d:
        for name, blob in cases.items():
            path = os.path.join(d, "img.bin")
            open(path, "wb").write(blob)
            p = run_cmd([IB, "measure", "--vcpus", "1", "--vcpu-type", "EPYC-v4", path])
            assert p.returncode != 0, f"{name}: accepted"
            assert "error" in p.stderr.lower() and len(p.stderr.strip()) > 20, f"{name}: unclear message {p.stderr!r}"
            print(f"     {name}: {p.stderr.strip()}")


@test
def snp_launcher_prints_command_and_digest():
    p = run_cmd([os.path.join(ROOT, "qemu", "run-snp.sh"), "--print", "--vcpus", "2", "--vcpu-type", "EPYC-Genoa"], check=True)
    assert "sev-snp-guest" in p.stdout and "memory-backend-memfd" in p.stdout and "-cpu EPYC-Genoa" in p.stdout
    want = digest_reference(IMAGE, 2, "EPYC-Genoa")
    assert f"expected launch digest: {want}" in p.stdout, p.stdout
    p = run_cmd([os.path.join(ROOT, "qemu", "run-snp.sh"), "--print", "--vcpus", "3"])
    assert p.returncode != 0 and "not a configuration" in p.stderr, p.stderr


@test
def reproducible_build_in_two_folders():
    files = run_cmd(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, check=True).stdout.split()
    images = []
    for name in ("a", "build-here-with-a-longer-path"):
        with tempfile.TemporaryDirectory() as d:
            src = os.path.join(d, name)
            for f in files:
                if not os.path.isfile(os.path.join(ROOT, f)):
                    continue
                os.makedirs(os.path.join(src, os.path.dirname(f)), exist_ok=True)
                shutil.copy2(os.path.join(ROOT, f), os.path.join(src, f))
            out = os.path.join(d, "out")
            run_cmd([IB, "build", "--out", out, "--source", src], timeout=1200, check=True)
            images.append(open(os.path.join(out, "appliance.bin"), "rb").read())
    assert images[0] == images[1], "two folders gave different images"
    assert images[0] == open(IMAGE, "rb").read(), "a copy gave a different image than the checkout"


@test
def fw_cfg_streams_64_mib_with_bounded_memory():
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "big.bin")
        data = os.urandom(64 << 20)
        open(path, "wb").write(data)
        want = hashlib.sha256(data).hexdigest()
        p = run_cmd([RUN, "--image", IMAGE, "--accel", "tcg", "--selftest", "fwcfg-stream,exit",
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
        return run_cmd([RUN, "--image", IMAGE, "--accel", "tcg", "--selftest", "exit",
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
        b'"resource_path": "a/b/c", "colour": "blue"}': 'unknown key "colour"',
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
        fatal = next(l for l in p.stdout.splitlines() if l.startswith("FATAL: runtime configuration"))
        assert needle.lower() in fatal.lower(), f"{needle!r} not in {fatal!r}"
        print(f"     {fatal}")


@test
def no_raw_io_outside_the_io_abstraction():
    p = run_cmd([os.path.join(ROOT, "tests", "check_no_raw_io.sh")])
    assert p.returncode == 0, p.stdout + p.stderr
    # And the check can fail: a port write slipped into another module.
    with tempfile.TemporaryDirectory() as d:
        for sub in ("kernel", "app", "tests"):
            shutil.copytree(os.path.join(ROOT, sub), os.path.join(d, sub),
                            ignore=shutil.ignore_patterns("target"))
        with open(os.path.join(d, "kernel", "src", "time.rs"), "a") as f:
            f.write('\nfn sneaky() { unsafe { core::arch::asm!("out dx, al", in("dx") 0x80u16, in("al") 0u8) } }\n')
        p = run_cmd([os.path.join(d, "tests", "check_no_raw_io.sh")])
        assert p.returncode != 0 and "kernel/src/time.rs" in p.stdout, p.stdout


if __name__ == "__main__":
    main(sys.argv[1:] or None)
