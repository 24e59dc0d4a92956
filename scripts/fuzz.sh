#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/ for SECONDS_PER_TARGET seconds
# (default 60) and fails on any crash, printing the crashing input's file.
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
# FUZZ_RUNS=N also stops each target after N executions (the long runs:
# FUZZ_RUNS=10000000 with a generous SECONDS_PER_TARGET as the cap).
# FUZZ_SANITIZER=none builds without AddressSanitizer (cargo-fuzz's
# default, `address`, otherwise): two to three times the executions for
# crates that forbid unsafe code, where ASan has little to find; overflow
# checks and debug assertions stay on either way.
# Installs what it needs: a nightly toolchain for the fuzz build only (the
# product keeps rust-toolchain.toml's pinned one) and cargo-fuzz. Seeds are
# read from fuzz/corpus/<target> and never written: what a run finds goes
# to fuzz/work/corpus/<target>, crashes to fuzz/work/artifacts/<target>.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
# shellcheck source=scripts/fuzz_record.sh
source ../scripts/fuzz_record.sh

SECONDS_PER_TARGET=${1:-60}
shift || true
if ! [[ "$SECONDS_PER_TARGET" =~ ^[1-9][0-9]*$ ]]; then
    echo "usage: scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]  (seconds: a whole number, at least 1)" >&2
    exit 2
fi
runs=()
if [ -n "${FUZZ_RUNS:-}" ]; then
    if ! [[ "$FUZZ_RUNS" =~ ^[1-9][0-9]*$ ]]; then
        echo "fuzz.sh: FUZZ_RUNS must be a whole number of executions, at least 1" >&2
        exit 2
    fi
    runs=(-runs="$FUZZ_RUNS")
fi
SANITIZER=${FUZZ_SANITIZER:-address}
case "$SANITIZER" in
    address | none) ;;
    *)
        echo "fuzz.sh: FUZZ_SANITIZER must be 'address' (the default) or 'none'" >&2
        exit 2
        ;;
esac
CARGO_FUZZ_VERSION=0.13.2

if ! rustup toolchain list | grep -q '^nightly'; then
    rustup toolchain install nightly --profile minimal
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    cargo +nightly install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked
fi

if [ $# -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo +nightly fuzz list)
fi

# Build all (or the named) targets; `fuzz build` takes one target or none.
if [ $# -gt 0 ]; then
    for t in "${targets[@]}"; do nice -n 10 cargo +nightly fuzz build -s "$SANITIZER" "$t"; done
else
    nice -n 10 cargo +nightly fuzz build -s "$SANITIZER"
fi

failed=()
summary=()
for t in "${targets[@]}"; do
    work="work/corpus/$t"
    artifacts="work/artifacts/$t"
    mkdir -p "$work" "$artifacts" "corpus/$t"
    log="work/$t.log"
    echo "=== $t (${SECONDS_PER_TARGET}s, sanitizer $SANITIZER)"
    set +e
    nice -n 10 cargo +nightly fuzz run -s "$SANITIZER" "$t" "$work" "corpus/$t" -- \
        -max_total_time="$SECONDS_PER_TARGET" -timeout=10 -rss_limit_mb=2048 \
        -malloc_limit_mb=512 -artifact_prefix="$artifacts/" -print_final_stats=1 "${runs[@]}" \
        >"$log" 2>&1
    rc=$?
    set -e
    fuzz_record "$t" "$rc" "$PWD/$log"
done

echo
echo "target executions result"
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz: ${#failed[@]} target(s) crashed: ${failed[*]}"
    exit 1
fi
echo "fuzz: ${#targets[@]} targets, no crash"
