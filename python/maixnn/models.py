"""Built-in networks for the demo: built on the fly in torch, deterministic,
nothing downloaded.

``demo_resnet()`` is a small ResNet-style classifier with the operators of the
seed's ResNet18 (7x7 stride-2 stem, max pool, basic blocks with a strided 1x1
downsample, global average pool, fully connected layer), narrower and with
fewer blocks so the whole demo runs in seconds.  Its weights are random (fixed
seed) and its BatchNorm layers get non-trivial running statistics and affine
parameters, so that folding BatchNorm into the convolutions is really tested.

PC tooling: imports torch.
"""
from __future__ import annotations

DEMO_INPUT_SHAPE = (3, 128, 128)
DEMO_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


def _nn():
    import torch.nn as nn
    return nn


def _randomize_batchnorm(model, generator) -> None:
    import torch
    nn = _nn()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                n = m.num_features
                m.running_mean.copy_(torch.randn(n, generator=generator) * 0.2)
                m.running_var.copy_(torch.rand(n, generator=generator) * 1.5 + 0.25)
                m.weight.copy_(torch.rand(n, generator=generator) * 1.0 + 0.5)
                m.bias.copy_(torch.randn(n, generator=generator) * 0.1)


def demo_resnet(num_classes: int = len(DEMO_CLASSES), width: int = 16, seed: int = 0):
    """The demo's ResNet-style network in eval() mode (input 1x3x128x128 by default;
    any size >= 32 works)."""
    import torch
    nn = _nn()

    class BasicBlock(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.relu = nn.ReLU(inplace=True)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.downsample = None
            if stride != 1 or cin != cout:
                self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                                nn.BatchNorm2d(cout))

        def forward(self, x):
            identity = x if self.downsample is None else self.downsample(x)
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            return self.relu(out + identity)

    class DemoResNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, width, 7, 2, 3, bias=False)
            self.bn1 = nn.BatchNorm2d(width)
            self.relu = nn.ReLU(inplace=True)
            self.maxpool = nn.MaxPool2d(3, 2, 1)
            self.layer1 = BasicBlock(width, width, 1)
            self.layer2 = BasicBlock(width, 2 * width, 2)
            self.layer3 = BasicBlock(2 * width, 4 * width, 2)
            self.avgpool = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(4 * width, num_classes)

        def forward(self, x):
            x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
            x = self.layer3(self.layer2(self.layer1(x)))
            x = self.avgpool(x)
            x = x.view(x.size(0), -1)   # the usual idiom; the converter drops it before the fc
            return self.fc(x)

    generator = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = DemoResNet()
    _randomize_batchnorm(model, generator)
    return model.eval()


def synthetic_image(height: int = 128, width: int = 128, seed: int = 0):
    """A deterministic RGB test picture (uint8 H,W,3): colour gradients, a disc and
    stripes, so that every channel and spatial frequency is exercised."""
    import numpy as np
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    r = 255.0 * x / max(width - 1, 1)
    g = 255.0 * y / max(height - 1, 1)
    b = 127.5 + 127.5 * np.sin(x / 5.0) * np.cos(y / 7.0)
    disc = (x - width * 0.6) ** 2 + (y - height * 0.4) ** 2 < (min(height, width) * 0.2) ** 2
    img = np.stack([r, g, b], axis=-1)
    img[disc] = (240.0, 200.0, 30.0)
    img += rng.normal(0.0, 6.0, img.shape)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)
