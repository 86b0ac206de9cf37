#!/usr/bin/python3
# Writes fixtures.txt: the expected outputs and gradients of the layers of issue 14, computed by
# PyTorch (Debian's python3-torch 1.13, CPU, float64), for tests/test_torch_layers.cpp.
#
#   /usr/bin/python3 tests/data/torch_layers/generate.py > tests/data/torch_layers/fixtures.txt
#
# Every case draws its inputs from torch.manual_seed(<case number>) and rounds them to float32, so
# float and double runs of housenet read the same inputs (written with 9 significant digits: exact);
# the expected values are computed in float64 from those inputs and written with 10. For a case, `r` is the
# gradient fed to backward (the loss is sum(y * r)); `grad.<p>` the gradients PyTorch returns.
# Line format: <name> <dims, x-separated> <values...>
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
out = []


def put(name, t, digits=10):
    t = t.detach().reshape(t.shape if t.dim() else (1,))
    dims = "x".join(str(d) for d in t.shape)
    out.append(name + " " + dims + " " + " ".join("%.*g" % (digits, v) for v in t.flatten().tolist()))


def rand(*shape, lo=-1.0, hi=1.0):
    return (torch.rand(*shape) * (hi - lo) + lo).float().double()


def case(seed, name, x, fn, params=()):
    torch.manual_seed(seed)
    x = x().requires_grad_(True)
    ps = [p().requires_grad_(True) for _, p in params]
    y = fn(x, *ps)
    r = rand(*y.shape)
    (y * r).sum().backward()
    put(name + ".x", x, 9)
    for (pn, _), p in zip(params, ps):
        put(name + "." + pn, p, 9)
    put(name + ".y", y)
    put(name + ".r", r, 9)
    put(name + ".grad.x", x.grad)
    for (pn, _), p in zip(params, ps):
        put(name + ".grad." + pn, p.grad)


odd = (2, 3, 7, 5)
wide = lambda: rand(*odd, lo=-12.0, hi=12.0)  # the activations' saturated ends too
case(1, "leaky_relu", wide, lambda x: F.leaky_relu(x, 0.1))
case(2, "sigmoid", wide, torch.sigmoid)
case(3, "tanh", wide, torch.tanh)
case(4, "avg_pool_ceil_pad", lambda: rand(*odd), lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=True))
case(5, "avg_pool_ceil_nopad", lambda: rand(*odd), lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False))
case(6, "avg_pool_2x2", lambda: rand(*odd), lambda x: F.avg_pool2d(x, 2, 2))
case(7, "avg_pool_k2s3p1_ceil", lambda: rand(1, 2, 9, 5), lambda x: F.avg_pool2d(x, 2, 3, 1, ceil_mode=True, count_include_pad=True))
case(8, "global_avg_pool", lambda: rand(*odd), lambda x: F.adaptive_avg_pool2d(x, 1))
# conv2d: groups with two channels per group (the per-group GEMM path), dilation, depthwise
case(9, "conv_groups3_dil2", lambda: rand(2, 6, 7, 6),
     lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=2, dilation=2, groups=3),
     [("weight", lambda: rand(9, 2, 3, 3)), ("bias", lambda: rand(9))])
case(10, "conv_dilation3", lambda: rand(2, 3, 8, 7),
     lambda x, w, b: F.conv2d(x, w, b, stride=1, padding=1, dilation=3),
     [("weight", lambda: rand(4, 3, 3, 3)), ("bias", lambda: rand(4))])
case(11, "conv_depthwise", lambda: rand(2, 4, 5, 6),
     lambda x, w, b: F.conv2d(x, w, b, stride=1, padding=1, groups=4),
     [("weight", lambda: rand(4, 1, 3, 3)), ("bias", lambda: rand(4))])
case(12, "conv_depthwise_x2_s2_dil2", lambda: rand(2, 3, 9, 7),
     lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=2, dilation=2, groups=3),
     [("weight", lambda: rand(6, 1, 3, 3)), ("bias", lambda: rand(6))])


# A chain with batch norm after convolutions: conv -> bn -> relu -> depthwise conv -> bn -> tanh
# -> global average pool -> linear, in training mode (batch statistics; the running statistics
# after one step are written too). Batch norm as housenet's: eps 2e-5, momentum 0.1 (decay 0.9).
def chain(x, w1, b1, g1, be1, w2, g2, be2, wl, bl):
    global rm1, rv1, rm2, rv2
    rm1, rv1, rm2, rv2 = torch.zeros(4), torch.ones(4), torch.zeros(4), torch.ones(4)
    h = F.conv2d(x, w1, b1, padding=1)
    h = F.relu(F.batch_norm(h, rm1, rv1, g1, be1, training=True, momentum=0.1, eps=2e-5))
    h = F.conv2d(h, w2, None, padding=1, groups=4)
    h = torch.tanh(F.batch_norm(h, rm2, rv2, g2, be2, training=True, momentum=0.1, eps=2e-5))
    return F.linear(F.adaptive_avg_pool2d(h, 1).flatten(1), wl, bl)


case(13, "chain", lambda: rand(3, 3, 6, 5), chain,
     [("conv1.weight", lambda: rand(4, 3, 3, 3)), ("conv1.bias", lambda: rand(4)),
      ("bn1.gamma", lambda: rand(4, lo=0.5, hi=1.5)), ("bn1.beta", lambda: rand(4)),
      ("conv2.weight", lambda: rand(4, 1, 3, 3)),
      ("bn2.gamma", lambda: rand(4, lo=0.5, hi=1.5)), ("bn2.beta", lambda: rand(4)),
      ("linear.weight", lambda: rand(2, 4)), ("linear.bias", lambda: rand(2))])
put("chain.bn1.running_mean", rm1)
put("chain.bn1.running_var", rv1)
put("chain.bn2.running_mean", rm2)
put("chain.bn2.running_var", rv2)

print("# made by tests/data/torch_layers/generate.py with torch " + torch.__version__ + " (see its header)")
print("\n".join(out))
