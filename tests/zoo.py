"""A model zoo written by hand (torchvision does not import here): the
architectures board users bring, at realistic structure but CI-sized inputs
and width multipliers.  Each factory returns an eval() module with random
weights (BatchNorm statistics randomized by nets.randomize_batchnorm) and an
``input_shape`` (C, H, W).  ZOO maps name -> (factory, kind) with kind
"classifier" (a class vector: top-1 agreement is meaningful) or "dense"
(detector / segmentation maps).

    python tests/zoo_table.py          # runs the zoo, prints the README table
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from nets import _finish, _seeded


def _div(v: float, d: int = 8) -> int:
    """Round channels to a multiple of d (MobileNet's _make_divisible)."""
    n = max(d, int(v + d / 2) // d * d)
    return n + d if n < 0.9 * v else n


def cbr(cin, cout, k=3, s=1, groups=1, act="relu"):
    acts = {"relu": nn.ReLU(inplace=True), "relu6": nn.ReLU6(inplace=True), "hswish": nn.Hardswish(),
            "silu": nn.SiLU(), "leaky": nn.LeakyReLU(0.1), "none": nn.Identity()}
    return nn.Sequential(nn.Conv2d(cin, cout, k, s, (k - 1) // 2, groups=groups, bias=False),
                         nn.BatchNorm2d(cout), acts[act])


class SE(nn.Module):
    def __init__(self, c, r=4, gate="sigmoid", act="relu"):
        super().__init__()
        mid = _div(c / r)
        self.fc1, self.fc2 = nn.Conv2d(c, mid, 1), nn.Conv2d(mid, c, 1)
        self.act = nn.ReLU(inplace=True) if act == "relu" else nn.SiLU()
        self.gate = nn.Hardsigmoid() if gate == "hsigmoid" else nn.Sigmoid()

    def forward(self, x):
        s = F.adaptive_avg_pool2d(x, 1)
        return x * self.gate(self.fc2(self.act(self.fc1(s))))


class Classifier(nn.Module):
    """features -> global average pool -> (optional 1x1 conv head) -> fc"""

    def __init__(self, features, cfeat, num_classes=100, head=None):
        super().__init__()
        self.features, self.head = features, head or nn.Identity()
        self.fc = nn.Linear(cfeat, num_classes)

    def forward(self, x):
        x = F.adaptive_avg_pool2d(self.features(x), 1)
        return self.fc(torch.flatten(self.head(x), 1))


# ----------------------------------------------------------------- ShuffleNetV2

def channel_shuffle(x, groups):
    n, c, h, w = x.shape
    return x.view(n, groups, c // groups, h, w).transpose(1, 2).contiguous().view(n, c, h, w)


class ShuffleBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.stride = stride
        mid = cout // 2
        if stride > 1:
            self.branch1 = nn.Sequential(cbr(cin, cin, 3, stride, cin, "none"), cbr(cin, mid, 1))
        self.branch2 = nn.Sequential(cbr(cin if stride > 1 else mid, mid, 1), cbr(mid, mid, 3, stride, mid, "none"),
                                     cbr(mid, mid, 1))

    def forward(self, x):
        if self.stride == 1:
            a, b = x.chunk(2, dim=1)
            out = torch.cat((a, self.branch2(b)), dim=1)
        else:
            out = torch.cat((self.branch1(x), self.branch2(x)), dim=1)
        return channel_shuffle(out, 2)


def shufflenet_v2(seed=0, size=112):
    """ShuffleNetV2 x0.5: channels 24-48-96-192-1024, repeats 4-8-4."""
    with _seeded(seed):
        widths, repeats = [48, 96, 192], [4, 8, 4]
        layers, cin = [cbr(3, 24, 3, 2), nn.MaxPool2d(3, 2, 1)], 24
        for c, r in zip(widths, repeats):
            layers += [ShuffleBlock(cin, c, 2)] + [ShuffleBlock(c, c, 1) for _ in range(r - 1)]
            cin = c
        layers.append(cbr(cin, 1024, 1))
        model = Classifier(nn.Sequential(*layers), 1024)
    return _finish(model, (3, size, size), seed)


# ----------------------------------------------------------------- MobileNets

def mobilenet_v1(seed=0, size=112, alpha=0.25):
    cfg = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2)] + [(512, 1)] * 5 + [(1024, 2), (1024, 1)]
    with _seeded(seed):
        cin = _div(32 * alpha)
        layers = [cbr(3, cin, 3, 2)]
        for c, s in cfg:
            c = _div(c * alpha)
            layers += [cbr(cin, cin, 3, s, cin), cbr(cin, c, 1)]
            cin = c
        model = Classifier(nn.Sequential(*layers), cin)
    return _finish(model, (3, size, size), seed)


class MBConv(nn.Module):
    """Inverted residual (MobileNetV2/V3, MnasNet, EfficientNet-lite)."""

    def __init__(self, cin, cout, k, stride, expand, act="relu6", se=None):
        super().__init__()
        hidden = _div(cin * expand) if expand != 1 else cin
        layers = [] if expand == 1 else [cbr(cin, hidden, 1, act=act)]
        layers.append(cbr(hidden, hidden, k, stride, hidden, act))
        if se:
            layers.append(SE(hidden, **se))
        layers.append(cbr(hidden, cout, 1, act="none"))
        self.block = nn.Sequential(*layers)
        self.res = stride == 1 and cin == cout

    def forward(self, x):
        y = self.block(x)
        return x + y if self.res else y


def _mbconv_net(cfg, stem, last, alpha, act="relu6", head=None, head_act=None):
    cin = _div(stem * alpha)
    layers = [cbr(3, cin, 3, 2, act=act)]
    for expand, c, n, s, k, se, a in cfg:
        c = _div(c * alpha)
        for i in range(n):
            layers.append(MBConv(cin, c, k, s if i == 0 else 1, expand, a or act, se))
            cin = c
    layers.append(cbr(cin, last, 1, act=head_act or act))
    return nn.Sequential(*layers), last


def mobilenet_v2(seed=0, size=112, alpha=0.35):
    cfg = [(1, 16, 1, 1, 3, None, None), (6, 24, 2, 2, 3, None, None), (6, 32, 3, 2, 3, None, None),
           (6, 64, 4, 2, 3, None, None), (6, 96, 3, 1, 3, None, None), (6, 160, 3, 2, 3, None, None),
           (6, 320, 1, 1, 3, None, None)]
    with _seeded(seed):
        feats, c = _mbconv_net(cfg, 32, 1280, alpha)
        model = Classifier(feats, c)
    return _finish(model, (3, size, size), seed)


def mobilenet_v3_small(seed=0, size=112, alpha=0.5):
    se = dict(gate="hsigmoid")
    cfg = [(1, 16, 1, 2, 3, se, "relu"), (4.5, 24, 1, 2, 3, None, "relu"), (3.67, 24, 1, 1, 3, None, "relu"),
           (4, 40, 1, 2, 5, se, "hswish"), (6, 40, 2, 1, 5, se, "hswish"), (3, 48, 2, 1, 5, se, "hswish"),
           (6, 96, 3, 2, 5, se, "hswish")]
    with _seeded(seed):
        feats, c = _mbconv_net(cfg, 16, _div(576 * alpha), alpha, act="hswish")
        head = nn.Sequential(nn.Conv2d(c, 1024, 1), nn.Hardswish())
        model = Classifier(feats, 1024, head=head)
    return _finish(model, (3, size, size), seed)


def mnasnet(seed=0, size=112, alpha=0.5):
    se = dict(act="relu")
    cfg = [(1, 16, 1, 1, 3, None, "relu"), (6, 24, 2, 2, 3, None, "relu"), (3, 40, 3, 2, 5, se, "relu"),
           (6, 80, 4, 2, 3, None, "relu"), (6, 112, 2, 1, 3, se, "relu"), (6, 160, 3, 2, 5, se, "relu"),
           (6, 320, 1, 1, 3, None, "relu")]
    with _seeded(seed):
        feats, c = _mbconv_net(cfg, 32, 1280, alpha, act="relu")
        model = Classifier(feats, c)
    return _finish(model, (3, size, size), seed)


def efficientnet_lite0(seed=0, size=112, alpha=0.75):
    """EfficientNet-lite: MBConv with ReLU6, no squeeze-excitation (NPU friendly)."""
    cfg = [(1, 16, 1, 1, 3, None, None), (6, 24, 2, 2, 3, None, None), (6, 40, 2, 2, 5, None, None),
           (6, 80, 3, 2, 3, None, None), (6, 112, 3, 1, 5, None, None), (6, 192, 4, 2, 5, None, None),
           (6, 320, 1, 1, 3, None, None)]
    with _seeded(seed):
        feats, c = _mbconv_net(cfg, 32, 1280, alpha)
        model = Classifier(feats, c)
    return _finish(model, (3, size, size), seed)


# ----------------------------------------------------------------- SqueezeNet, GhostNet

class Fire(nn.Module):
    def __init__(self, cin, squeeze, expand):
        super().__init__()
        self.s = nn.Conv2d(cin, squeeze, 1)
        self.e1, self.e3 = nn.Conv2d(squeeze, expand, 1), nn.Conv2d(squeeze, expand, 3, padding=1)

    def forward(self, x):
        x = F.relu(self.s(x))
        return torch.cat([F.relu(self.e1(x)), F.relu(self.e3(x))], 1)


class SqueezeNet(nn.Module):
    """SqueezeNet 1.1: fire modules, ceil-mode max pooling, conv classifier."""

    def __init__(self, num_classes=100):
        super().__init__()
        pool = lambda: nn.MaxPool2d(3, 2, ceil_mode=True)  # noqa: E731
        self.features = nn.Sequential(nn.Conv2d(3, 64, 3, 2), nn.ReLU(inplace=True), pool(),
                                      Fire(64, 16, 64), Fire(128, 16, 64), pool(), Fire(128, 32, 128),
                                      Fire(256, 32, 128), pool(), Fire(256, 48, 192), Fire(384, 48, 192),
                                      Fire(384, 64, 256), Fire(512, 64, 256))
        self.classifier = nn.Conv2d(512, num_classes, 1)

    def forward(self, x):
        x = F.relu(self.classifier(self.features(x)))
        return torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)


def squeezenet(seed=0, size=112):
    with _seeded(seed):
        model = SqueezeNet()
    return _finish(model, (3, size, size), seed)


class GhostModule(nn.Module):
    def __init__(self, cin, cout, relu=True):
        super().__init__()
        self.cout = cout
        init = (cout + 1) // 2
        act = "relu" if relu else "none"
        self.primary = cbr(cin, init, 1, act=act)
        self.cheap = cbr(init, init, 3, 1, init, act)

    def forward(self, x):
        y = self.primary(x)
        return torch.cat([y, self.cheap(y)], 1)[:, :self.cout]


class GhostBottleneck(nn.Module):
    def __init__(self, cin, mid, cout, k, stride, se):
        super().__init__()
        self.ghost1 = GhostModule(cin, mid)
        self.dw = cbr(mid, mid, k, stride, mid, "none") if stride > 1 else nn.Identity()
        self.se = SE(mid, gate="hsigmoid") if se else nn.Identity()
        self.ghost2 = GhostModule(mid, cout, relu=False)
        if stride == 1 and cin == cout:
            self.shortcut = nn.Identity()
        else:
            self.shortcut = nn.Sequential(cbr(cin, cin, k, stride, cin, "none"), cbr(cin, cout, 1, act="none"))

    def forward(self, x):
        return self.ghost2(self.se(self.dw(self.ghost1(x)))) + self.shortcut(x)


def ghostnet(seed=0, size=112, alpha=0.5):
    cfg = [(3, 16, 16, 0, 1), (3, 48, 24, 0, 2), (3, 72, 24, 0, 1), (5, 72, 40, 1, 2), (5, 120, 40, 1, 1),
           (3, 240, 80, 0, 2), (3, 200, 80, 0, 1), (3, 480, 112, 1, 1), (5, 672, 160, 1, 2), (5, 960, 160, 0, 1)]
    with _seeded(seed):
        cin = _div(16 * alpha, 4)
        layers = [cbr(3, cin, 3, 2)]
        for k, mid, c, se, s in cfg:
            mid, c = _div(mid * alpha, 4), _div(c * alpha, 4)
            layers.append(GhostBottleneck(cin, mid, c, k, s, se))
            cin = c
        last = _div(960 * alpha, 4)
        layers.append(cbr(cin, last, 1))
        model = Classifier(nn.Sequential(*layers), 1280, head=nn.Sequential(nn.Conv2d(last, 1280, 1), nn.ReLU()))
    return _finish(model, (3, size, size), seed)


# ----------------------------------------------------------------- RegNetX, ResNet50

class XBlock(nn.Module):
    def __init__(self, cin, cout, stride, group_width):
        super().__init__()
        g = cout // group_width
        self.f = nn.Sequential(cbr(cin, cout, 1), cbr(cout, cout, 3, stride, g), cbr(cout, cout, 1, act="none"))
        self.proj = cbr(cin, cout, 1, stride, act="none") if stride != 1 or cin != cout else nn.Identity()

    def forward(self, x):
        return F.relu(self.f(x) + self.proj(x))


def regnetx_200mf(seed=0, size=112):
    """RegNetX-200MF: widths 24-56-152-368, depths 1-1-4-7, group width 8."""
    with _seeded(seed):
        layers, cin = [cbr(3, 32, 3, 2)], 32
        for c, d in zip([24, 56, 152, 368], [1, 1, 4, 7]):
            for i in range(d):
                layers.append(XBlock(cin, c, 2 if i == 0 else 1, 8))
                cin = c
        model = Classifier(nn.Sequential(*layers), cin)
    return _finish(model, (3, size, size), seed)


class Bottleneck(nn.Module):
    def __init__(self, cin, mid, stride):
        super().__init__()
        cout = mid * 4
        self.f = nn.Sequential(cbr(cin, mid, 1), cbr(mid, mid, 3, stride), cbr(mid, cout, 1, act="none"))
        self.down = cbr(cin, cout, 1, stride, act="none") if stride != 1 or cin != cout else nn.Identity()

    def forward(self, x):
        return F.relu(self.f(x) + self.down(x))


def resnet50(seed=0, size=112, width=16):
    """ResNet50's structure (7x7 stem, maxpool, bottlenecks 3-4-6-3, x4
    expansion) with base width `width` (64 in the original)."""
    with _seeded(seed):
        layers, cin = [cbr(3, width, 7, 2), nn.MaxPool2d(3, 2, 1)], width
        for i, (mid, n) in enumerate(zip([width, width * 2, width * 4, width * 8], [3, 4, 6, 3])):
            for j in range(n):
                layers.append(Bottleneck(cin, mid, 2 if i > 0 and j == 0 else 1))
                cin = mid * 4
        model = Classifier(nn.Sequential(*layers), cin)
    return _finish(model, (3, size, size), seed)


# ----------------------------------------------------------------- detector, UNet, ConvMixer + attention

class YoloFastest(nn.Module):
    """yolo-fastest shape: depthwise-separable backbone, two YOLO heads (stride
    16 and 32), the deep one upsampled (nearest) and concatenated."""

    def __init__(self, anchors=3, classes=20):
        super().__init__()
        out = anchors * (5 + classes)
        ds = lambda cin, cout, s: nn.Sequential(cbr(cin, cin, 3, s, cin, "leaky"), cbr(cin, cout, 1, act="leaky"))  # noqa: E731,E501
        self.stem = cbr(3, 8, 3, 2, act="leaky")
        self.s8 = nn.Sequential(ds(8, 16, 2), ds(16, 24, 2), ds(24, 24, 1))
        self.s16 = nn.Sequential(ds(24, 48, 2), ds(48, 48, 1), ds(48, 64, 1))
        self.s32 = nn.Sequential(ds(64, 96, 2), ds(96, 96, 1), ds(96, 128, 1))
        self.head32 = nn.Sequential(cbr(128, 64, 1, act="leaky"), ds(64, 96, 1), nn.Conv2d(96, out, 1))
        self.lat = cbr(128, 32, 1, act="leaky")
        self.head16 = nn.Sequential(ds(64 + 32, 64, 1), nn.Conv2d(64, out, 1))

    def forward(self, x):
        f16 = self.s16(self.s8(self.stem(x)))
        f32 = self.s32(f16)
        up = F.interpolate(self.lat(f32), scale_factor=2, mode="nearest")
        return self.head32(f32), self.head16(torch.cat([up, f16], 1))


def yolo_fastest(seed=0, size=160):
    with _seeded(seed):
        model = YoloFastest()
    return _finish(model, (3, size, size), seed)


class UNet(nn.Module):
    """Three-level UNet: ConvTranspose up-sampling, skip concatenation, bilinear
    final resize, 2-class output map."""

    def __init__(self, c=(16, 32, 64), classes=2):
        super().__init__()
        two = lambda a, b: nn.Sequential(cbr(a, b), cbr(b, b))  # noqa: E731
        self.e1, self.e2, self.e3 = two(3, c[0]), two(c[0], c[1]), two(c[1], c[2])
        self.up2 = nn.ConvTranspose2d(c[2], c[1], 2, 2)
        self.d2 = two(2 * c[1], c[1])
        self.up1 = nn.ConvTranspose2d(c[1], c[0], 4, 2, 1)
        self.d1 = two(2 * c[0], c[0])
        self.out = nn.Conv2d(c[0], classes, 1)

    def forward(self, x):
        e1 = self.e1(x)
        e2 = self.e2(F.max_pool2d(e1, 2))
        e3 = self.e3(F.max_pool2d(e2, 2))
        d2 = self.d2(torch.cat([self.up2(e3), e2], 1))
        d1 = self.d1(torch.cat([self.up1(d2), e1], 1))
        return F.interpolate(self.out(d1), scale_factor=0.5, mode="bilinear", align_corners=False)


def unet(seed=0, size=96):
    with _seeded(seed):
        model = UNet()
    return _finish(model, (3, size, size), seed)


class ConvMixerAttention(nn.Module):
    """ConvMixer (patch embedding, depthwise + pointwise mixing with GELU and
    BatchNorm) followed by a transformer block on the tokens (LayerNorm,
    two-head attention with MatMul + Softmax, GELU MLP)."""

    def __init__(self, dim=32, depth=2, patch=4, heads=2, classes=100):
        super().__init__()
        self.embed = nn.Sequential(nn.Conv2d(3, dim, patch, patch), nn.GELU(), nn.BatchNorm2d(dim))
        self.mix = nn.ModuleList(nn.ModuleDict({
            "dw": nn.Sequential(nn.Conv2d(dim, dim, 5, padding=2, groups=dim), nn.GELU(), nn.BatchNorm2d(dim)),
            "pw": nn.Sequential(nn.Conv2d(dim, dim, 1), nn.GELU(), nn.BatchNorm2d(dim))}) for _ in range(depth))
        self.heads = heads
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.qkv, self.proj = nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(approximate="tanh"), nn.Linear(2 * dim, dim))
        self.fc = nn.Linear(dim, classes)

    def forward(self, x):
        x = self.embed(x)
        for m in self.mix:
            x = x + m["dw"](x)
            x = m["pw"](x)
        t = x.flatten(2).transpose(1, 2)                        # (1, N, C)
        n, c = t.shape[1], t.shape[2]
        q, k, v = self.qkv(self.norm1(t)).chunk(3, dim=-1)
        d = c // self.heads
        q = q.reshape(1, n, self.heads, d).transpose(1, 2)       # (1, heads, N, d)
        k = k.reshape(1, n, self.heads, d).transpose(1, 2)
        v = v.reshape(1, n, self.heads, d).transpose(1, 2)
        a = ((q @ k.transpose(2, 3)) * d ** -0.5).softmax(-1)
        o = (a @ v).transpose(1, 2).reshape(1, n, c)
        t = t + self.proj(o)
        t = t + self.mlp(self.norm2(t))
        return self.fc(t.mean(1))


def convmixer_attention(seed=0, size=64):
    with _seeded(seed):
        model = ConvMixerAttention()
    return _finish(model, (3, size, size), seed)


ZOO = {
    "ShuffleNetV2-0.5": (shufflenet_v2, "classifier"),
    "MobileNetV1-0.25": (mobilenet_v1, "classifier"),
    "MobileNetV2-0.35": (mobilenet_v2, "classifier"),
    "MobileNetV3-Small-0.5": (mobilenet_v3_small, "classifier"),
    "SqueezeNet1.1": (squeezenet, "classifier"),
    "GhostNet-0.5": (ghostnet, "classifier"),
    "EfficientNet-lite0-0.75": (efficientnet_lite0, "classifier"),
    "MnasNet-0.5": (mnasnet, "classifier"),
    "RegNetX-200MF": (regnetx_200mf, "classifier"),
    "ResNet50-w16": (resnet50, "classifier"),
    "YOLO-fastest": (yolo_fastest, "dense"),
    "UNet": (unet, "dense"),
    "ConvMixer+attention": (convmixer_attention, "classifier"),
}
