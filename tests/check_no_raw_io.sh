#!/usr/bin/env bash
# Under SEV-SNP, port I/O, intercepted MSR accesses, CPUID and MMIO raise #VC
# in 64-bit code, and the kernel has no #VC handler by design: every such
# access must go through kernel/src/io.rs (a GHCB call under SNP). This check
# fails if any other 64-bit guest source uses those instructions directly.
# Allowed: io.rs (the abstraction itself), snp.rs (VMGEXIT, PVALIDATE and
# the GHCB MSR, which is never intercepted), cpu.rs (XSETBV, not intercepted
# for SEV-ES/SNP guests), and the 16/32-bit boot stub before long mode.
set -euo pipefail
cd "$(dirname "$0")/.."
pattern='(\b(in|out|ins|outs)[bwl]?\s+(%?[ed]?[ax]x|%?al|%?dx)|\brdmsr\b|\bwrmsr\b|\bcpuid\b|__cpuid|x86_64::instructions::port|registers::model_specific|Msr::new|read_volatile|write_volatile)'
allowed='^kernel/src/(io|snp|cpu)\.rs:'
violations=$(grep -rnE "$pattern" kernel/src app/src --include='*.rs' | grep -vE "$allowed" \
  | grep -vE '^kernel/src/(shared\.rs|memory/frames\.rs|attest\.rs):' \
  | grep -vE '^app/src/selftest\.rs:' || true)
# shared.rs and frames.rs touch RAM (shared buffers, fresh frames) with
# volatile accesses, attest.rs reads and scrubs the SNP secrets page (RAM),
# and the heap self-test touches heap RAM: not devices.
asm64=$(awk '/\.code64/{on=1} /\.code(16|32)/{on=0} on' kernel/src/boot/reset.s kernel/src/boot/exceptions.s \
  | grep -nE '^\s*(in|out|rdmsr|wrmsr|cpuid)\b' || true)
if [ -n "$violations$asm64" ]; then
  echo "Direct device/MSR/CPUID access outside kernel/src/io.rs:"
  printf '%s\n' "$violations" "$asm64" | sed '/^$/d'
  exit 1
fi
echo "no raw I/O outside the I/O abstraction"
