#!/usr/bin/env bash
# Under SEV-SNP, port I/O, intercepted MSR accesses, CPUID and MMIO raise #VC
# in 64-bit code and get their answers from the hypervisor: every such access
# must go through guest/kernel/src/io.rs (a GHCB call under SNP), and every
# instruction the kernel issues by hand lives in guest/kernel/src/arch.rs
# (inline asm, CPUID/RDTSC intrinsics, control registers, TLB, descriptor
# tables through the x86_64 crate). This check scans
# the sources of every first-party crate linked into the guest (the workspace
# crates among app's normal dependencies for x86_64-target.json) and fails if
# any of them executes those instructions directly. Exemptions are per file
# AND per pattern, each with its reason; an exemption that no longer matches
# anything fails too (stale). tests/check_guest_binary.py checks the linked
# binary, which also covers third-party crates and inlined code.
set -euo pipefail
cd "$(dirname "$0")/.."

# Named patterns (grep -E). `asm-io` (instruction text inside a string) is
# only looked for in files that contain inline assembly.
declare -A PATTERN=(
  [asm]='\b(global_|naked_)?asm!|#\[(unsafe\()?naked'
  [asm-io]='"[^"]*(\b(in|out|ins|outs)[bwl]?\s+(%?[ed]?[ax]x|%?al|%?dx)|\b(rd|wr)msr\b|\bcpuid\b|\bvmmcall\b|\bvmgexit\b|\bwbinvd\b|\brdpmc\b|%?\bdr[0-7]\b)'
  [cpuid]='\b__cpuid|\bis_x86_feature_detected\b|\braw_cpuid::|\bCpuId::new'
  [xcr]='\b_xgetbv\b|\b_xsetbv\b'
  [rdrand]='\b_rdrand|\b_rdseed'
  [rdtsc]='\b_rdtsc\b|\b__rdtscp\b'
  [x86-crate]='x86_64::instructions::port|registers::(model_specific|debug)|\bMsr::new|\bx86::(io|msr)::'
  [cpu-state]='x86_64::(instructions|registers)::'
  [volatile]='read_volatile|write_volatile'
)

# file|patterns it may use|why. Nothing else is exempt.
EXEMPT=(
  "guest/kernel/src/arch.rs|asm asm-io cpuid rdtsc cpu-state|the kernel's one place for instructions: in/out/rep insb/outsb, rdmsr/wrmsr, CPUID, VMGEXIT, PVALIDATE, XSETBV, RDRAND, RDTSC, cli/hlt, CR2/CR4, invlpg, GDT/IDT/TSS loads"
  "guest/kernel/src/io.rs|volatile|native MMIO by volatile access (device memory behind MmioRegion's promise)"
  "guest/kernel/src/snp/mod.rs|volatile|the GHCB is shared RAM, copied volatile; cache eviction reads of validated RAM"
  "guest/kernel/src/boot/mod.rs|asm|global_asm! of the boot stub; its .s files are checked below"
  "guest/kernel/src/shared.rs|volatile|shared RAM buffers (not devices)"
  "guest/kernel/src/attest/mod.rs|volatile|reads and scrubs the SNP secrets page (RAM)"
  "guest/kernel/src/lib.rs|volatile|fault-test: reads the unmapped stack guard page, and writes an unmapped address, on purpose"
  "guest/kernel/src/interrupts.rs|volatile|the #VC handler reads instruction bytes of the kernel's own image (RAM)"
  "common/int8-kernels/src/detect.rs|cpuid xcr|std-only probe, host builds only (cfg(feature = \"std\")); the binary check proves no CPUID is linked"
  "common/http1/src/plant_raw_cpuid.rs|cpuid|test-only plant (feature plant-raw-cpuid) the binary check must catch; never in a shipped image"
)

# The first-party crates linked into the guest, as cargo resolves them.
crates=$(RUSTC_BOOTSTRAP=1 cargo tree --locked -p app -e normal --prefix none --format '{p}' \
           --target x86_64-target.json -Zjson-target-spec \
         | sed -n "s|^.* (\($PWD/[^)]*\))\( (\*)\)\?$|\1|p" | sort -u | sed "s|^$PWD/||")
if [ -z "$crates" ] || ! grep -qx guest/kernel <<<"$crates" || ! grep -qx guest/app <<<"$crates"; then
  echo "cannot list the guest's crates with cargo tree (got: ${crates:-nothing})"
  exit 2
fi
dirs=$(for c in $crates; do echo "$c/src"; done)

exempt() { # file pattern -> 0 if exempt
  local e
  for e in "${EXEMPT[@]}"; do
    IFS='|' read -r f pats _ <<<"$e"
    [ "$f" = "$1" ] && [[ " $pats " == *" $2 "* ]] && return 0
  done
  return 1
}

violations=""
declare -A used=()
asm_files=$(grep -rlE "${PATTERN[asm]}" $dirs --include='*.rs' || true)
for name in "${!PATTERN[@]}"; do
  if [ "$name" = asm-io ]; then files=$asm_files; else files=$dirs; fi
  [ -n "$files" ] || continue
  hits=$(grep -rnE "${PATTERN[$name]}" $files --include='*.rs' || true)
  while IFS= read -r hit; do
    [ -n "$hit" ] || continue
    file=${hit%%:*}
    if exempt "$file" "$name"; then used["$file|$name"]=1; else violations+="$hit   [$name]"$'\n'; fi
  done <<<"$hits"
done

# 64-bit assembly files: the same instructions, outside 16/32-bit code.
asm64=""
for s in $(find $dirs -name '*.s' -o -name '*.S' | sort); do
  asm64+=$(awk -v f="$s" '/\.code64/{on=1} /\.code(16|32)/{on=0}
    on && /^[[:space:]]*(rep[[:space:]]+)?((in|out|ins|outs)[bwl]?|rdmsr|wrmsr|cpuid|vmmcall|vmgexit|wbinvd|rdpmc|invd|mwait|monitor)([[:space:]]|$)/ {print f ":" NR ": " $0}' "$s")
done

stale=""
for e in "${EXEMPT[@]}"; do
  IFS='|' read -r f pats _ <<<"$e"
  for p in $pats; do
    [ -n "${used["$f|$p"]:-}" ] || stale+="$f: exempt from [$p] but does not use it"$'\n'
  done
done

echo "scanned $(wc -w <<<"$crates") guest crates: $(tr '\n' ' ' <<<"$crates")"
if [ -n "$violations$asm64$stale" ]; then
  [ -z "$violations$asm64" ] || echo "Direct device/MSR/CPUID access or instructions outside guest/kernel/src/{arch,io}.rs:"
  printf '%s\n' "$violations" "$asm64" | sed '/^$/d'
  [ -z "$stale" ] || { echo "Stale exemptions (remove them from tests/check_no_raw_io.sh):"; printf '%s' "$stale"; }
  exit 1
fi
echo "no raw I/O outside the I/O abstraction, no instruction outside arch.rs"
