#!/usr/bin/env python3
"""Checks the linked guest binary for instructions that must not run outside
the kernel's instruction module.

Under SEV-SNP, CPUID, port I/O, intercepted MSR accesses and the like raise a
#VC exception in 64-bit code, and their answers come from the hypervisor. The
guest routes them through guest/kernel/src/io.rs (a GHCB call under SNP), and
the instructions themselves live in guest/kernel/src/arch.rs; the boot stub
runs before long mode. tests/check_no_raw_io.sh checks the sources of
the first-party crates; this checks what was really linked, which also covers
third-party crates and code that LTO inlined into other functions.

Usage: tests/check_guest_binary.py [ELF]   (default: out/appliance.elf, the
unstripped copy `image-builder build` writes next to the image)

Disassembles the ELF with `objdump -d -C --no-show-raw-insn`, attributes every
instruction to its enclosing symbol, and exits 1 (printing function, address
and instruction) if a forbidden instruction lies outside the allowlist below,
if an allowlist entry matches nothing or allows nothing (stale), or if the ELF
has no symbols. Exit 2: the check could not run (no objdump, no file).
"""

import os
import re
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_ELF = os.path.join(ROOT, "out", "appliance.elf")

# ---------------------------------------------------------------------------
# The allowlist: the only code that may execute a forbidden instruction.
# Functions by demangled name (guest/kernel/src/arch.rs marks them
# #[inline(never)], so LTO keeps each one a symbol of its own).
ALLOWED_FUNCTIONS = {
    "kernel::arch::port_read":
        "native `in`; only io.rs calls it, and under SNP io.rs takes the GHCB path instead",
    "kernel::arch::port_write":
        "native `out`; only io.rs calls it, and under SNP io.rs takes the GHCB path instead",
    "kernel::arch::rep_insb":
        "native `rep insb` (fw_cfg data); under SNP io.rs reads through the GHCB instead",
    "kernel::arch::rep_outsb":
        "native `rep outsb` (serial strings); under SNP io.rs writes through the GHCB instead",
    "kernel::arch::rdmsr":
        "RDMSR of the GHCB MSR (never intercepted), for the GHCB MSR protocol; natively also "
        "the x2APIC's registers, which io.rs reads through the GHCB under SNP",
    "kernel::arch::wrmsr":
        "WRMSR of the GHCB MSR (never intercepted), for the GHCB MSR protocol and exits; natively "
        "also the x2APIC's registers, which io.rs writes through the GHCB under SNP",
    "kernel::arch::cpuid":
        "native CPUID; under SNP io.rs answers from the CPUID page instead",
    "kernel::arch::vmgexit":
        "VMGEXIT (rep vmmcall) itself: the only way to call the hypervisor under SEV-ES/SNP",
}
# Whole output sections (guest/kernel/layout.ld). Only the boot stub: the 64-bit
# asm (entry64, the exception stubs) raises #VC like any Rust code, so it is
# checked like the rest of .text.
ALLOWED_SECTIONS = {
    ".rom.text":
        "16/32-bit boot stub (guest/kernel/src/boot/reset.s): SEV detection (CPUID, SEV_STATUS), "
        "EFER, and the 32-bit #VC handler's MSR-protocol CPUID and termination, before long mode",
}
# ---------------------------------------------------------------------------

# Mnemonics as objdump prints them (AT&T), after any prefixes.
FORBIDDEN_MNEMONICS = {
    "cpuid",
    "in", "inb", "inw", "inl", "ins", "insb", "insw", "insl", "insd",
    "out", "outb", "outw", "outl", "outs", "outsb", "outsw", "outsl", "outsd",
    "rdmsr", "wrmsr", "wrmsrns", "rdmsrlist", "wrmsrlist",
    "wbinvd", "wbnoinvd",
    "rdpmc",
    "vmmcall", "vmgexit", "vmcall",
    # Also interceptable (#VC under SEV-ES/SNP) and never needed here.
    "invd", "monitor", "mwait", "monitorx", "mwaitx", "rdpru",
}
PREFIXES = {
    "rep", "repz", "repe", "repnz", "repne", "lock", "data16", "data32", "addr16", "addr32",
    "cs", "ds", "es", "fs", "gs", "ss", "notrack", "bnd", "xacquire", "xrelease",
}
DEBUG_REGISTER = re.compile(r"%d[br][0-9]+\b")
LABEL = re.compile(r"^([0-9a-f]+) <(.*)>:$")
INSN = re.compile(r"^\s*([0-9a-f]+):\s*(.*)$")
SECTION = re.compile(r"^Disassembly of section (\S+):$")
# LTO may give a promoted local function a `.llvm.<n>` suffix.
LLVM_SUFFIX = re.compile(r"\.llvm\.\d+$")


def forbidden(insn):
    """Whether one disassembled instruction (objdump's text) is forbidden."""
    words = insn.split()
    while words and (words[0] in PREFIXES or words[0].startswith("rex")):
        words = words[1:]
    if not words:
        return False
    mnemonic = words[0]
    if mnemonic in FORBIDDEN_MNEMONICS:
        return True
    # MOV to or from a debug register (intercepted, #VC under SEV-ES/SNP).
    return mnemonic.startswith("mov") and bool(DEBUG_REGISTER.search(insn))


def scan(disassembly):
    """Yields ("symbol", section, name, address, None) for every symbol and
    ("insn", section, enclosing symbol, address, text) for every forbidden
    instruction of objdump's output."""
    section, function = None, None
    for line in disassembly.splitlines():
        m = SECTION.match(line)
        if m:
            section, function = m.group(1), None
            continue
        m = LABEL.match(line)
        if m:
            function = LLVM_SUFFIX.sub("", m.group(2))
            yield ("symbol", section, function, int(m.group(1), 16), None)
            continue
        m = INSN.match(line)
        if m and forbidden(m.group(2)):
            yield ("insn", section, function, int(m.group(1), 16), " ".join(m.group(2).split()))


def has_symbols(elf):
    """Whether the ELF still has function symbols (a stripped one has none)."""
    p = subprocess.run(["objdump", "-t", elf], capture_output=True, text=True, check=True)
    return any(" F " in line for line in p.stdout.splitlines())


def check(elf, allowed_functions=None, allowed_sections=None, out=sys.stdout):
    """Runs the check; returns the exit status (0 clean, 1 findings)."""
    allowed_functions = ALLOWED_FUNCTIONS if allowed_functions is None else allowed_functions
    allowed_sections = ALLOWED_SECTIONS if allowed_sections is None else allowed_sections
    if not has_symbols(elf):
        print(f"{elf}: no symbols (stripped?): refusing to check; build it with "
              "`image-builder build` and pass out/appliance.elf", file=out)
        return 1
    p = subprocess.run(["objdump", "-d", "-C", "--no-show-raw-insn", elf],
                       capture_output=True, text=True, check=True)
    functions, sections = set(), set()
    allowed_hits = {name: 0 for name in list(allowed_functions) + list(allowed_sections)}
    violations = []
    for kind, section, function, address, insn in scan(p.stdout):
        sections.add(section)
        if kind == "symbol":
            functions.add(function)
            continue
        if section in allowed_sections:
            allowed_hits[section] += 1
        elif function in allowed_functions:
            allowed_hits[function] += 1
        else:
            violations.append((function or f"<no symbol in {section}>", address, insn))
    stale = [n for n in allowed_functions if n not in functions]
    stale += [s for s in allowed_sections if s not in sections]
    unused = [n for n, hits in allowed_hits.items() if hits == 0 and n not in stale]

    print(f"{elf}: {len(functions)} functions scanned in {len(sections)} sections", file=out)
    for name, hits in allowed_hits.items():
        print(f"  allowed: {name}: {hits} forbidden instruction(s)", file=out)
    for function, address, insn in violations:
        print(f"FORBIDDEN {function} at {address:#x}: {insn}", file=out)
    for name in stale:
        print(f"STALE allowlist entry {name!r}: no such function or section in the ELF", file=out)
    for name in unused:
        print(f"STALE allowlist entry {name!r}: allows no forbidden instruction; remove it", file=out)
    if violations or stale or unused:
        print(f"guest binary check FAILED: {len(violations)} forbidden instruction(s) outside "
              f"the allowlist, {len(stale) + len(unused)} stale allowlist entr(y/ies)", file=out)
        return 1
    print("guest binary check passed: no forbidden instruction outside kernel::arch "
          "and the boot stub", file=out)
    return 0


def main(argv):
    elf = argv[1] if len(argv) > 1 else DEFAULT_ELF
    if shutil.which("objdump") is None:
        print("objdump not found: install binutils (apt-get install binutils)")
        return 2
    if not os.path.isfile(elf):
        print(f"{elf}: no such file (run `image-builder build --out out` first)")
        return 2
    return check(elf)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
