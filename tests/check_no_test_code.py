#!/usr/bin/env python3
"""Checks that a production image holds no test code (issue 11, item 4).

The self-tests, the HTTP test routes, the network test service and the
deliberate faults compile only into the test image (app feature
`test-image`, `image-builder build --test-image`). This looks at what was
really linked: the symbols of DIR/appliance.elf (demangled) and the bytes of
DIR/appliance.bin (the measured image).

Usage: tests/check_no_test_code.py [--expect-test-code] [DIR]
  DIR defaults to out/ (production). Exit 0: no test code found; 1: some
  found (each listed); 2: the check could not run (no objdump, no file, no
  symbols).
  --expect-test-code inverts the verdict, for the test image (out/test/):
  exit 0 only when both a test symbol and a test string are found, so the
  check is shown to be able to fail.
"""

import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_DIR = os.path.join(ROOT, "out")

# Parts of demangled symbol names that only test code defines. (Enum
# variants such as `Reply::Pattern` are no symbols; the strings below catch
# their paths. LTO inlines much, so a test image may show few of these.)
TEST_SYMBOLS = [
    "app::selftest",
    "app::net_selftest",
    "app::model_selftest",
    "app::test_routes",
    "kernel::fault_test",
    "http_server::run_test",
    "http_server::pattern",
]
# Byte strings only test code prints or reads (the fw_cfg names the host
# would use to select a test).
TEST_STRINGS = [
    b"opt/appliance/selftest",
    b"opt/appliance/fault-early",
    b"self-test",
    b"selftest",
    b"http-fast-timeouts",
    b"fault test:",
    b"heap test:",
    b"fw_cfg stream:",
    b"net: test service",
    b"quit requested",
]
# Present in every appliance ELF: without it the symbol table is missing or
# not this program's, and a clean result would mean nothing.
ANCHOR = "app::appliance_main"


def symbol_names(elf):
    p = subprocess.run(["objdump", "-t", "-C", elf], capture_output=True, text=True, check=True)
    names = []
    for line in p.stdout.splitlines():
        # objdump -t: "ADDR FLAGS SECTION SIZE NAME"; the name may contain spaces.
        parts = line.split(None, 5)
        if len(parts) == 6 and parts[0].strip("0123456789abcdef") == "":
            names.append(parts[5])
    return names


def find_test_symbols(names):
    return sorted({n for n in names if any(t in n for t in TEST_SYMBOLS)})


def find_test_strings(data):
    return [s for s in TEST_STRINGS if s in data]


def check(directory, out=sys.stdout):
    """Returns (exit status, symbols found, strings found); status 2 when the
    check cannot run."""
    elf = os.path.join(directory, "appliance.elf")
    image = os.path.join(directory, "appliance.bin")
    for path in (elf, image):
        if not os.path.isfile(path):
            print(f"{path}: no such file (run `image-builder build` first)", file=out)
            return 2, [], []
    names = symbol_names(elf)
    if not any(ANCHOR in n for n in names):
        print(f"{elf}: no symbol {ANCHOR}: stripped or not the appliance", file=out)
        return 2, [], []
    with open(image, "rb") as f:
        data = f.read()
    with open(elf, "rb") as f:
        # Strings may also sit in sections of the ELF the image flattening
        # keeps; read both.
        data_elf = f.read()
    symbols = find_test_symbols(names)
    strings = sorted(set(find_test_strings(data)) | set(find_test_strings(data_elf)))
    for s in symbols:
        print(f"TEST SYMBOL {s}", file=out)
    for s in strings:
        where = "appliance.bin" if s in data else "appliance.elf"
        print(f"TEST STRING {s.decode()!r} in {where}", file=out)
    print(f"{directory}: {len(names)} symbols and {len(data)} image bytes scanned; "
          f"{len(symbols)} test symbols, {len(strings)} test strings", file=out)
    return (1 if symbols or strings else 0), symbols, strings


def main(argv):
    expect = "--expect-test-code" in argv
    args = [a for a in argv if a != "--expect-test-code"]
    if shutil.which("objdump") is None:
        print("objdump not found: install binutils (apt-get install binutils)")
        return 2
    directory = args[0] if args else DEFAULT_DIR
    status, symbols, strings = check(directory)
    if status == 2:
        return 2
    if expect:
        if symbols and strings:
            print("ok: the check finds the test image's test code")
            return 0
        print("FAILED: expected test symbols and test strings in a test image")
        return 1
    print("ok: no test code" if status == 0 else "FAILED: test code in a production image")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
