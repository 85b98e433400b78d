"""MaixPy3's ``maix.nn.decoder`` (post-processing): the YOLOv2 region decoder.

    from maixnn import nn
    yolo2 = nn.decoder.Yolo2(len(labels), anchors, net_in_size=(224, 224), net_out_size=(7, 7))
    out = m.forward(img, quantize=True, layout="hwc")          # (7, 7, (classes + 5) * anchors)
    boxes, probs = yolo2.run(out, nms=0.3, threshold=0.5, img_size=(240, 240))
    for box, (class_id, class_probs) in zip(boxes, probs):
        x, y, w, h = box                                        # top-left corner and size
        print(labels[class_id], class_probs[class_id])

What it computes (the semantics of MaixPy3 0.5.x, whose decoder is libmaix's
region layer; float32 arithmetic as there):

* fmap: float32 data in HWC order, net_out_size = (W, H) cells, and per cell
  ``anchors_num`` blocks of (tx, ty, tw, th, tobj, class logits...).  A numpy
  array (any shape; its bytes are read) or bytes; its size must be exactly
  W * H * (class_num + 5) * anchors_num float32 values, else
  ValueError("fmap size error, need: <bytes>, but: <bytes>").
* per cell (col, row) and anchor n with (aw, ah) = anchors[2n], anchors[2n+1]
  (anchors are in CELL units, a flat list w0, h0, w1, h1, ...):
      x = (col + sigmoid(tx)) / W          y = (row + sigmoid(ty)) / H
      w = exp(tw) * aw / W                 h = exp(th) * ah / H
  (x, y the box centre, everything relative to the network input, 0..1);
  prob[c] = sigmoid(tobj) * softmax(class logits)[c], set to 0 unless
  > threshold.
* img_size=(iw, ih) different from net_in_size: the boxes are corrected for a
  letterboxed input (darknet's correct_region_boxes, integer new_w/new_h).
* NMS per class: boxes sorted by that class's prob (descending); a box with
  IoU > nms with a kept, higher one gets that class's prob set to 0.
* Output: boxes in cell-major order per anchor (index = n * W * H + cell),
  each with max class prob > threshold: boxes[i] = [x - w/2, y - h/2, w, h]
  as floats (relative) without img_size, or as ints in image pixels with
  img_size: [int(x*iw - w*iw/2), int(y*ih - h*ih/2), int(w*iw), int(h*ih)]
  (truncated; a negative corner becomes 0, as the board's float->unsigned
  conversion saturates).  probs[i] = [class_id, [prob of every class]]
  (class_id = first max; suppressed classes are 0).

Differences from the board, documented: exp is numpy's float32 exp, not the
board libc's expf (they can differ in the last bit); the board's qsort is not
stable, this sort is (equal probs keep index order); MaixPy3 overwrites a
bytes fmap in place (sigmoid/softmax), this never modifies its input.

Board-side safe: Python 3.8, numpy only.
"""
from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import numpy as np

from .errors import InputShapeError, OptionError

F32 = np.float32


def _pair(value, what: str) -> Tuple[int, int]:
    try:
        a, b = value
        return int(a), int(b)
    except (TypeError, ValueError):
        raise OptionError("%s must be a (width, height) tuple, got %r" % (what, value)) from None


def _sigmoid(v: np.ndarray) -> np.ndarray:
    """1.0 / (1.0 + expf(-v)): expf in float32, the rest in double, stored as float32."""
    e = np.exp(-v.astype(F32)).astype(np.float64)
    return (1.0 / (1.0 + e)).astype(F32)


class Yolo2:
    """maix.nn.decoder.Yolo2(class_num, anchors, *, net_in_size=(224, 224), net_out_size=(7, 7)).
    Sizes are (width, height); anchors a flat list of (w, h) pairs in cell units."""

    def __init__(self, class_num: int, anchors: Sequence[float], *, net_in_size=(224, 224),
                 net_out_size=(7, 7)):
        if isinstance(class_num, bool) or not isinstance(class_num, (int, np.integer)) or class_num <= 0:
            raise OptionError("Yolo2: class_num must be a positive int, got %r" % (class_num,))
        if not isinstance(anchors, (list, tuple)):
            raise OptionError("Yolo2: anchors must be a list or tuple of floats w0, h0, w1, h1, ..., got %s"
                              % type(anchors).__name__)
        try:
            values = [float(a) for a in anchors]
        except (TypeError, ValueError):
            raise OptionError("Yolo2: anchors must be numbers, got %r" % (anchors,)) from None
        if len(values) < 2:
            raise OptionError("Yolo2: anchors needs at least one (w, h) pair, got %r" % (anchors,))
        self.class_num = int(class_num)
        self.anchors_num = len(values) // 2  # an odd trailing value is ignored, as upstream
        self.anchors = np.array(values[:2 * self.anchors_num], dtype=F32).reshape(self.anchors_num, 2)
        self.net_in_size = _pair(net_in_size, "Yolo2: net_in_size")
        self.net_out_size = _pair(net_out_size, "Yolo2: net_out_size")
        if min(self.net_in_size + self.net_out_size) <= 0:
            raise OptionError("Yolo2: sizes must be positive, got net_in_size=%r net_out_size=%r"
                              % (net_in_size, net_out_size))

    def __str__(self) -> str:
        return "Yolo2 decoder object"

    @property
    def channels(self) -> int:
        """Channels of the feature map: (class_num + 5) * anchors_num."""
        return (self.class_num + 5) * self.anchors_num

    # ------------------------------------------------------------ decode

    def _feature_map(self, fmap) -> np.ndarray:
        if isinstance(fmap, np.ndarray):
            data = fmap.tobytes()
        elif isinstance(fmap, bytes):
            data = fmap
        else:
            raise InputShapeError("not supported fmap object, should be bytes or numpy.ndarray (got %s)"
                                  % type(fmap).__name__)
        w, h = self.net_out_size
        need = w * h * self.channels * 4
        if len(data) != need:
            raise InputShapeError("fmap size error, need: %d, but: %d" % (need, len(data)))
        return np.frombuffer(data, dtype=F32).reshape(h * w, self.anchors_num, self.class_num + 5)

    def decode(self, fmap, threshold: float = 0.5, img_size=None):
        """The region layer: (boxes (N, 4) float32 centre x, y, w, h relative to
        the network input (letterbox-corrected for img_size), probs (N, classes)
        float32 thresholded), N = anchors_num * cells in output order, before NMS."""
        fm = self._feature_map(fmap)
        out_w, out_h = self.net_out_size
        thr = F32(threshold)
        xy = _sigmoid(fm[:, :, 0:2])
        obj = _sigmoid(fm[:, :, 4])
        logits = fm[:, :, 5:]
        e = np.exp((logits - logits.max(axis=2, keepdims=True)).astype(F32))
        total = np.cumsum(e, axis=2, dtype=F32)[:, :, -1:]  # expf values summed in order, float32
        cls = (e / total).astype(F32)
        prob = (obj[:, :, None] * cls).astype(F32)
        prob = np.where(prob > thr, prob, F32(0)).astype(F32)

        cells = np.arange(out_w * out_h)
        col = (cells % out_w).astype(F32)[:, None]
        row = (cells // out_w).astype(F32)[:, None]
        bx = ((col + xy[:, :, 0]) / F32(out_w)).astype(F32)
        by = ((row + xy[:, :, 1]) / F32(out_h)).astype(F32)
        bw = (np.exp(fm[:, :, 2]) * self.anchors[None, :, 0] / F32(out_w)).astype(F32)
        bh = (np.exp(fm[:, :, 3]) * self.anchors[None, :, 1] / F32(out_h)).astype(F32)
        boxes = np.stack([bx, by, bw, bh], axis=-1)  # (cells, anchors, 4)
        # output order: index = anchor * cells + cell
        boxes = np.ascontiguousarray(boxes.transpose(1, 0, 2)).reshape(-1, 4)
        probs = np.ascontiguousarray(prob.transpose(1, 0, 2)).reshape(-1, self.class_num)
        if img_size is not None:
            boxes = self._letterbox(boxes, _pair(img_size, "Yolo2.run: img_size"))
        return boxes, probs

    def _letterbox(self, boxes: np.ndarray, img_size: Tuple[int, int]) -> np.ndarray:
        net_w, net_h = self.net_in_size
        img_w, img_h = img_size
        if (net_w, net_h) == (img_w, img_h):
            return boxes
        if img_w <= 0 or img_h <= 0:
            raise OptionError("Yolo2.run: img_size must be positive, got %r" % (img_size,))
        if F32(net_w) / F32(img_w) < F32(net_h) / F32(img_h):
            new_w, new_h = net_w, (img_h * net_w) // img_w
        else:
            new_w, new_h = (img_w * net_h) // img_h, net_h
        if new_w <= 0 or new_h <= 0:
            raise OptionError("Yolo2.run: img_size %r is too far from the net input %r" % (img_size, (net_w, net_h)))
        out = boxes.copy()
        x = boxes[:, 0].astype(np.float64)
        y = boxes[:, 1].astype(np.float64)
        out[:, 0] = ((x - (net_w - new_w) / 2.0 / net_w) / np.float64(F32(F32(new_w) / F32(net_w)))).astype(F32)
        out[:, 1] = ((y - (net_h - new_h) / 2.0 / net_h) / np.float64(F32(F32(new_h) / F32(net_h)))).astype(F32)
        out[:, 2] = (boxes[:, 2] * F32(F32(net_w) / F32(new_w))).astype(F32)
        out[:, 3] = (boxes[:, 3] * F32(F32(net_h) / F32(new_h))).astype(F32)
        return out

    @staticmethod
    def nms(boxes: np.ndarray, probs: np.ndarray, nms: float) -> np.ndarray:
        """probs with, per class, the boxes overlapping a more probable kept
        one by IoU > nms set to 0 (a new array)."""
        probs = probs.copy()
        limit = F32(nms)
        x, y, w, h = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
        left, right = (x - w / F32(2)).astype(F32), (x + w / F32(2)).astype(F32)
        top, bottom = (y - h / F32(2)).astype(F32), (y + h / F32(2)).astype(F32)
        area = (w * h).astype(F32)
        for k in range(probs.shape[1]):
            order = np.argsort(-probs[:, k], kind="stable")
            for pos, i in enumerate(order):
                if probs[i, k] == 0:
                    continue
                rest = order[pos + 1:]
                rest = rest[probs[rest, k] != 0]
                if rest.size == 0:
                    continue
                iw = (np.minimum(right[i], right[rest]) - np.maximum(left[i], left[rest])).astype(F32)
                ih = (np.minimum(bottom[i], bottom[rest]) - np.maximum(top[i], top[rest])).astype(F32)
                inter = np.where((iw < 0) | (ih < 0), F32(0), (iw * ih).astype(F32)).astype(F32)
                union = (area[i] + area[rest] - inter).astype(F32)
                with np.errstate(divide="ignore", invalid="ignore"):
                    iou = (inter / union).astype(F32)
                probs[rest[iou > limit], k] = 0
        return probs

    def run(self, fmap, *, nms: float = 0.3, threshold: float = 0.5, img_size=None) -> List[list]:
        """Decode one feature map: [boxes, probs] (see the module docstring)."""
        boxes, probs = self.decode(fmap, threshold, img_size)
        probs = self.nms(boxes, probs, nms)
        thr = F32(threshold)
        out_boxes: List[list] = []
        out_probs: List[list] = []
        for i in range(probs.shape[0]):
            class_id = int(np.argmax(probs[i]))
            if not probs[i, class_id] > thr:
                continue
            bx, by, bw, bh = (float(v) for v in boxes[i])
            if img_size is not None:
                iw, ih = _pair(img_size, "Yolo2.run: img_size")
                fw, fh = F32(iw), F32(ih)
                x1 = float(F32(boxes[i, 0] * fw)) - float(F32(boxes[i, 2] * fw)) / 2.0
                y1 = float(F32(boxes[i, 1] * fh)) - float(F32(boxes[i, 3] * fh)) / 2.0
                out_boxes.append([_to_uint32(x1), _to_uint32(y1), _to_uint32(float(F32(boxes[i, 2] * fw))),
                                  _to_uint32(float(F32(boxes[i, 3] * fh)))])
            else:
                out_boxes.append([bx - bw / 2.0, by - bh / 2.0, bw, bh])
            out_probs.append([class_id, [float(p) for p in probs[i]]])
        return [out_boxes, out_probs]


def _to_uint32(v: float) -> int:
    """C's (uint32_t) conversion of a double on ARM: truncate, saturate to 0..2**32-1."""
    if not v > 0:  # negative, zero or NaN
        return 0
    return min(int(v), 0xFFFFFFFF)


__all__ = ["Yolo2"]
