#!/usr/bin/env python3
"""Optional exhaustive check: HF ids for "x<c>x" and "<c>" for every code point.

Too large to commit (~20 MB); run it by hand when the Unicode handling
changes, then the ignored Rust test compares:

    /tmp/tokvenv/bin/python testdata/codepoints.py /tmp/codepoints.txt
    WORDPIECE_CODEPOINTS=/tmp/codepoints.txt cargo test -p wordpiece \
        --test codepoints -- --ignored

Output lines: "<hex code point> <ids of x<c>x> | <ids of <c>>", ids
comma-separated, without [CLS]/[SEP].
"""
import os
import sys

from tokenizers import Tokenizer

import make_reference


def main():
    out = sys.argv[1]
    tok = Tokenizer.from_file(make_reference.tokenizer_json_path(sys.argv[2] if len(sys.argv) > 2 else None))
    tok.no_padding()
    tok.no_truncation()
    cps = [c for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    wrapped = tok.encode_batch([f"x{chr(c)}x" for c in cps], add_special_tokens=False)
    alone = tok.encode_batch([chr(c) for c in cps], add_special_tokens=False)
    with open(out, "w") as f:
        for c, a, b in zip(cps, wrapped, alone):
            f.write(f"{c:x} {','.join(map(str, a.ids))} | {','.join(map(str, b.ids))}\n")
    print(f"wrote {len(cps)} code points to {out}")


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    main()
