#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs what it needs, then
# lint, unit tests on the host, the guest build, and the QEMU end-to-end tests.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
step() { printf '\n=== %s (%ss)\n' "$*" "$(( $(date +%s) - start ))"; }

step setup
bash scripts/setup.sh

step "format"
cargo fmt --all -- --check

step "clippy (host)"
cargo clippy --locked --all-targets --all-features -- -D warnings

step "clippy (guest target)"
scripts/guest-cargo.sh clippy --locked -p kernel -p app -- -D warnings

step "TCB gate (first-party lines in the production guest, third-party guest crates; docs/tcb.md)"
python3 scripts/test_tcb.py
python3 scripts/tcb.py

step "pure crates build for the guest target"
scripts/guest-cargo.sh build --locked -p snp-guest -p wordpiece -p int8-kernels -p embed-engine -p http1 -p appliance-config -p kbs-protocol -p jwe -p model-seal -p snp-report -p snp-attest -p ohttp-gateway -p serving-api -p memory-map -p vmsa-layout

step "unit and integration tests (host)"
cargo test --locked --all-features

# The kernel tests run every int8 kernel this CPU has; say plainly which
# ones did not run here (INT8_REQUIRE_KERNELS=all makes a missing one fail).
step "int8 kernels tested on this CPU"
cargo test --locked -q -p int8-kernels --test kernels reports_kernels -- --nocapture 2>&1 \
  | grep -E '^kernels::reports_kernels: kernels run: '

# kernel is not a default member: its host clippy and unit tests (the SNP
# glue and attestation transport against the mock hypervisor and mock
# secure processor) run here.
step "kernel on the host (clippy, unit tests)"
cargo clippy --locked -p kernel --all-targets -- -D warnings
cargo test --locked -p kernel --lib

# Every fuzz target for a few seconds, coverage-guided, on the pinned
# toolchain (the long runs with AddressSanitizer: scripts/fuzz.sh).
step "fuzz smoke (every target, 3 s each)"
bash scripts/fuzz_smoke.sh 3

step "image"
cargo build --locked -p image-builder -p keybroker -p appliance-client
target/debug/image-builder build --out out
# The test image (self-tests, test routes, deliberate faults): its own
# digests in out/test/test-manifest.json, never in out/manifest.json.
target/debug/image-builder build --test-image --out out/test

step "guest binary check (no raw CPUID/port/MSR instructions outside the I/O layer)"
python3 tests/check_guest_binary.py out/appliance.elf

step "no test code in the production image (and the check finds the test image's)"
python3 tests/check_no_test_code.py out
python3 tests/check_no_test_code.py --expect-test-code out/test

step "end-to-end (QEMU)"
python3 tests/run_e2e.py

step "done"
