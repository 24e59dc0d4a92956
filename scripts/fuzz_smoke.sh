#!/usr/bin/env bash
# A short coverage-guided run of every fuzz target, for the test suite:
#   scripts/fuzz_smoke.sh [SECONDS_PER_TARGET]   (default 3)
# Fails on any crash and prints the crashing input's file.
#
# Unlike scripts/fuzz.sh (nightly, cargo-fuzz, AddressSanitizer; the long
# runs), this builds with the product's pinned stable toolchain: libFuzzer's
# coverage instrumentation (SanitizerCoverage) is a stable codegen option,
# and only the sanitizer needs nightly. Rust's own bounds and overflow checks
# stay on (debug assertions), so a panic is still a crash. Seeds are read
# from fuzz/corpus/<target> and never written; new inputs go to
# fuzz/work/smoke/<target>, crashing ones to fuzz/work/smoke/<target>-crash-*.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/fuzz_record.sh
source scripts/fuzz_record.sh

SECONDS_PER_TARGET=${1:-3}
if ! [[ "$SECONDS_PER_TARGET" =~ ^[1-9][0-9]*$ ]]; then
    echo "usage: scripts/fuzz_smoke.sh [SECONDS_PER_TARGET]  (a whole number, at least 1)" >&2
    exit 2
fi
if ! command -v c++ >/dev/null; then
    echo "fuzz_smoke: no C++ compiler (libFuzzer is C++): run scripts/setup.sh" >&2
    exit 2
fi

# The pinned toolchain, not fuzz/rust-toolchain.toml's nightly.
toolchain=$(sed -n 's/^channel = "\(.*\)"/\1/p' rust-toolchain.toml)
export RUSTUP_TOOLCHAIN="$toolchain"
# cargo-fuzz's instrumentation flags, without -Zsanitizer.
export RUSTFLAGS="--cfg fuzzing -Cpasses=sancov-module \
-Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
-Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares \
-Cdebug-assertions -Coverflow-checks"
# Quicker to build than cargo-fuzz's opt-level 3 with debug info; a few seconds
# per target need no more.
export CARGO_PROFILE_RELEASE_OPT_LEVEL=1 CARGO_PROFILE_RELEASE_DEBUG=0
export CARGO_TARGET_DIR="$PWD/fuzz/target/smoke"
# An explicit --target keeps RUSTFLAGS off build scripts and proc macros.
host=$(rustc -vV | sed -n 's/^host: //p')
cargo build --locked --release --target "$host" --manifest-path fuzz/Cargo.toml --bins

mapfile -t targets < <(sed -n 's/^name = "\([a-z0-9_]*\)"$/\1/p' fuzz/Cargo.toml | grep -v '^appliance-fuzz$')
failed=()
summary=()
for t in "${targets[@]}"; do
    bin="$CARGO_TARGET_DIR/$host/release/$t"
    work="fuzz/work/smoke/$t"
    mkdir -p "$work"
    log="$work.log"
    set +e
    "$bin" "$work" "fuzz/corpus/$t" -max_total_time="$SECONDS_PER_TARGET" -timeout=10 \
        -rss_limit_mb=2048 -malloc_limit_mb=512 -artifact_prefix="$work-" \
        -print_final_stats=1 >"$log" 2>&1
    rc=$?
    set -e
    fuzz_record "$t" "$rc" "$log" "replay: $bin FILE"
done
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz smoke: ${#failed[@]} target(s) crashed: ${failed[*]}" >&2
    exit 1
fi
echo "fuzz smoke: ${#targets[@]} targets, ${SECONDS_PER_TARGET} s each, no crash"
