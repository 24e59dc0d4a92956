#!/usr/bin/env python3
"""Trains the tiny test model: scikit-learn MLP (64-32-10, ReLU) on the bundled
8x8 digits data, and exports it for the engine's known-answer test.

Split: 75/25 stratified, random_state 0 (450 test images). Inputs are pixels/16.
Writes host/model-tools/testdata/digits_mlp.bin (little-endian):
  b"DIGITS01", u32 layers, u32 dims[layers + 1], f32 input_scale,
  per layer: f32 W[N x K] (row per output channel), f32 b[N],
  u32 n_test, u8 X[n_test x 64] (raw pixels 0..16), u8 y[n_test],
  u8 float_pred[n_test] (scikit-learn), u8 int8_pred[n_test] (numpy simulation of
  the engine's int8 scheme: per-channel weights, activation groups of 32).

Usage: python tools/model/train_digits.py [OUT_DIR]
"""
import struct
import sys
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier

GROUP = 32
F = np.float32


def quantize_rows(w):
    """Symmetric int8 per row; scale = max|row| / 127 in f32, round half even."""
    amax = np.abs(w).max(axis=1).astype(F)
    scale = (amax / F(127)).astype(F)
    safe = np.where(scale == 0, F(1), scale)
    q = np.clip(np.round(w / safe[:, None]), -127, 127)
    q[scale == 0] = 0
    return q.astype(np.int32), scale


def int8_linear(x, w, b):
    """What the engine computes, in the same f32 operation order."""
    q, wscale = quantize_rows(w)
    out = np.zeros(w.shape[0], dtype=F)
    for g in range(x.shape[0] // GROUP):
        xg = x[g * GROUP:(g + 1) * GROUP]
        amax = np.abs(xg).max()
        s = F(amax / F(127))
        if s == 0:
            xq = np.zeros(GROUP, dtype=np.int32)
        else:
            xq = np.clip(np.round(xg / s), -127, 127).astype(np.int32)
        dots = q[:, g * GROUP:(g + 1) * GROUP] @ xq
        out = (out + dots.astype(F) * s).astype(F)
    return (out * wscale + b).astype(F)


def main() -> None:
    out_dir = Path(sys.argv[1] if len(sys.argv) > 1 else "host/model-tools/testdata")
    digits = load_digits()
    x, y = digits.data, digits.target
    xtr, xte, ytr, yte = train_test_split(x, y, test_size=0.25, stratify=y, random_state=0)
    clf = MLPClassifier(hidden_layer_sizes=(32,), activation="relu", max_iter=1000, random_state=0)
    clf.fit(xtr / 16.0, ytr)
    float_pred = clf.predict(xte / 16.0)
    layers = [(W.T.astype(F), b.astype(F)) for W, b in zip(clf.coefs_, clf.intercepts_)]

    int8_pred = []
    for img in xte:
        a = (img.astype(F) * F(1 / 16)).astype(F)
        for i, (w, b) in enumerate(layers):
            a = int8_linear(a, w, b)
            if i + 1 < len(layers):
                a = np.maximum(a, F(0))
        int8_pred.append(int(np.argmax(a)))
    int8_pred = np.array(int8_pred)

    buf = bytearray(b"DIGITS01")
    dims = [layers[0][0].shape[1]] + [w.shape[0] for w, _ in layers]
    buf += struct.pack("<I", len(layers)) + struct.pack(f"<{len(dims)}I", *dims)
    buf += struct.pack("<f", 1 / 16)
    for w, b in layers:
        buf += w.astype("<f4").tobytes() + b.astype("<f4").tobytes()
    buf += struct.pack("<I", len(yte))
    buf += xte.astype(np.uint8).tobytes() + yte.astype(np.uint8).tobytes()
    buf += float_pred.astype(np.uint8).tobytes() + int8_pred.astype(np.uint8).tobytes()
    (out_dir / "digits_mlp.bin").write_bytes(bytes(buf))
    fa, ia = (float_pred == yte).mean(), (int8_pred == yte).mean()
    same = (float_pred == int8_pred).mean()
    print(f"float acc {fa:.4f}, int8 (simulated) acc {ia:.4f}, same prediction {same:.4f}, "
          f"{len(buf)} bytes")


if __name__ == "__main__":
    main()
