#!/usr/bin/env python3
"""Writes tests/data/ensemble_linear2.hsnt and ensemble_linear2.expected: an ensemble file made
without housenet's own writer (Python's struct and zlib only), from docs/model-format.md.

Two members, each one linear layer (input 1x2x3, 3 classes, labels a,b,c), weights and biases
exact binary fractions. The .expected file holds, for the input x = (0.1 * i - 0.2), i = 0..5, the
mean of the members' softmax probabilities, without and with the horizontal mirror of x (W
reversed), computed here in double: tests/test_ensemble.cpp compares housenet's answer to it.

Run: /usr/bin/python3 tests/data/make_ensemble_fixture.py   (from the repository root)
"""
import math
import os
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
C, H, W, K = 1, 2, 3, 3


def model_file(weight, bias):
    records = b""
    for name, dims, values in (("1.linear.weight", (K, C * H * W), weight), ("1.linear.bias", (K,), bias)):
        records += struct.pack("<I", len(name)) + name.encode() + struct.pack("<I", len(dims))
        records += b"".join(struct.pack("<Q", d) for d in dims)
        records += b"".join(struct.pack("<f", v) for v in values)
    header = ("housenet_version=fixture\ndtype=f32\nbyte_order=little\npayload_bytes=%d\ninput=%dx%dx%d\n"
              "classes=%d\nlabels=a,b,c\nlayers=1\nlayer=linear/1 out_features=%d bias=1 init=lecun\n"
              "records=2\nmodel_step=0\n" % (len(records) + 4, C, H, W, K, K)).encode()
    body = b"HSNT" + struct.pack("<IIQ", 1, 0, len(header)) + header + records
    return body + struct.pack("<I", zlib.crc32(body) & 0xFFFFFFFF)


members = [
    ([0.5, -0.25, 0.125, 1.0, 0.0, -0.5,  -1.0, 0.75, 0.25, 0.0, 0.5, 0.125,  0.25, 0.25, -0.75, 0.5, -0.125, 1.0],
     [0.1, -0.2, 0.0]),
    ([-0.5, 1.25, 0.0, 0.25, -1.0, 0.5,  0.375, -0.25, 0.5, 1.0, 0.0, -0.75,  0.0, 0.5, 0.25, -0.5, 0.75, 0.25],
     [0.0, 0.3, -0.1]),
]
files = [model_file(w, b) for w, b in members]
payload = b"".join(struct.pack("<Q", len(f)) + f for f in files)
header = ("housenet_version=fixture\npayload_bytes=%d\nmembers=%d\ncombine=mean_probabilities\n"
          % (len(payload) + 4, len(files))).encode()
body = b"HSNT" + struct.pack("<IIQ", 1, 2, len(header)) + header + payload
with open(os.path.join(HERE, "ensemble_linear2.hsnt"), "wb") as f:
    f.write(body + struct.pack("<I", zlib.crc32(body) & 0xFFFFFFFF))


def f32(v):
    return struct.unpack("<f", struct.pack("<f", v))[0]


def probs(x):
    total = [0.0] * K
    for w, b in members:
        z = [sum(f32(w[k * 6 + i]) * f32(x[i]) for i in range(6)) + f32(b[k]) for k in range(K)]
        m = max(z)
        e = [math.exp(v - m) for v in z]
        for k in range(K):
            total[k] += e[k] / sum(e) / len(members)
    return total


x = [0.1 * i - 0.2 for i in range(C * H * W)]
mirrored = [x[h * W + (W - 1 - w)] for h in range(H) for w in range(W)]
plain = probs(x)
flip = [(a + b) / 2 for a, b in zip(plain, probs(mirrored))]
with open(os.path.join(HERE, "ensemble_linear2.expected"), "w") as f:
    f.write("# x = 0.1 * i - 0.2 (i = 0..5) as float32, shape 1x1x2x3; mean softmax of the 2 members\n")
    f.write("plain " + " ".join("%.9f" % p for p in plain) + "\n")
    f.write("flip " + " ".join("%.9f" % p for p in flip) + "\n")
