"""The preprocessing contract of a model: how a camera/file image becomes the
float32 C,H,W tensor the network was trained on.  It is declared once, used for
calibration, and stored with the int8 model (.json, .mud) so the board, the
analyzer and the PC all feed the network the same numbers.

Geometry (torchvision semantics, on PIL images):
    Resize(s)      the short side becomes s, the long side int(s * long / short),
                   PIL bilinear (PIL's resize filters with a support scaled by
                   the reduction factor, i.e. antialiased, which is what
                   torchvision does on PIL images);
    CenterCrop(h, w)  offsets int(round((H - h) / 2.0)) (Python round: half to
                   even), zero padding first when the image is smaller.
Colour: RGB or BGR channel order (or one grey channel, PIL "L").
Normalisation, two equivalent notations (converters below):
    PyTorch terms  x = (u8 / 255 - mean) / std          mean, std on 0..1
    awnn terms     x = (u8 - mean') * norm'              mean' = mean * 255,
                                                         norm' = 1 / (std * 255)
The arithmetic follows the notation the model was declared in, in float32,
exactly as torchvision's ToTensor+Normalize or ncnn/awnn's
substract_mean_normalize computes it.

Calibration data sets: a folder of images (recursive, sorted), a text file with
one image (or .npy) path per line, relative to the text file (a line that
is not a file name is read as ncnn2table/rknn do: its first token), .npy files (float
C,H,W already preprocessed, or N,C,H,W batches; uint8 H,W,C / N,H,W,C images),
PIL images, uint8 arrays, or a list of any of these.

Board-side safe: numpy only, PIL imported when an image needs decoding or
resizing; Python 3.8.
"""
from __future__ import annotations

import json
import os
import warnings
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np

from .errors import InputShapeError, OptionError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".ppm", ".pgm", ".pbm",
                    ".tif", ".tiff", ".webp")


# ----------------------------------------------------------------- notations

def torch_to_awnn(mean: Sequence[float], std: Sequence[float]) -> Tuple[List[float], List[float]]:
    """PyTorch (mean, std on 0..1) -> awnn (mean' on 0..255, norm')."""
    mean, std = _paired_channels(mean, std, "std")
    return [m * 255.0 for m in mean], [1.0 / (s * 255.0) for s in std]


def awnn_to_torch(mean: Sequence[float], norm: Sequence[float]) -> Tuple[List[float], List[float]]:
    """awnn (mean' on 0..255, norm') -> PyTorch (mean, std on 0..1)."""
    mean, norm = _paired_channels(mean, norm, "norm")
    return [m / 255.0 for m in mean], [1.0 / (n * 255.0) for n in norm]


def _paired_channels(mean: Sequence[float], scale: Sequence[float],
                     scale_name: str) -> Tuple[List[float], List[float]]:
    """mean and std (or norm) as floats, one of each per channel, the scale finite and > 0."""
    mean = [float(m) for m in mean]
    scale = [float(s) for s in scale]
    if len(mean) != len(scale):
        raise OptionError("mean has %d values, %s %d: give one per channel" % (len(mean), scale_name, len(scale)))
    for s in scale:
        if not np.isfinite(s) or s <= 0:
            raise OptionError("%s values must be finite and > 0, got %r" % (scale_name, scale))
    return mean, scale


def per_channel_values(values, channels: int, what: str) -> Optional[List[float]]:
    """A number or a list of 1 or `channels` numbers -> `channels` finite floats (None stays None)."""
    if values is None:
        return None
    if isinstance(values, (str, bytes, bool, np.bool_)):  # "123" would iterate to [1, 2, 3]
        raise OptionError("%s must be a number or a list of numbers, got %r" % (what, values))
    if isinstance(values, (int, float, np.integer, np.floating)):
        values = [values]
    try:
        out = [float(v) for v in values]
    except (TypeError, ValueError):
        raise OptionError("%s must be a number or a list of numbers, got %r" % (what, values)) from None
    if len(out) == 1:
        out = out * channels
    if len(out) != channels:
        raise OptionError("%s has %d values but the input has %d channels (give 1 or %d)"
                          % (what, len(out), channels, channels))
    for v in out:
        if not np.isfinite(v):
            raise OptionError("%s values must be finite, got %r" % (what, values))
    return out


SQUASH = "squash"

NO_NORMALIZATION_WARNING = (
    "no mean/std/norm given: the input is taken as u8 / 255 (mean 0, std 1 in PyTorch terms); "
    "give the values the model was trained with (e.g. --mean 0.485,0.456,0.406 --std 0.229,0.224,0.225)")


class PreprocessWarning(UserWarning):
    """Preprocessing values that are accepted but probably not what was meant."""


def _fmt(values: Sequence[float]) -> str:
    return ",".join("%.6g" % v for v in values)


def check_torch_terms(mean: Sequence[float], std: Sequence[float]) -> None:
    """PyTorch terms take mean and std on 0..1.  Values on the 0..255 scale in
    that slot (the usual mistake: --mean 123.675 --std 58.395) would make every
    input nearly constant; refuse them and spell out the two right spellings."""
    big_std = [s for s in std if s > 2.0]
    if big_std:
        raise OptionError(
            "std %s looks like a 0..255 value, but with --std the values are on 0..1 (PyTorch terms): "
            "use --norm %s (awnn terms, mean on 0..255) or --std %s"
            % (_fmt(std), _fmt([1.0 / s for s in std]), _fmt([s / 255.0 for s in std])))
    big_mean = [m for m in mean if abs(m) > 1.5]
    if big_mean:
        raise OptionError(
            "mean %s looks like a 0..255 value, but with --std the mean is on 0..1 (PyTorch terms): "
            "use --mean %s with --std, or keep --mean %s with --norm (awnn terms)"
            % (_fmt(mean), _fmt([m / 255.0 for m in mean]), _fmt(mean)))


def awnn_terms_problems(mean: Sequence[float], norm: Sequence[float],
                        flag: str = "--") -> Tuple[List[str], List[str]]:
    """(errors, warnings) for a mean/norm in awnn terms, x = (u8 - mean) * norm
    with the mean on 0..255 and norm = 1 / (std * 255), typically 0.004..0.02.
    Shared by quantize/run (which refuse the errors; options named --mean)
    and nn.load (which, like MaixPy3, only warns; flag "" names the opt keys)."""
    errors, warns = [], []
    if any(n > 1.0 for n in norm):
        errors.append(
            "norm %s is larger than 1, so (u8 - mean) * norm spans hundreds: if it is a std on 0..255 "
            "use %snorm %s (1 / std); if it is 1 / std on 0..1 use %snorm %s (divided by 255)"
            % (_fmt(norm), flag, _fmt([1.0 / n for n in norm]), flag, _fmt([n / 255.0 for n in norm])))
    if any(m != 0 for m in mean) and all(0 <= m <= 1.0 for m in mean) and any(m != int(m) for m in mean):
        warns.append(
            "mean %s looks like a 0..1 value, but with norm the mean is on 0..255 (awnn terms): "
            "did you mean %smean %s?" % (_fmt(mean), flag, _fmt([m * 255.0 for m in mean])))
    return errors, warns


RESIZE_HELP = ("the resize policy, stored in the model's .json and used by quantize, analyze and run: "
               "an integer = short side before the centre crop (default: the larger input side), "
               "or 'squash' = straight to the input size, aspect ratio not kept")


def resize_option(text: str):
    """argparse type of --resize: an integer short side or 'squash'."""
    if text.strip().lower() == SQUASH:
        return SQUASH
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        import argparse
        raise argparse.ArgumentTypeError("expected a positive integer (short side) or 'squash', got %r" % text)
    return value


def _parse_size(size) -> Tuple[int, int, int]:
    try:
        c, h, w = (int(v) for v in size)
    except (TypeError, ValueError):
        raise OptionError("input size must be (c, h, w), got %r" % (size,)) from None
    if c not in (1, 3) or h <= 0 or w <= 0:
        raise OptionError("input size (c, h, w) needs c = 1 or 3 and h, w > 0, got %r" % (tuple(size),))
    return c, h, w


# ----------------------------------------------------------------- the spec

class Preprocess:
    """Image -> float32 (C, H, W) network input.

    Preprocess((3, 224, 224), mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225], resize=256)
    Preprocess.from_awnn((3, 224, 224), mean=127.5, norm=0.0078125)

    size     (c, h, w) of the network input; c is 1 (grey) or 3.
    resize   the resize policy, chosen once and stored in the .json contract so
             that quantize, analyze, run and the board path all use it:
             an integer s: torchvision's Resize(s) (short side s) then
             CenterCrop((h, w)); default max(h, w) (the crop then only trims
             the long side); "squash": resize to exactly w x h, aspect ratio
             not kept (what a camera frame resized on the board gets).
    bgr      channel order of a 3-channel input (False: RGB).
    mean/std PyTorch terms (0..1); default mean 0, std 1 (plain ToTensor).
             0..255 values in this slot are refused (check_torch_terms).
    """

    def __init__(self, size: Sequence[int], mean=None, std=None, resize=None,
                 bgr: bool = False, check: bool = True):
        c, h, w = _parse_size(size)
        self.size = (c, h, w)
        self.resize_mode = "crop"
        if resize is None:
            resize = max(h, w)
        if isinstance(resize, str) and resize.strip().lower() == SQUASH:
            self.resize_mode = SQUASH
            resize = max(h, w)
        try:
            resize_int = int(resize)
        except (TypeError, ValueError):
            raise OptionError("resize must be an integer (the short side, then a centre crop) or "
                              "'squash' (straight to the input size), got %r" % (resize,)) from None
        if resize_int != resize or resize_int <= 0:
            raise OptionError("resize must be a positive integer (the short side) or 'squash', got %r"
                              % (resize,))
        self.resize = resize_int
        if bgr and c != 3:
            raise OptionError("bgr needs a 3-channel input, the input has %d channel" % c)
        self.bgr = bool(bgr)
        mean_l = per_channel_values(0.0 if mean is None else mean, c, "mean")
        std_l = per_channel_values(1.0 if std is None else std, c, "std")
        for s in std_l:
            if s <= 0:
                raise OptionError("std values must be > 0, got %r" % (std,))
        if check:
            check_torch_terms(mean_l, std_l)
        self.mean = mean_l
        self.std = std_l
        self.notes: List[str] = []  # PreprocessWarnings raised while building it (from_options)
        # which notation the user declared: decides the float32 arithmetic
        self.notation = "torch"
        self._awnn = None  # (mean', norm') exactly as declared, when notation == "awnn"

    @classmethod
    def from_awnn(cls, size: Sequence[int], mean=None, norm=None, resize=None,
                  bgr: bool = False, check: bool = True) -> "Preprocess":
        """Declared in awnn terms: x = (u8 - mean) * norm, mean on 0..255.
        A norm above 1 is refused and a 0..1-looking mean warned about
        (awnn_terms_problems) unless check is False (a stored contract)."""
        c = _parse_size(size)[0]
        mean_a = per_channel_values(0.0 if mean is None else mean, c, "mean")
        norm_a = per_channel_values(1.0 / 255.0 if norm is None else norm, c, "norm")
        if check:
            errors, warns = awnn_terms_problems(mean_a, norm_a)
            if errors:
                raise OptionError(errors[0])
            for w in warns:
                warnings.warn(w, PreprocessWarning, stacklevel=3)
        mean_t, std_t = awnn_to_torch(mean_a, norm_a)
        p = cls(size, mean=mean_t, std=std_t, resize=resize, bgr=bgr, check=False)
        p.notation = "awnn"
        p._awnn = (mean_a, norm_a)
        return p

    @classmethod
    def from_options(cls, size: Sequence[int], mean=None, std=None, norm=None,
                     resize=None, bgr: bool = False) -> "Preprocess":
        """The quantize()/CLI convention: with `std` the mean is in PyTorch terms
        (0..1), with `norm` in awnn terms (0..255); neither: mean 0, std 1,
        with a PreprocessWarning naming that default (a model trained on
        ImageNet-normalised input would silently get the wrong numbers).
        The warnings are also kept in the result's `notes`, for reports."""
        if std is not None and norm is not None:
            raise OptionError("give std (PyTorch terms, mean on 0..1) or norm (awnn terms, mean on "
                              "0..255), not both")
        if mean is not None and std is None and norm is None:
            raise OptionError("mean given without std or norm: give std for PyTorch terms (mean on 0..1)"
                              " or norm for awnn terms (mean on 0..255)")
        notes = [NO_NORMALIZATION_WARNING] if mean is None and std is None and norm is None else []
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", PreprocessWarning)
            if norm is not None:
                p = cls.from_awnn(size, mean=mean, norm=norm, resize=resize, bgr=bgr)
            else:
                p = cls(size, mean=mean, std=std, resize=resize, bgr=bgr)
        for w in caught:
            if issubclass(w.category, PreprocessWarning):
                notes.append(str(w.message))
            else:
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        for note in notes:
            warnings.warn(note, PreprocessWarning, stacklevel=2)
        p.notes = notes
        return p

    # -- the two notations
    @property
    def awnn_mean(self) -> List[float]:
        return list(self._awnn[0]) if self._awnn else torch_to_awnn(self.mean, self.std)[0]

    @property
    def awnn_norm(self) -> List[float]:
        return list(self._awnn[1]) if self._awnn else torch_to_awnn(self.mean, self.std)[1]

    @property
    def resize_policy(self):
        """The `resize` argument that rebuilds this geometry: "squash" or the short side."""
        return SQUASH if self.resize_mode == SQUASH else self.resize

    def describe_geometry(self) -> str:
        c, h, w = self.size
        if self.resize_mode == SQUASH:
            return "resized to %dx%d (aspect ratio not kept)" % (w, h)
        return "short side resized to %d, then centre crop %dx%d" % (self.resize, w, h)

    @property
    def channels(self) -> int:
        return self.size[0]

    @property
    def color(self) -> str:
        return "GRAY" if self.size[0] == 1 else ("BGR" if self.bgr else "RGB")

    # -- pixels
    def pixels(self, image) -> np.ndarray:
        """Resize (+ center-crop) + channel order: uint8 (h, w, c), what a camera
        would deliver to the board after the same geometry."""
        c, h, w = self.size
        arr = _as_uint8_hwc(image, c, None if self.resize_mode == SQUASH else self.resize, (h, w))
        if c == 3 and self.bgr:
            arr = arr[:, :, ::-1]
        return np.ascontiguousarray(arr)

    def normalize(self, pixels: np.ndarray) -> np.ndarray:
        """uint8 (h, w, c) in network channel order -> float32 (c, h, w)."""
        c, h, w = self.size
        px = np.asarray(pixels)
        if px.ndim == 2:
            px = px[:, :, None]
        if px.shape != (h, w, c):
            raise InputShapeError("input shape error: pixels are %s, the model takes (h, w, c) = %s"
                                  % (px.shape, (h, w, c)))
        return self._apply(px.astype(np.float32).transpose(2, 0, 1))

    def input_absmax(self) -> float:
        """The largest |x| any uint8 image can give after this normalisation,
        exactly (the int8 input scale needs no statistics: u8 0 and 255 are
        the extremes of every channel)."""
        c = self.size[0]
        u = np.tile(np.array([0.0, 255.0], np.float32), (c, 1, 1))  # (c, 1, 2)
        return float(np.abs(self._apply(u)).max())

    def _apply(self, u: np.ndarray) -> np.ndarray:
        """float32 (c, ...) pixel values -> the network input, in float32 as declared."""
        c = self.size[0]
        if self.notation == "awnn":
            mean = np.asarray(self.awnn_mean, np.float32).reshape(c, 1, 1)
            norm = np.asarray(self.awnn_norm, np.float32).reshape(c, 1, 1)
            x = (u - mean) * norm
        else:
            mean = np.asarray(self.mean, np.float32).reshape(c, 1, 1)
            std = np.asarray(self.std, np.float32).reshape(c, 1, 1)
            x = (u / np.float32(255.0) - mean) / std
        return np.ascontiguousarray(x, dtype=np.float32)

    def __call__(self, image) -> np.ndarray:
        """A file path, PIL image or uint8 (h, w[, c]) array -> float32 (c, h, w)."""
        return self.normalize(self.pixels(image))

    # -- serialisation
    def to_dict(self) -> Dict[str, Any]:
        c, h, w = self.size
        return {
            "size": [c, h, w],
            "layout": "CHW",
            "resize": ({"mode": SQUASH, "size": [h, w], "interpolation": "bilinear (PIL, antialiased)"}
                       if self.resize_mode == SQUASH else
                       {"mode": "crop", "short_side": self.resize,
                        "interpolation": "bilinear (PIL, antialiased)"}),
            "center_crop": None if self.resize_mode == SQUASH else [h, w],
            "color": self.color,
            "notation": self.notation,
            "torch": {"mean": list(self.mean), "std": list(self.std),
                      "formula": "(u8 / 255 - mean) / std"},
            "awnn": {"mean": self.awnn_mean, "norm": self.awnn_norm,
                     "formula": "(u8 - mean) * norm"},
        }

    @classmethod
    def from_dict(cls, d: Dict[str, Any]) -> "Preprocess":
        try:
            size = d["size"]
            geometry = d.get("resize") or {}
            # contracts written before the policy was recorded are "crop"
            resize = SQUASH if geometry.get("mode") == SQUASH else geometry.get("short_side")
            bgr = d.get("color", "RGB") == "BGR"
            # a stored contract was checked when it was written
            if d.get("notation") == "awnn":
                return cls.from_awnn(size, mean=d["awnn"]["mean"], norm=d["awnn"]["norm"],
                                     resize=resize, bgr=bgr, check=False)
            return cls(size, mean=d["torch"]["mean"], std=d["torch"]["std"], resize=resize, bgr=bgr,
                       check=False)
        except (KeyError, TypeError, AttributeError) as e:
            raise OptionError("not a maixnn preprocessing description (missing %s)" % (e,)) from None

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_json(cls, text: str) -> "Preprocess":
        return cls.from_dict(json.loads(text))

    def __eq__(self, other) -> bool:
        return isinstance(other, Preprocess) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        if self.notation == "awnn":
            norm = "mean=%s, norm=%s" % (self.awnn_mean, self.awnn_norm)
        else:
            norm = "mean=%s, std=%s" % (self.mean, self.std)
        geometry = "resize=squash" if self.resize_mode == SQUASH else "resize=%d" % self.resize
        return "Preprocess(size=%s, %s, %s, %s)" % (self.size, geometry, self.color, norm)


# ----------------------------------------------------------------- geometry

def _import_pil():
    try:
        from PIL import Image
    except ImportError:
        raise OptionError("decoding or resizing images needs Pillow (pip install pillow); "
                          "without it give uint8 arrays of exactly the input size") from None
    return Image


def resized_size(width: int, height: int, short_side: int) -> Tuple[int, int]:
    """torchvision Resize(int) output (width, height): short side = s,
    long side = int(s * long / short)."""
    if width <= height:
        return short_side, int(short_side * height / width)
    return int(short_side * width / height), short_side


def center_crop_box(width: int, height: int, crop_h: int, crop_w: int) -> Tuple[int, int]:
    """torchvision CenterCrop offsets (left, top) on an image at least as large
    as the crop."""
    return int(round((width - crop_w) / 2.0)), int(round((height - crop_h) / 2.0))


def resize_and_crop(img, short_side: int, crop: Tuple[int, int]):
    """torchvision Resize(short_side) + CenterCrop(crop) on a PIL image."""
    Image = _import_pil()
    crop_h, crop_w = crop
    width, height = img.size
    new_w, new_h = resized_size(width, height, short_side)
    if (new_w, new_h) != (width, height):
        img = img.resize((new_w, new_h), Image.BILINEAR)
    width, height = img.size
    if crop_w > width or crop_h > height:
        # torchvision pads with zeros (left/top get the floor half), then crops
        pad_l = (crop_w - width) // 2 if crop_w > width else 0
        pad_t = (crop_h - height) // 2 if crop_h > height else 0
        pad_r = (crop_w - width + 1) // 2 if crop_w > width else 0
        pad_b = (crop_h - height + 1) // 2 if crop_h > height else 0
        canvas = Image.new(img.mode, (width + pad_l + pad_r, height + pad_t + pad_b), 0)
        canvas.paste(img, (pad_l, pad_t))
        img = canvas
        width, height = img.size
        if (width, height) == (crop_w, crop_h):
            return img
    left, top = center_crop_box(width, height, crop_h, crop_w)
    return img.crop((left, top, left + crop_w, top + crop_h))


def _gray_from_rgb(rgb: np.ndarray) -> np.ndarray:
    """PIL's convert('L'): L = (R*19595 + G*38470 + B*7471 + 0x8000) >> 16."""
    r = rgb[:, :, 0].astype(np.uint32)
    g = rgb[:, :, 1].astype(np.uint32)
    b = rgb[:, :, 2].astype(np.uint32)
    return ((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16).astype(np.uint8)


def _hwc(arr: np.ndarray) -> np.ndarray:
    return arr[:, :, None] if arr.ndim == 2 else arr


def squash(img, size: Tuple[int, int]):
    """Resize a PIL image to exactly size = (h, w), aspect ratio not kept."""
    Image = _import_pil()
    h, w = size
    return img if img.size == (w, h) else img.resize((w, h), Image.BILINEAR)


def _geometry(img, short_side: Optional[int], crop: Tuple[int, int]):
    return squash(img, crop) if short_side is None else resize_and_crop(img, short_side, crop)


def _as_uint8_hwc(image, channels: int, short_side: Optional[int], crop: Tuple[int, int]) -> np.ndarray:
    """Decode/convert/resize/crop one image into uint8 (h, w, channels) RGB or grey
    (short_side None: squash to the crop size)."""
    mode = "L" if channels == 1 else "RGB"
    if isinstance(image, (str, os.PathLike)):
        Image = _import_pil()
        path = os.fspath(image)
        try:
            with Image.open(path) as im:
                img = im.convert(mode)
        except OSError as e:
            raise OptionError("%s: cannot read as an image (%s)" % (path, e)) from None
        return _hwc(np.asarray(_geometry(img, short_side, crop)))
    if isinstance(image, np.ndarray):
        arr = image
        if arr.dtype != np.uint8:
            raise InputShapeError("image arrays must be uint8 (h, w[, c]) pixels, got dtype %s "
                                  "(float C,H,W tensors are already preprocessed: pass them as .npy)"
                                  % arr.dtype)
        if arr.ndim == 2:
            arr = arr[:, :, None]
        if arr.ndim != 3 or arr.shape[2] not in (1, 3, 4):
            raise InputShapeError("input shape error: an image array must be (h, w), (h, w, 1), (h, w, 3)"
                                  " or (h, w, 4), got %s" % (image.shape,))
        if arr.shape[2] == 4:
            arr = arr[:, :, :3]
        if channels == 1 and arr.shape[2] == 3:
            arr = _gray_from_rgb(arr)[:, :, None]
        elif channels == 3 and arr.shape[2] == 1:
            arr = np.repeat(arr, 3, axis=2)
        h, w = arr.shape[:2]
        if (h, w) == tuple(crop) and (short_side is None or resized_size(w, h, short_side) == (w, h)):
            return np.ascontiguousarray(arr)  # torchvision would not change a single pixel
        Image = _import_pil()
        img = Image.fromarray(arr[:, :, 0] if channels == 1 else arr, mode)
        return _hwc(np.asarray(_geometry(img, short_side, crop)))
    # PIL image (duck-typed: has .convert and .size)
    if hasattr(image, "convert") and hasattr(image, "size"):
        return _hwc(np.asarray(_geometry(image.convert(mode), short_side, crop)))
    raise OptionError("cannot use %r as an image: give a file path, a PIL image or a uint8 array"
                      % (type(image).__name__,))


# ----------------------------------------------------------------- data sets

class Dataset:
    """A calibration set: a known number of samples, each turned into the
    float32 (c, h, w) network input on demand (images are decoded lazily).

    Dataset(source, preprocess): source is a folder, a .txt list, a .npy file,
    an image path, a PIL image, a numpy array, or a list of these."""

    def __init__(self, source, preprocess: Preprocess, limit: Optional[int] = None):
        self.preprocess = preprocess
        self.items: List[Tuple[str, Any]] = []
        self._npy_cache: Dict[str, np.ndarray] = {}
        # True once any sample is an already-normalised float tensor: then the
        # input's range is not the preprocessing's (see Preprocess.input_absmax)
        self.has_tensors = False
        self.description = _describe(source)
        self._collect(source, depth=0)
        if limit is not None:
            if int(limit) <= 0:
                raise OptionError("the image limit must be > 0, got %r" % (limit,))
            self.items = self.items[:int(limit)]
        if not self.items:
            raise OptionError("no calibration samples found in %s (images: %s; arrays: .npy)"
                              % (self.description, ", ".join(IMAGE_EXTENSIONS)))

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[np.ndarray]:
        for i in range(len(self.items)):
            yield self[i]

    def name(self, i: int) -> str:
        kind, ref = self.items[i]
        if kind in ("image_path",):
            return ref
        if kind == "npy":
            return "%s[%d]" % ref if ref[1] is not None else ref[0]
        return "<%s #%d>" % (kind, i)

    def __getitem__(self, i: int) -> np.ndarray:
        kind, ref = self.items[i]
        c, h, w = self.preprocess.size
        if kind in ("image_path", "image"):
            return self.preprocess(ref)
        if kind == "tensor":
            x = ref
        elif kind == "npy":
            path, index = ref
            arr = self._npy_cache.get(path)
            if arr is None:
                arr = _load_npy(path)
                self._npy_cache = {path: arr}  # keep one file mapped at a time
            x = arr if index is None else arr[index]
            if x.dtype == np.uint8:
                return self.preprocess(np.asarray(x))
        else:  # pragma: no cover - _collect only makes the kinds above
            raise AssertionError(kind)
        x = np.asarray(x, dtype=np.float32)
        if x.shape != (c, h, w):
            raise InputShapeError("calibration sample %s has shape %s, the model input is (c, h, w) = %s"
                                  % (self.name(i), x.shape, (c, h, w)))
        # a preprocessed tensor is in the original model's normalisation; a folded
        # model (maixnn.fold) takes it mapped into its single mean/norm domain
        tensor_map = getattr(self.preprocess, "tensor_input_map", None)
        if tensor_map is not None:
            x = tensor_map(x)
        return np.ascontiguousarray(x)

    # -- collection
    def _collect(self, source, depth: int) -> None:
        if depth > 2:
            raise OptionError("calibration lists nest too deeply at %r" % (source,))
        if isinstance(source, (list, tuple)):
            for s in source:
                self._collect(s, depth + 1)
            return
        if isinstance(source, np.ndarray):
            self._collect_array(source, "<array>")
            return
        if isinstance(source, (str, os.PathLike)):
            path = os.fspath(source)
            if os.path.isdir(path):
                self._collect_folder(path)
            elif not os.path.exists(path):
                raise OptionError("calibration data %s does not exist" % path)
            elif path.lower().endswith(".npy"):
                self._collect_npy(path)
            elif path.lower().endswith(IMAGE_EXTENSIONS):
                self.items.append(("image_path", path))
            else:
                self._collect_list_file(path, depth)
            return
        if hasattr(source, "convert") and hasattr(source, "size"):
            self.items.append(("image", source))
            return
        raise OptionError("cannot use %r as calibration data: give a folder, a .txt list of paths, "
                          ".npy files, images or arrays" % (type(source).__name__,))

    def _collect_folder(self, folder: str) -> None:
        found = []
        for root, dirs, files in os.walk(folder):
            dirs.sort()
            for f in sorted(files):
                low = f.lower()
                if low.endswith(IMAGE_EXTENSIONS) or low.endswith(".npy"):
                    found.append(os.path.join(root, f))
        for p in found:
            if p.lower().endswith(".npy"):
                self._collect_npy(p)
            else:
                self.items.append(("image_path", p))

    def _collect_list_file(self, path: str, depth: int) -> None:
        base = os.path.dirname(os.path.abspath(path))
        try:
            with open(path, "r", encoding="utf-8") as f:
                lines = f.read().splitlines()
        except (OSError, UnicodeDecodeError) as e:
            raise OptionError("%s: cannot read as a text list of image paths (%s)" % (path, e)) from None
        for lineno, line in enumerate(lines, start=1):
            entry = line.strip()
            if not entry or entry.startswith("#"):
                continue
            full = entry if os.path.isabs(entry) else os.path.join(base, entry)
            if not os.path.exists(full) and len(entry.split()) > 1:
                # ncnn2table / rknn dataset.txt style: the first token is the path
                first = entry.split()[0]
                full = first if os.path.isabs(first) else os.path.join(base, first)
            if not os.path.exists(full):
                raise OptionError("%s line %d: %s does not exist" % (path, lineno, full))
            if os.path.isdir(full):
                raise OptionError("%s line %d: %s is a folder, list image files" % (path, lineno, full))
            if full.lower().endswith(".npy"):
                self._collect_npy(full)
            else:
                self.items.append(("image_path", full))

    def _collect_npy(self, path: str) -> None:
        arr = _load_npy(path)
        c, h, w = self.preprocess.size
        if arr.dtype == np.uint8:
            # pixels: (h, w[, c]) one image or (n, h, w, c) several
            if arr.ndim == 4:
                self.items.extend(("npy", (path, i)) for i in range(arr.shape[0]))
            elif arr.ndim in (2, 3):
                self.items.append(("npy", (path, None)))
            else:
                raise InputShapeError("%s: uint8 arrays must be (h, w, c) or (n, h, w, c), got %s"
                                      % (path, arr.shape))
            return
        self.has_tensors = True
        if arr.ndim == 3:
            self.items.append(("npy", (path, None)))
        elif arr.ndim == 4:
            self.items.extend(("npy", (path, i)) for i in range(arr.shape[0]))
        else:
            raise InputShapeError("%s: float arrays must be (c, h, w) = %s or (n, c, h, w), got %s"
                                  % (path, (c, h, w), arr.shape))
        if arr.shape[-3:] != (c, h, w):
            raise InputShapeError("%s: samples are %s, the model input is (c, h, w) = %s"
                                  % (path, arr.shape[-3:], (c, h, w)))

    def _collect_array(self, arr: np.ndarray, where: str) -> None:
        if arr.dtype == np.uint8:
            if arr.ndim == 4:
                self.items.extend(("image", arr[i]) for i in range(arr.shape[0]))
            else:
                self.items.append(("image", arr))
            return
        self.has_tensors = True
        if arr.ndim == 3:
            self.items.append(("tensor", arr))
        elif arr.ndim == 4:
            self.items.extend(("tensor", arr[i]) for i in range(arr.shape[0]))
        else:
            raise InputShapeError("%s: float arrays must be (c, h, w) or (n, c, h, w), got %s"
                                  % (where, arr.shape))


def _load_npy(path: str) -> np.ndarray:
    try:
        return np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError) as e:
        raise OptionError("%s: cannot read as a .npy array (%s)" % (path, e)) from None


def _describe(source) -> str:
    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source)
    if isinstance(source, (list, tuple)):
        return "a list of %d entries" % len(source)
    return "a %s" % type(source).__name__
