"""The seed walkthrough (neucrack's "run a PyTorch resnet18 on the V831 with awnn"),
offline, end to end, with the command line a user types:

    ResNet18 -> maixnn export -> maixnn convert -> maixnn quantize --target awnn
    -> resnet_awnn.param/.bin + .mud -> nn.load(...) + forward(img, quantize=True)
    + nn.F.softmax, as the seed's MaixPy3 script does on the board

The network is tests/nets.resnet18_like() at full size (11.7 M parameters,
1x3x224x224; torchvision is not used, weights are random with a fixed seed);
calibration on 3 photo crops, checked on 3 others (scikit-learn's sample
photos, resized to the board's 224x224 camera frame).  The awnn model must
give the float model's top-1 on every photo.  The weights are random, so the
float model's logits are dominated by an image-independent part: the test
also asserts the logits' cosine, per image.
"""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from test_awnn_quantize import photo_crops

import maixnn
from maixnn import nn
from maixnn.preprocess import Preprocess

MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]
TESTS_DIR = os.path.dirname(os.path.abspath(__file__))


def _cli(*args, cwd):
    proc = subprocess.run([sys.executable, "-m", "maixnn"] + list(args), cwd=cwd, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True)
    assert proc.returncode == 0, "maixnn %s failed:\n%s\n%s" % (" ".join(args), proc.stdout[-3000:],
                                                                  proc.stderr[-3000:])
    return proc.stdout


@pytest.fixture(scope="module")
def flow(tmp_path_factory):
    from PIL import Image
    d = str(tmp_path_factory.mktemp("seed_flow"))
    with open(os.path.join(d, "resnet18.py"), "w") as f:
        f.write("import sys\nsys.path.insert(0, %r)\nfrom nets import resnet18_like\n\n\n"
                "def build():\n    return resnet18_like()\n" % TESTS_DIR)
    os.makedirs(os.path.join(d, "calib"))
    for i, img in enumerate(photo_crops(3, 0, 224)):
        Image.fromarray(img).save(os.path.join(d, "calib", "%d.png" % i))
    photos = [Image.fromarray(img).resize((224, 224), Image.BILINEAR) for img in photo_crops(3, 1, 224)]
    _cli("export", "resnet18.py:build", "resnet.onnx", "--input-shape", "3,224,224", cwd=d)
    _cli("convert", "resnet.onnx", "resnet", cwd=d)
    report = _cli("quantize", "resnet", "resnet_awnn", "--target", "awnn", "--images", "calib",
                  "--mean", ",".join(map(str, MEAN)), "--std", ",".join(map(str, STD)), "--no-progress", cwd=d)
    return d, photos, report


def test_files_of_the_seed(flow):
    d, _, report = flow
    for name in ("resnet_awnn.param", "resnet_awnn.bin", "resnet_awnn.mud", "resnet_awnn.table"):
        assert os.path.getsize(os.path.join(d, name)) > 0
    mud = open(os.path.join(d, "resnet_awnn.mud")).read()
    assert "type = awnn" in mud and "output0 = 1,1,1000" in mud
    # what lands on the NPU: every convolution, the residual adds, the classifier
    assert "Eltwise SUM" in report and "InnerProduct" in report and "ms/frame" in report
    param = open(os.path.join(d, "resnet_awnn.param")).read()
    convs = [ln for ln in param.splitlines() if ln.startswith("Convolution ")]
    assert len(convs) == 20 and all("-23328=1,1" in ln for ln in convs)


def test_nn_load_runs_it_with_the_seeds_calls_and_agrees_with_float(flow):
    d, photos, _ = flow
    float_net = maixnn.Net(os.path.join(d, "resnet.param"), os.path.join(d, "resnet.bin"))
    pp = Preprocess.from_options((3, 224, 224), mean=MEAN, std=STD)
    m = nn.load(os.path.join(d, "resnet_awnn.mud"))
    mean, norm = m.mean["input0"], m.norm["input0"]
    # the seed's dict form, with the mean/norm quantize recorded (one value for all channels)
    m2 = nn.load({"param": os.path.join(d, "resnet_awnn.param"), "bin": os.path.join(d, "resnet_awnn.bin")},
                 opt={"model_type": "awnn", "inputs": {"input0": (224, 224, 3)},
                      "outputs": {"output0": (1, 1, 1000)}, "first_layer_conv_no_pad": False,
                      "mean": [float(v) for v in np.broadcast_to(mean, 3)],
                      "norm": [float(v) for v in np.broadcast_to(norm, 3)]})
    for img in photos:
        out = m.forward(img, quantize=True)
        assert out.shape == (1, 1, 1000) and out.dtype == np.float32
        np.testing.assert_array_equal(out, m2.forward(img, quantize=True))
        prob = nn.F.softmax(out)
        ref = float_net.forward(pp(img)).reshape(-1)
        cos = float(np.dot(out.reshape(-1), ref) / np.linalg.norm(out) / np.linalg.norm(ref))
        print("seed flow: float top-1 %d, awnn top-1 %d (p %.4f), logits cosine %.5f"
              % (int(np.argmax(ref)), int(prob.argmax()), float(prob.max()), cos))
        assert int(prob.argmax()) == int(np.argmax(ref))
        assert cos >= 0.99      # measured 0.9997
