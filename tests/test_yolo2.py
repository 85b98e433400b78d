"""nn.decoder.Yolo2 (MaixPy3 0.5.x's YOLOv2 region decoder) against an
independent reference written here from the semantics of MaixPy3/libmaix's
decoder (float64, plain loops), on synthetic feature maps: planted objects
come back as the boxes and classes they were planted as, NMS removes the
weaker of two overlapping boxes of one class and keeps overlapping boxes of
different classes, the letterbox correction for img_size, and a MaixII-style
detection script (``from maix import nn``) runs unchanged on maixnn."""
from __future__ import annotations

import math
import sys
import types

import numpy as np
import pytest

from maixnn import nn
from maixnn.errors import InputShapeError, OptionError

CLASSES = 3
ANCHORS = [1.0, 1.5, 2.5, 2.0, 4.0, 3.5]  # (w, h) in cells
NET_IN = (256, 192)   # (w, h): not square, so w/h mix-ups show
NET_OUT = (8, 6)
A = len(ANCHORS) // 2
DEPTH = CLASSES + 5


# ---------------------------------------------------------------- independent reference

def _sig(v):
    return 1.0 / (1.0 + math.exp(-v))


def reference(fmap, class_num, anchors, net_in, net_out, nms=0.3, threshold=0.5, img_size=None):
    """MaixPy3's Yolo2.run, written from its semantics: fmap HWC float32 with per
    cell `anchors` blocks (tx, ty, tw, th, tobj, classes); box centre
    ((col + sig tx) / W, (row + sig ty) / H), size (exp(tw) * aw / W,
    exp(th) * ah / H); prob = sig(tobj) * softmax(classes), 0 unless > threshold;
    letterbox correction when img_size != net_in; per-class greedy NMS (IoU >
    nms suppresses the less probable); boxes listed anchor-major, those with a
    max prob > threshold, as [x0, y0, w, h] relative or int pixels."""
    out_w, out_h = net_out
    n_anchor = len(anchors) // 2
    data = np.asarray(fmap, dtype=np.float64).reshape(out_h, out_w, n_anchor, class_num + 5)
    boxes, probs = [], []
    for n in range(n_anchor):
        for row in range(out_h):
            for col in range(out_w):
                v = data[row, col, n]
                obj = _sig(v[4])
                exps = [math.exp(c - max(v[5:])) for c in v[5:]]
                p = [obj * e / sum(exps) for e in exps]
                p = [q if q > threshold else 0.0 for q in p]
                box = [(col + _sig(v[0])) / out_w, (row + _sig(v[1])) / out_h,
                       math.exp(v[2]) * anchors[2 * n] / out_w, math.exp(v[3]) * anchors[2 * n + 1] / out_h]
                boxes.append(box)
                probs.append(p)
    if img_size is not None and tuple(img_size) != tuple(net_in):
        nw, nh = net_in
        iw, ih = img_size
        if nw / iw < nh / ih:
            new_w, new_h = nw, (ih * nw) // iw
        else:
            new_w, new_h = (iw * nh) // ih, nh
        for b in boxes:
            b[0] = (b[0] - (nw - new_w) / 2.0 / nw) / (new_w / nw)
            b[1] = (b[1] - (nh - new_h) / 2.0 / nh) / (new_h / nh)
            b[2] *= nw / new_w
            b[3] *= nh / new_h

    def iou(a, b):
        iw_ = min(a[0] + a[2] / 2, b[0] + b[2] / 2) - max(a[0] - a[2] / 2, b[0] - b[2] / 2)
        ih_ = min(a[1] + a[3] / 2, b[1] + b[3] / 2) - max(a[1] - a[3] / 2, b[1] - b[3] / 2)
        inter = 0.0 if iw_ < 0 or ih_ < 0 else iw_ * ih_
        return inter / (a[2] * a[3] + b[2] * b[3] - inter)

    for k in range(class_num):
        order = sorted(range(len(boxes)), key=lambda i: -probs[i][k])
        for pos, i in enumerate(order):
            if probs[i][k] == 0:
                continue
            for j in order[pos + 1:]:
                if probs[j][k] and iou(boxes[i], boxes[j]) > nms:
                    probs[j][k] = 0.0
    out_boxes, out_probs = [], []
    for b, p in zip(boxes, probs):
        k = max(range(class_num), key=lambda c: (p[c], -c))
        if not p[k] > threshold:
            continue
        if img_size is not None:
            iw, ih = img_size
            out_boxes.append([max(0, int(b[0] * iw - b[2] * iw / 2)), max(0, int(b[1] * ih - b[3] * ih / 2)),
                              int(b[2] * iw), int(b[3] * ih)])
        else:
            out_boxes.append([b[0] - b[2] / 2, b[1] - b[3] / 2, b[2], b[3]])
        out_probs.append([k, p])
    return [out_boxes, out_probs]


# ---------------------------------------------------------------- synthetic feature maps

def _logit(p):
    return math.log(p / (1.0 - p))


def background():
    fmap = np.zeros((NET_OUT[1], NET_OUT[0], A, DEPTH), np.float32)
    fmap[..., 4] = -9.0  # objectness ~1e-4 everywhere
    return fmap


def plant(fmap, box, anchor, cls, conf_logit=6.0):
    """Put an object with centre/size box = (x, y, w, h) (relative) into the
    cell holding its centre, predicted by `anchor`, class `cls`."""
    x, y, w, h = box
    col, row = int(x * NET_OUT[0]), int(y * NET_OUT[1])
    v = fmap[row, col, anchor]
    v[0] = _logit(x * NET_OUT[0] - col)
    v[1] = _logit(y * NET_OUT[1] - row)
    v[2] = math.log(w * NET_OUT[0] / ANCHORS[2 * anchor])
    v[3] = math.log(h * NET_OUT[1] / ANCHORS[2 * anchor + 1])
    v[4] = conf_logit
    v[5:] = 0.0
    v[5 + cls] = 9.0
    return anchor * NET_OUT[0] * NET_OUT[1] + row * NET_OUT[0] + col  # its output index


@pytest.fixture
def yolo2():
    return nn.decoder.Yolo2(CLASSES, ANCHORS, net_in_size=NET_IN, net_out_size=NET_OUT)


def _assert_same(got, ref, int_boxes=False):
    gb, gp = got
    rb, rp = ref
    assert len(gb) == len(rb) and len(gp) == len(rp), (got, ref)
    for b, r in zip(gb, rb):
        if int_boxes:
            assert all(isinstance(v, int) for v in b)
            assert all(abs(u - v) <= 1 for u, v in zip(b, r)), (b, r)  # float32 vs float64 truncation
        else:
            np.testing.assert_allclose(b, r, rtol=1e-5, atol=1e-6)
    for p, r in zip(gp, rp):
        assert p[0] == r[0]
        np.testing.assert_allclose(p[1], r[1], rtol=1e-5, atol=1e-7)


def test_planted_objects_come_back_as_planted(yolo2):
    fmap = background()
    objects = [((0.30, 0.25, 0.20, 0.30), 1, 2), ((0.80, 0.70, 0.35, 0.25), 2, 0), ((0.55, 0.85, 0.10, 0.12), 0, 1)]
    indices = [plant(fmap, box, anchor, cls) for box, anchor, cls in objects]
    boxes, probs = yolo2.run(fmap, nms=0.3, threshold=0.5)
    assert len(boxes) == 3
    # output order is anchor-major (index = anchor * cells + cell)
    expected = [objects[i] for i in np.argsort(indices)]
    for (box, _anchor, cls), got_box, (class_id, class_probs) in zip(expected, boxes, probs):
        x, y, w, h = box
        np.testing.assert_allclose(got_box, [x - w / 2, y - h / 2, w, h], rtol=1e-5, atol=1e-6)
        assert class_id == cls and class_probs[cls] > 0.99
        assert [p for c, p in enumerate(class_probs) if c != cls] == [0.0, 0.0]
    _assert_same([boxes, probs], reference(fmap, CLASSES, ANCHORS, NET_IN, NET_OUT))
    # img_size = the net input: the same boxes in pixels, truncated
    pixels, _ = yolo2.run(fmap, img_size=NET_IN)
    for (box, _a, _c), px in zip(expected, pixels):
        x, y, w, h = box
        want = [int((x - w / 2) * NET_IN[0]), int((y - h / 2) * NET_IN[1]), int(w * NET_IN[0]), int(h * NET_IN[1])]
        assert all(abs(a - b) <= 1 for a, b in zip(px, want)), (px, want)


def test_nms_suppresses_the_weaker_overlap_of_one_class_only(yolo2):
    fmap = background()
    strong = plant(fmap, (0.40, 0.40, 0.30, 0.40), 1, 0, conf_logit=6.0)
    weak = plant(fmap, (0.45, 0.43, 0.30, 0.40), 2, 0, conf_logit=2.5)      # same class, IoU ~0.7
    other = plant(fmap, (0.42, 0.38, 0.28, 0.42), 0, 1, conf_logit=4.0)     # overlapping, another class
    assert len({strong, weak, other}) == 3
    boxes, probs = yolo2.run(fmap, nms=0.3, threshold=0.5)
    assert sorted(p[0] for p in probs) == [0, 1]
    kept0 = [b for b, p in zip(boxes, probs) if p[0] == 0]
    np.testing.assert_allclose(kept0[0], [0.40 - 0.15, 0.40 - 0.20, 0.30, 0.40], rtol=1e-5)
    _assert_same([boxes, probs], reference(fmap, CLASSES, ANCHORS, NET_IN, NET_OUT, nms=0.3))
    # a looser NMS keeps both boxes of class 0
    boxes, probs = yolo2.run(fmap, nms=0.9, threshold=0.5)
    assert sorted(p[0] for p in probs) == [0, 0, 1]
    # a higher threshold drops the weak one (sigmoid(2.5) = 0.92)
    _, probs = yolo2.run(fmap, nms=0.9, threshold=0.95)
    assert sorted(p[0] for p in probs) == [0, 1]


@pytest.mark.parametrize("img_size", [None, NET_IN, (320, 240), (256, 256), (200, 300)])
def test_random_feature_maps_match_the_reference(yolo2, img_size):
    rng = np.random.RandomState(5)
    for trial in range(4):
        fmap = rng.standard_normal((NET_OUT[1], NET_OUT[0], A, DEPTH)).astype(np.float32) * 2.0
        fmap[..., 4] += 1.5  # many candidate boxes, so NMS has work
        for c in range(5, DEPTH):
            fmap[..., c] *= 2.0
        got = yolo2.run(fmap, nms=0.3, threshold=0.35, img_size=img_size)
        ref = reference(fmap, CLASSES, ANCHORS, NET_IN, NET_OUT, nms=0.3, threshold=0.35, img_size=img_size)
        assert len(ref[0]) >= 5
        _assert_same(got, ref, int_boxes=img_size is not None)
        # bytes in, the same out; the input is not modified
        before = fmap.copy()
        assert yolo2.run(fmap.tobytes(), nms=0.3, threshold=0.35, img_size=img_size) == got
        np.testing.assert_array_equal(fmap, before)


def test_letterbox_correction(yolo2):
    """A box in the middle of a square image that was letterboxed into the
    256x192 input: x is stretched around the centre, width scaled by 256/192."""
    fmap = background()
    plant(fmap, (0.5 + 0.1, 0.55, 0.2, 0.3), 1, 2)
    (box,), _ = yolo2.run(fmap, img_size=(400, 400))
    # new_w = 400 * 192 // 400 = 192: x' = (x - 32/256) / (192/256), w' = w * 256/192; y, h unchanged
    x, w = (0.6 - 32 / 256) / 0.75, 0.2 * 256 / 192
    want = [int(x * 400 - w * 400 / 2), int(0.55 * 400 - 0.3 * 400 / 2), int(w * 400), int(0.3 * 400)]
    assert all(abs(a - b) <= 1 for a, b in zip(box, want)), (box, want)


def test_maixpy3_errors(yolo2):
    need = NET_OUT[0] * NET_OUT[1] * A * DEPTH * 4
    with pytest.raises(ValueError, match=r"^fmap size error, need: %d, but: %d$" % (need, need - 4)) as exc:
        yolo2.run(np.zeros(need // 4 - 1, np.float32))
    assert isinstance(exc.value, InputShapeError)
    with pytest.raises(ValueError, match=r"^fmap size error, need: %d, but: %d$" % (need, need * 2)):
        yolo2.run(np.zeros(need // 4, np.float64))  # the board reads bytes: float64 is twice the size
    with pytest.raises(ValueError, match="^not supported fmap object, should be bytes or numpy.ndarray"):
        yolo2.run([0.0] * (need // 4))
    with pytest.raises(TypeError):
        yolo2.run(np.zeros(need // 4, np.float32), 0.3)  # nms, threshold, img_size are keyword-only
    with pytest.raises(TypeError):
        nn.decoder.Yolo2(CLASSES, ANCHORS, NET_IN)   # net_in_size is keyword-only
    with pytest.raises(OptionError):
        nn.decoder.Yolo2(0, ANCHORS)
    d = nn.decoder.Yolo2(1, [1.0, 2.0])
    assert (d.net_in_size, d.net_out_size, d.channels) == ((224, 224), (7, 7), 6) and str(d) == "Yolo2 decoder object"


DETECTION_SCRIPT = '''
from maix import nn
from maix.nn import decoder

model = {"param": PARAM, "bin": BIN}
options = {
    "model_type":  "awnn",
    "inputs": {"input0": (7, 7, 3)},
    "outputs": {"output0": (7, 7, (1 + 4 + 1) * 5)},
    "mean": [127.5, 127.5, 127.5],
    "norm": [0.0078125, 0.0078125, 0.0078125],
}
m = nn.load(model, opt=options)
labels = ["person"]
anchors = [1.19, 1.98, 2.79, 4.59, 4.53, 8.92, 8.06, 5.29, 10.32, 10.65]
w = options["inputs"]["input0"][1]
h = options["inputs"]["input0"][0]
yolo2_decoder = decoder.Yolo2(len(labels), anchors, net_in_size=(w, h), net_out_size=(7, 7))
out = m.forward(IMAGE, quantize=True, layout="hwc")
boxes, probs = yolo2_decoder.run(out, nms=0.3, threshold=0.5, img_size=(240, 240))
for i, box in enumerate(boxes):
    class_id = probs[i][0]
    prob = probs[i][1][class_id]
    RESULTS.append((labels[class_id], prob, box))
'''


def test_a_maixii_detection_script_runs_unchanged(tmp_path, monkeypatch):
    """The MaixII yolo2 example's calls, with `from maix import nn` served by maixnn."""
    from maixnn.ncnn_model import Layer, NcnnModel, Weight
    from maixnn.runtime import Net
    rng = np.random.RandomState(2)
    weight = (rng.standard_normal((30, 3, 1, 1)) * 1.5).astype(np.float32)
    bias = np.tile(np.array([0, 0, 0, 0, 2.0, 0], np.float32), 5)
    NcnnModel([Layer("Input", "in", [], ["input0"], {0: 7, 1: 7, 2: 3}),
               Layer("Convolution", "head", ["input0"], ["output0"], {0: 30, 1: 1, 5: 1, 6: weight.size},
                     [Weight("weight", weight, "tagged"), Weight("bias", bias)])]).save(
        str(tmp_path / "y.param"), str(tmp_path / "y.bin"))
    image = (rng.rand(7, 7, 3) * 255).astype(np.uint8)
    maix = types.ModuleType("maix")
    maix.nn = nn
    monkeypatch.setitem(sys.modules, "maix", maix)
    monkeypatch.setitem(sys.modules, "maix.nn", nn)
    results = []
    exec(DETECTION_SCRIPT, {"PARAM": str(tmp_path / "y.param"), "BIN": str(tmp_path / "y.bin"),
                            "IMAGE": image.tobytes(), "RESULTS": results})
    # the same decode from the engine's own output (CHW -> HWC) with the reference
    x = ((image.astype(np.float32) - np.float32(127.5)) * np.float32(0.0078125)).transpose(2, 0, 1)
    chw = Net(str(tmp_path / "y.param"), str(tmp_path / "y.bin")).forward(np.ascontiguousarray(x))
    ref = reference(chw.transpose(1, 2, 0), 1, [1.19, 1.98, 2.79, 4.59, 4.53, 8.92, 8.06, 5.29, 10.32, 10.65],
                    (7, 7), (7, 7), nms=0.3, threshold=0.5, img_size=(240, 240))
    assert len(results) == len(ref[0]) >= 2
    for (label, prob, box), rbox, (_k, rp) in zip(results, ref[0], ref[1]):
        assert label == "person" and abs(prob - rp[0]) < 1e-5
        assert all(abs(a - b) <= 1 for a, b in zip(box, rbox)), (box, rbox)
