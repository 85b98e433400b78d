"""Test networks written by hand in torch (no torchvision).

Every factory returns a module in eval() mode with an ``input_shape``
attribute (C, H, W) telling callers what to feed it.  Weights are drawn from a
private RNG seeded by ``seed`` (the global torch RNG is left untouched), and
every BatchNorm gets non-trivial running statistics and affine parameters via
``randomize_batchnorm`` so that folding BN into a conv is really exercised.

Three "real" shapes (issue 2): ``resnet18_like``, ``mobilenetv2_like``,
``detector_like``; plus small nets, one per idiom the converter must handle,
collected in ``IDIOM_NETS`` (name -> factory).
"""
from __future__ import annotations

import contextlib

import torch
import torch.nn as nn
import torch.nn.functional as F


# ----------------------------------------------------------------- helpers

@contextlib.contextmanager
def _seeded(seed: int):
    """Build modules under a fixed seed without disturbing the caller's RNG."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def randomize_batchnorm(model: nn.Module, seed: int = 0) -> nn.Module:
    """Give every BatchNorm layer random (but numerically tame) running stats
    and affine parameters.  Fresh BN layers are the identity (mean 0, var 1,
    weight 1, bias 0), which would hide a wrong BN fold."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                c = m.num_features
                m.running_mean.copy_(torch.randn(c, generator=g) * 0.2)
                m.running_var.copy_(torch.rand(c, generator=g) * 1.5 + 0.5)
                if m.affine:
                    m.weight.copy_(torch.rand(c, generator=g) * 1.0 + 0.5)
                    m.bias.copy_(torch.randn(c, generator=g) * 0.2)
    return model


def _finish(model: nn.Module, input_shape, seed: int) -> nn.Module:
    randomize_batchnorm(model, seed + 1)
    model.input_shape = tuple(int(v) for v in input_shape)
    return model.eval()


# ----------------------------------------------------------------- ResNet18

class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                            nn.BatchNorm2d(cout))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + identity)


class ResNet18Like(nn.Module):
    def __init__(self, width: int = 64, num_classes: int = 1000):
        super().__init__()
        w = [width, width * 2, width * 4, width * 8]
        self.conv1 = nn.Conv2d(3, w[0], 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(w[0])
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        layers = []
        cin = w[0]
        for i, c in enumerate(w):
            stride = 1 if i == 0 else 2
            layers.append(nn.Sequential(BasicBlock(cin, c, stride), BasicBlock(c, c, 1)))
            cin = c
        self.layer1, self.layer2, self.layer3, self.layer4 = layers
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(w[3], num_classes)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        x = self.avgpool(x)
        x = torch.flatten(x, 1)  # the torchvision idiom
        return self.fc(x)


def resnet18_like(width: int = 64, num_classes: int = 1000, input_size: int = 224,
                  seed: int = 0) -> nn.Module:
    """ResNet18 shape: 7x7/2 stem, maxpool, 4 stages of 2 BasicBlocks (with 1x1
    downsample), global average pool, fc.  Defaults are full ResNet18
    (11.7 M parameters, 1x3x224x224); use e.g. width=8, num_classes=10,
    input_size=64 for a fast test."""
    with _seeded(seed):
        model = ResNet18Like(width, num_classes)
    return _finish(model, (3, input_size, input_size), seed)


# ----------------------------------------------------------------- MobileNetV2

def _conv_bn_relu6(cin, cout, k, stride, groups=1):
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride, (k - 1) // 2, groups=groups, bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU6(inplace=True))


class InvertedResidual(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, expand: int):
        super().__init__()
        hidden = cin * expand
        self.use_res = stride == 1 and cin == cout
        layers = []
        if expand != 1:
            layers.append(_conv_bn_relu6(cin, hidden, 1, 1))
        layers += [_conv_bn_relu6(hidden, hidden, 3, stride, groups=hidden),
                   nn.Conv2d(hidden, cout, 1, 1, 0, bias=False), nn.BatchNorm2d(cout)]
        self.conv = nn.Sequential(*layers)

    def forward(self, x):
        y = self.conv(x)
        return x + y if self.use_res else y


class MobileNetV2Like(nn.Module):
    # (expand, channels, repeats, stride) as in the MobileNetV2 paper, scaled by width_mult
    CONFIG = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
              (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]

    def __init__(self, width_mult: float = 1.0, num_classes: int = 1000, last_channel: int = 1280):
        super().__init__()

        def ch(c):
            return max(8, int(c * width_mult + 4) // 8 * 8)

        cin = ch(32)
        feats = [_conv_bn_relu6(3, cin, 3, 2)]
        for t, c, n, s in self.CONFIG:
            cout = ch(c)
            for i in range(n):
                feats.append(InvertedResidual(cin, cout, s if i == 0 else 1, t))
                cin = cout
        last = ch(last_channel) if width_mult > 1.0 else last_channel  # as torchvision
        feats.append(_conv_bn_relu6(cin, last, 1, 1))
        self.features = nn.Sequential(*feats)
        self.dropout = nn.Dropout(0.2)
        self.classifier = nn.Linear(last, num_classes)

    def forward(self, x):
        x = self.features(x)
        x = F.adaptive_avg_pool2d(x, 1)  # the torchvision idiom
        x = x.view(x.size(0), -1)       # the other flatten idiom
        return self.classifier(self.dropout(x))


def mobilenetv2_like(width_mult: float = 1.0, num_classes: int = 1000, input_size: int = 224,
                     seed: int = 0, last_channel: int = 1280) -> nn.Module:
    """MobileNetV2 shape: depthwise 3x3, ReLU6, inverted residuals with linear
    bottlenecks, adaptive average pool, view-flatten, dropout, fc."""
    with _seeded(seed):
        model = MobileNetV2Like(width_mult, num_classes, last_channel)
    return _finish(model, (3, input_size, input_size), seed)


# ----------------------------------------------------------------- detector

def _conv_bn_leaky(cin, cout, k=3, stride=1):
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride, k // 2, bias=False),
                         nn.BatchNorm2d(cout), nn.LeakyReLU(0.1, inplace=True))


class DetectorLike(nn.Module):
    """A tiny YOLO-style net: strided backbone, two scales, nearest upsample +
    concat (FPN), bilinear interpolate, sigmoid on the heads."""

    def __init__(self, width: int = 16, num_anchors: int = 3, num_classes: int = 4):
        super().__init__()
        w = width
        out = num_anchors * (5 + num_classes)
        self.stem = _conv_bn_leaky(3, w, 3, 2)
        self.c2 = _conv_bn_leaky(w, 2 * w, 3, 2)
        self.c3 = _conv_bn_leaky(2 * w, 4 * w, 3, 2)
        self.pool = nn.MaxPool2d(2, 2)
        self.c4 = _conv_bn_leaky(4 * w, 8 * w, 3, 1)
        self.lateral = _conv_bn_leaky(8 * w, 4 * w, 1, 1)
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.fuse = _conv_bn_leaky(8 * w, 4 * w, 3, 1)
        self.head_small = nn.Conv2d(8 * w, out, 1)
        self.head_large = nn.Conv2d(4 * w, out, 1)

    def forward(self, x):
        x = self.c2(self.stem(x))
        p3 = self.c3(x)                        # stride 8
        p4 = self.c4(self.pool(p3))            # stride 16
        lat = self.up(self.lateral(p4))        # back to stride 8
        f = self.fuse(torch.cat([lat, p3], 1))
        # a bilinear resize of the coarse head, added to the fine one
        coarse = torch.sigmoid(self.head_small(p4))
        coarse = F.interpolate(coarse, scale_factor=2.0, mode="bilinear", align_corners=False)
        return torch.sigmoid(self.head_large(f)) * 0.5 + coarse * 0.5


def detector_like(width: int = 16, num_classes: int = 4, input_size: int = 96,
                  seed: int = 0) -> nn.Module:
    """Detector shape: concat, nn.Upsample(nearest), F.interpolate(bilinear),
    sigmoid, leaky relu.  input_size must be a multiple of 16."""
    with _seeded(seed):
        model = DetectorLike(width, 3, num_classes)
    return _finish(model, (3, input_size, input_size), seed)


# ----------------------------------------------------------------- idiom nets
# Each exercises one way models are usually written; all are tiny.

class ViewFlattenNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, 2, 1)
        self.fc = nn.Linear(8 * 8 * 8, 10)

    def forward(self, x):
        x = F.relu(self.conv(x))
        x = x.view(x.size(0), -1)  # Shape/Gather/Unsqueeze/Concat/Reshape in ONNX
        return self.fc(x)


class TorchFlattenNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, 2, 1)
        self.fc = nn.Linear(8 * 8 * 8, 10)

    def forward(self, x):
        return self.fc(torch.flatten(torch.sigmoid(self.conv(x)), 1))


class ReshapeMinusOneNet(nn.Module):
    """x.reshape(1, -1) and a bias-free Linear (exported as MatMul)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, 2, 1)
        self.fc = nn.Linear(4 * 8 * 8, 6, bias=False)

    def forward(self, x):
        return self.fc(self.conv(x).reshape(1, -1))


class ZeroPadNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.pad = nn.ZeroPad2d((1, 2, 0, 1))  # left, right, top, bottom
        self.conv = nn.Conv2d(3, 8, 3, 1, 0)

    def forward(self, x):
        return F.relu(self.conv(self.pad(x)))


class ConstantPadNet(nn.Module):
    """Non-zero pad value: cannot fold into the conv, needs a Padding layer."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, 1, 0)

    def forward(self, x):
        return self.conv(F.pad(x, (2, 1, 1, 0), value=0.5))


class AdaptivePoolNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 16, 3, 1, 1)
        self.fc = nn.Linear(16, 5)

    def forward(self, x):
        x = F.adaptive_avg_pool2d(F.relu(self.conv(x)), 1)
        return self.fc(x.flatten(1))


class GlobalMaxPoolNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 16, 3, 1, 1)

    def forward(self, x):
        return F.adaptive_max_pool2d(self.conv(x), 1)


class HardSwishNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, 1, 1)
        self.act1 = nn.Hardswish()
        self.conv2 = nn.Conv2d(8, 8, 3, 1, 1)
        self.bn = nn.BatchNorm2d(8)

    def forward(self, x):
        x = self.act1(self.conv1(x))
        y = self.bn(self.conv2(x))
        # squeeze-excitation style gate with hardsigmoid, then a lone hardswish
        gate = F.hardsigmoid(F.adaptive_avg_pool2d(y, 1))
        return F.hardswish(y * gate + x)


class HandHardSwishNet(nn.Module):
    """hardswish written by hand, as older MobileNetV3 code does."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, 1, 1)

    def forward(self, x):
        x = self.conv(x)
        return x * F.relu6(x + 3.0) / 6.0


class CeilPoolNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, 1, 1)
        self.maxpool = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.avgpool = nn.AvgPool2d(3, 2, padding=1, ceil_mode=True, count_include_pad=False)
        self.avgpool_incl = nn.AvgPool2d(2, 2, padding=1, count_include_pad=True)

    def forward(self, x):
        x = self.maxpool(self.conv(x))
        return self.avgpool_incl(self.avgpool(x))


class GroupedConvNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, 1, 1)
        self.grouped = nn.Conv2d(8, 16, 3, 1, 1, groups=4)
        self.bn = nn.BatchNorm2d(16)
        self.depthwise = nn.Conv2d(16, 16, 3, 2, 1, groups=16)

    def forward(self, x):
        x = F.relu(self.bn(self.grouped(self.conv1(x))))
        return self.depthwise(x)


class DilationNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, 1, padding=2, dilation=2)
        self.conv2 = nn.Conv2d(8, 8, 3, 1, padding=(3, 1), dilation=(3, 1), groups=8)

    def forward(self, x):
        return self.conv2(F.leaky_relu(self.conv1(x), 0.2))


class AsymmetricPadNet(nn.Module):
    """Different kernel/stride/pad per axis."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, (3, 5), (1, 2), padding=(1, 2))
        self.conv2 = nn.Conv2d(8, 8, (1, 3), 1, padding=(0, 1))
        self.pool = nn.MaxPool2d((2, 3), (2, 1), padding=(1, 1))

    def forward(self, x):
        return self.pool(torch.clamp(self.conv2(self.conv1(x)), -0.8, 0.8))


class ChannelAffineNet(nn.Module):
    """Per-channel constants [C,1,1] (Scale / Bias), scalars, tensor-tensor
    binary ops, a lone BatchNorm that cannot be folded, softmax."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 6, 3, 1, 1)
        self.register_buffer("gain", torch.linspace(0.5, 1.5, 6).reshape(6, 1, 1))
        self.register_buffer("offset", torch.linspace(-0.3, 0.3, 6).reshape(6, 1, 1))
        self.bn = nn.BatchNorm2d(6)

    def forward(self, x):
        y = self.conv(x)
        a = y * self.gain + self.offset
        b = (y - self.offset) / 2.0 - 0.25
        c = self.bn(a + b)             # BN after an add: stays a BatchNorm layer
        d = torch.sigmoid(c) * (a - b) / (torch.sigmoid(b) + 1.0)
        return torch.softmax(d, dim=1)


class UpsampleNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, 2, 1)

    def forward(self, x):
        y = self.conv(x)
        a = F.interpolate(y, scale_factor=2, mode="nearest")
        b = F.interpolate(y, scale_factor=2, mode="bilinear", align_corners=True)
        c = F.interpolate(y, size=(16, 16), mode="bilinear", align_corners=False)
        return torch.cat([a, b, c, x], 1)


class SoftmaxNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, 2, 1)
        self.fc = nn.Linear(8 * 8 * 8, 10)

    def forward(self, x):
        return F.softmax(self.fc(torch.flatten(self.conv(x), 1)), dim=1)


class MultiOutputNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, 1, 1)
        self.a = nn.Conv2d(8, 4, 1)
        self.b = nn.Conv2d(8, 2, 3, 2, 1)

    def forward(self, x):
        y = F.relu(self.conv(x))
        return self.a(y), torch.sigmoid(self.b(y))


class MatMulAddNet(nn.Module):
    """x @ W + b written by hand: MatMul + Add in ONNX, one InnerProduct in ncnn."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, 2, 1)
        self.w = nn.Parameter(torch.randn(4 * 8 * 8, 7) * 0.05)
        self.b = nn.Parameter(torch.randn(7) * 0.1)

    def forward(self, x):
        return torch.matmul(torch.flatten(self.conv(x), 1), self.w) + self.b


class MeanPoolNet(nn.Module):
    """x.mean((2, 3)) instead of adaptive pooling: ReduceMean in ONNX."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 12, 3, 1, 1)
        self.fc = nn.Linear(12, 4)

    def forward(self, x):
        return self.fc(F.relu(self.conv(x)).mean((2, 3)))


class OutputAlsoReadNet(nn.Module):
    """The first graph output is also read by later layers (Split must keep
    the output name on an unread blob)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, 1, 1)
        self.conv2 = nn.Conv2d(4, 4, 1)

    def forward(self, x):
        y = self.conv(x)
        return y, self.conv2(F.relu(y)) + y


def _idiom(cls, input_size: int = 16):
    def factory(seed: int = 0) -> nn.Module:
        with _seeded(seed):
            model = cls()
        return _finish(model, (3, input_size, input_size), seed)
    factory.__name__ = cls.__name__
    factory.__doc__ = cls.__doc__
    return factory


IDIOM_NETS = {
    "view_flatten": _idiom(ViewFlattenNet),
    "torch_flatten": _idiom(TorchFlattenNet),
    "reshape_matmul": _idiom(ReshapeMinusOneNet),
    "zero_pad": _idiom(ZeroPadNet),
    "constant_pad": _idiom(ConstantPadNet),
    "adaptive_pool": _idiom(AdaptivePoolNet),
    "global_max_pool": _idiom(GlobalMaxPoolNet),
    "hardswish": _idiom(HardSwishNet),
    "hand_hardswish": _idiom(HandHardSwishNet),
    "ceil_pool": _idiom(CeilPoolNet, 17),
    "grouped_conv": _idiom(GroupedConvNet),
    "dilation": _idiom(DilationNet),
    "asymmetric_pad": _idiom(AsymmetricPadNet, 15),
    "channel_affine": _idiom(ChannelAffineNet),
    "upsample": _idiom(UpsampleNet),
    "softmax": _idiom(SoftmaxNet),
    "multi_output": _idiom(MultiOutputNet),
    "matmul_add": _idiom(MatMulAddNet),
    "mean_pool": _idiom(MeanPoolNet),
    "output_also_read": _idiom(OutputAlsoReadNet),
}

# The three networks issue 2 requires, at sizes that keep a test run fast.
SMALL_NETS = {
    "resnet18": lambda seed=0: resnet18_like(width=8, num_classes=10, input_size=64, seed=seed),
    "mobilenetv2": lambda seed=0: mobilenetv2_like(width_mult=0.25, num_classes=10, input_size=64,
                                                   seed=seed, last_channel=128),
    "detector": lambda seed=0: detector_like(width=8, num_classes=4, input_size=64, seed=seed),
}
