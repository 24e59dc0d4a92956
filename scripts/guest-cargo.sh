#!/usr/bin/env bash
# Run a cargo command for the guest target (x86_64-target.json, hard float,
# build-std) with the pinned stable toolchain, e.g.:
#   scripts/guest-cargo.sh clippy -p kernel -p app -- -D warnings
# RUSTC_BOOTSTRAP=1 is set for this guest build only (build-std and JSON
# target specs are unstable flags), as the Linux kernel does for its Rust.
set -euo pipefail
cd "$(dirname "$0")/.."
sub=$1; shift
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target/guest-$sub}"
exec cargo "$sub" --release --target x86_64-target.json \
  -Zbuild-std=core,alloc,compiler_builtins -Zbuild-std-features=compiler-builtins-mem \
  -Zjson-target-spec "$@"
