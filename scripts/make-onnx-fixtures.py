#!/usr/bin/python3
# scripts/make-onnx-fixtures.py: the ONNX import fixtures of tests/test_onnx.cpp, made by PyTorch
# (Debian's python3-torch 1.13; run by hand with /usr/bin/python3, not in CI):
#   /usr/bin/python3 scripts/make-onnx-fixtures.py tests/data/onnx
# For each small network: NAME.onnx (torch.onnx.export, eval mode, batch dimension dynamic, BN kept
# as BatchNormalization: training=PRESERVE, no constant folding), NAME.input.bin and
# NAME.output.bin (raw little-endian float32, C order: PyTorch's input and output), and one line
# in MANIFEST: "NAME opset input-shape output-shape". Random weights and running statistics
# (seeded), so nothing passes by being zero or one.
import os
import sys

import torch
import torch.nn as nn


class Seed(nn.Module):  # the seed network's pattern: conv-bn-relu-maxpool(ceil) -> linear
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.p = nn.MaxPool2d(2, 2, ceil_mode=True)
        self.c2 = nn.Conv2d(4, 6, 3, padding=1, bias=False)
        self.p2 = nn.MaxPool2d(3, 2, padding=1)
        self.l1 = nn.Linear(6 * 3 * 3, 8)
        self.l2 = nn.Linear(8, 3)

    def forward(self, x):
        x = self.p(torch.relu(self.bn(self.c1(x))))
        x = self.p2(torch.relu(self.c2(x)))
        return self.l2(torch.relu(self.l1(torch.flatten(x, 1))))


class Res(nn.Module):  # a residual block with a projection shortcut, global pooling
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 4, 3, padding=1, bias=False)
        self.b1 = nn.BatchNorm2d(4)
        self.c2 = nn.Conv2d(4, 8, 3, stride=2, padding=1, bias=False)
        self.b2 = nn.BatchNorm2d(8)
        self.c3 = nn.Conv2d(8, 8, 3, padding=1, bias=False)
        self.b3 = nn.BatchNorm2d(8)
        self.proj = nn.Conv2d(4, 8, 1, stride=2, bias=False)
        self.bp = nn.BatchNorm2d(8)
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(8, 5)

    def forward(self, x):
        x = torch.relu(self.b1(self.c1(x)))
        y = self.b3(self.c3(torch.relu(self.b2(self.c2(x)))))
        x = torch.relu(y + self.bp(self.proj(x)))
        return self.fc(torch.flatten(self.gap(x), 1))


class Inception(nn.Module):  # branches concatenated, average pooling both ways, dilation
    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(3, 2, 1)
        self.b = nn.Conv2d(3, 3, 3, padding=2, dilation=2)
        self.pool = nn.AvgPool2d(3, 1, 1, count_include_pad=False)
        self.c = nn.Conv2d(3, 2, 1)
        self.p2 = nn.AvgPool2d(2, 2, ceil_mode=True, count_include_pad=False)
        self.fc = nn.Linear(7 * 5 * 5, 4)

    def forward(self, x):
        x = torch.cat([self.a(x), self.b(x), self.c(self.pool(x))], 1)
        return self.fc(torch.flatten(self.p2(torch.relu(x)), 1))


class Mobile(nn.Module):  # depthwise + pointwise, LeakyReLU, Sigmoid and Tanh heads
    def __init__(self):
        super().__init__()
        self.c0 = nn.Conv2d(3, 6, 3, stride=2, padding=1)
        self.dw = nn.Conv2d(6, 6, 3, padding=1, groups=6, bias=False)
        self.b = nn.BatchNorm2d(6)
        self.pw = nn.Conv2d(6, 8, 1)
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(8, 3)

    def forward(self, x):
        x = nn.functional.leaky_relu(self.c0(x), 0.2)
        x = torch.sigmoid(self.pw(nn.functional.leaky_relu(self.b(self.dw(x)), 0.2)))
        return torch.tanh(self.fc(torch.flatten(self.gap(x), 1)))


class Head(nn.Module):  # x.view(x.size(0), -1), explicit x @ W + b heads, a final softmax
    def __init__(self, dim):
        super().__init__()
        self.dim = dim
        self.c = nn.Conv2d(3, 4, 3, padding=1)
        self.p = nn.MaxPool2d(2, 2)
        self.w1 = nn.Parameter(torch.empty(4 * 4 * 4, 10))
        self.b1 = nn.Parameter(torch.empty(10))
        self.w2 = nn.Parameter(torch.empty(10, 10))
        self.w3 = nn.Parameter(torch.empty(10, 3))
        self.b3 = nn.Parameter(torch.empty(3))

    def forward(self, x):
        x = self.p(torch.relu(self.c(x)))
        x = x.view(x.size(0), -1)             # Shape, Gather, Unsqueeze, Concat, Reshape
        x = torch.relu(x @ self.w1 + self.b1)  # MatMul + Add
        x = x.view(x.size(0), -1)             # a Reshape that keeps the shape
        x = torch.tanh(x @ self.w2)           # MatMul without bias
        return torch.softmax(x @ self.w3 + self.b3, dim=self.dim)


def randomize(net, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in list(net.named_parameters()) + list(net.named_buffers()):
            if t.dtype != torch.float32:
                continue
            v = torch.rand(t.shape, generator=g)
            t.copy_(v + 0.3 if "running_var" in name else v - 0.5)


def main(out):
    os.makedirs(out, exist_ok=True)
    cases = [("seed", Seed(), 13, (2, 3, 9, 9)), ("resnet", Res(), 11, (2, 3, 8, 8)),
             ("inception", Inception(), 17, (2, 3, 9, 9)), ("mobilenet", Mobile(), 13, (2, 3, 10, 10)),
             ("head11", Head(1), 11, (2, 3, 8, 8)), ("head13", Head(-1), 13, (2, 3, 8, 8)),
             ("head17", Head(1), 17, (3, 3, 8, 8))]
    lines = []
    for i, (name, net, opset, shape) in enumerate(cases):
        randomize(net, 100 + i)
        net.eval()
        x = torch.rand(shape, generator=torch.Generator().manual_seed(200 + i)) * 2 - 1
        with torch.no_grad():
            y = net(x)
        torch.onnx.export(net, x, os.path.join(out, name + ".onnx"), opset_version=opset,
                          training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False,
                          input_names=["x"], output_names=["y"], dynamic_axes={"x": {0: "N"}, "y": {0: "N"}})
        x.numpy().astype("<f4").tofile(os.path.join(out, name + ".input.bin"))
        y.numpy().astype("<f4").tofile(os.path.join(out, name + ".output.bin"))
        lines.append("%s %d %s %s" % (name, opset, "x".join(map(str, shape)), "x".join(map(str, y.shape))))
    with open(os.path.join(out, "MANIFEST"), "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/data/onnx")
