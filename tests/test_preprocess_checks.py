"""Preprocessing that cannot silently go wrong (issue 8): values on the wrong
scale are refused or warned with the fix spelled out, no values at all is a
warning naming the default, one resize policy is stored in the .json contract
and used by quantize and run alike, run reads an int8 model's contract, and
run prints a top-k only for class vectors."""
from __future__ import annotations

import json
import re
import warnings

import numpy as np
import pytest

from maixnn.errors import OptionError
from maixnn.preprocess import Preprocess, PreprocessWarning, awnn_terms_problems
from maixnn.runtime import Net
from test_cli import _classifier, maixnn_cli


def test_torch_scale_values_in_the_std_slot_are_refused_with_the_fix():
    with pytest.raises(OptionError) as e:
        Preprocess.from_options((3, 8, 8), mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375])
    msg = str(e.value)
    assert "std 58.395,57.12,57.375 looks like a 0..255 value" in msg
    # the two right spellings, computed from the values given
    assert "--norm 0.0171248,0.017507,0.0174292" in msg
    assert "--std 0.229,0.224,0.225" in msg


def test_a_0_255_mean_with_a_0_1_std_is_refused():
    with pytest.raises(OptionError, match=r"mean 123\.675 looks like a 0\.\.255 value.*--mean 0\.485"):
        Preprocess.from_options((1, 8, 8), mean=123.675, std=0.229)


def test_awnn_norm_above_one_is_refused_and_a_0_1_mean_warned():
    with pytest.raises(OptionError, match=r"norm 58\.395 is larger than 1.*--norm 0\.0171248"):
        Preprocess.from_options((1, 8, 8), mean=123.675, norm=58.395)
    with pytest.warns(PreprocessWarning, match=r"mean 0\.485 looks like a 0\.\.1 value.*--mean 123\.675"):
        p = Preprocess.from_options((1, 8, 8), mean=0.485, norm=0.0171248)
    assert len(p.notes) == 1
    # plausible values give nothing to say
    assert awnn_terms_problems([127.5] * 3, [0.0078125] * 3) == ([], [])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Preprocess.from_options((3, 8, 8), mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])
        Preprocess.from_options((3, 8, 8), mean=127.5, norm=0.0078125)


def test_no_normalisation_is_a_warning_naming_the_default():
    with pytest.warns(PreprocessWarning, match=r"no mean/std/norm given: the input is taken as u8 / 255"):
        p = Preprocess.from_options((3, 8, 8))
    assert p.mean == [0.0] * 3 and p.std == [1.0] * 3


def test_stored_contracts_are_not_rechecked():
    # a contract written by an older maixnn must still load
    d = Preprocess((1, 4, 4)).to_dict()
    d["torch"]["std"] = [58.395]
    assert Preprocess.from_dict(d).std == [58.395]


def test_squash_policy_resizes_straight_to_the_input_and_round_trips():
    from PIL import Image
    img = np.random.default_rng(0).integers(0, 256, (6, 14, 3), dtype=np.uint8)
    p = Preprocess((3, 8, 8), resize="squash")
    ref = np.asarray(Image.fromarray(img).resize((8, 8), Image.BILINEAR))
    np.testing.assert_array_equal(p.pixels(img), ref)
    crop = Preprocess((3, 8, 8))
    assert not np.array_equal(crop.pixels(img), ref)  # the two policies differ on this image
    back = Preprocess.from_json(p.to_json())
    assert back == p and back.resize_mode == "squash"
    np.testing.assert_array_equal(back.pixels(img), ref)
    # contracts written before the policy was recorded read as centre crop
    old = crop.to_dict()
    old["resize"] = {"short_side": 8}
    assert Preprocess.from_dict(old).resize_mode == "crop"


def test_quantize_cli_refuses_torch_scale_std_in_one_line(tmp_path):
    param, _ = _classifier(tmp_path)
    imgs = tmp_path / "imgs"
    imgs.mkdir()
    np.save(str(imgs / "a.npy"), np.zeros((2, 8, 8, 3), np.uint8))
    proc = maixnn_cli("quantize", tmp_path / "cls", tmp_path / "q", "--images", imgs,
                      "--mean", "123.675,116.28,103.53", "--std", "58.395,57.12,57.375")
    assert proc.returncode == 2
    assert re.search(r"^maixnn quantize: error: std 58\.395,57\.12,57\.375 looks like a 0\.\.255 value.*"
                     r"--norm 0\.0171248", proc.stderr), proc.stderr
    assert not list(tmp_path.glob("q.*"))  # nothing written


def _quantized(tmp_path, *options):
    from PIL import Image
    param, binf = _classifier(tmp_path, h=8, w=8, seed=5)
    imgs = tmp_path / "imgs"
    imgs.mkdir()
    rng = np.random.default_rng(6)
    for i in range(4):
        Image.fromarray(rng.integers(0, 256, (10, 16, 3), dtype=np.uint8)).save(str(imgs / ("%d.png" % i)))
    proc = maixnn_cli("quantize", tmp_path / "cls", tmp_path / "cls_int8", "--images", imgs,
                      "--method", "minmax", "--no-progress", *options)
    assert proc.returncode == 0, proc.stderr
    return proc


def test_quantize_records_the_policy_and_run_uses_the_int8_contract(tmp_path):
    from PIL import Image
    _quantized(tmp_path, "--mean", "0.5", "--std", "0.25", "--resize", "squash")
    doc = json.loads((tmp_path / "cls_int8.json").read_text())
    assert doc["preprocess"]["resize"]["mode"] == "squash"

    img = np.random.default_rng(7).integers(0, 256, (12, 20, 3), dtype=np.uint8)
    Image.fromarray(img).save(str(tmp_path / "pic.png"))
    proc = maixnn_cli("run", tmp_path / "cls_int8", tmp_path / "pic.png", "--save", tmp_path / "y.npy")
    assert proc.returncode == 0, proc.stderr
    assert "preprocessing from" in proc.stdout and "resize=squash" in proc.stdout
    # independent of maixnn.preprocess: PIL straight to 8x8, then (u8/255 - 0.5) / 0.25
    u8 = np.asarray(Image.fromarray(img).resize((8, 8), Image.BILINEAR))
    x = (u8.astype(np.float32) / np.float32(255) - np.float32(0.5)) / np.float32(0.25)
    ref = Net(str(tmp_path / "cls_int8.param"), str(tmp_path / "cls_int8.bin")).forward(
        np.ascontiguousarray(x.transpose(2, 0, 1)))
    np.testing.assert_array_equal(np.load(str(tmp_path / "y.npy")), ref)

    # the contract decides: describing the preprocessing again is refused
    proc = maixnn_cli("run", tmp_path / "cls_int8", tmp_path / "pic.png", "--mean", "0.4", "--std", "0.2")
    assert proc.returncode == 2
    assert re.search(r"cls_int8\.json declares the preprocessing .*drop --mean, --std", proc.stderr), proc.stderr


def test_quantize_warns_once_about_missing_normalisation(tmp_path):
    proc = _quantized(tmp_path)
    assert proc.stdout.count("warning: no mean/std/norm given") == 1, proc.stdout
    doc = json.loads((tmp_path / "cls_int8.json").read_text())
    assert any(w.startswith("no mean/std/norm given") for w in doc["warnings"])


def test_quantize_prints_the_fold_summary_once(tmp_path):
    proc = _quantized(tmp_path, "--mean", "0.485,0.456,0.406", "--std", "0.229,0.224,0.225")
    both = proc.stdout + proc.stderr
    assert both.count("input normalisation folded for the NPU's single mean/norm") == 1, both


def test_run_prints_top_k_only_for_class_vectors(tmp_path):
    _classifier(tmp_path, seed=3)
    np.save(str(tmp_path / "x.npy"), np.random.default_rng(4).standard_normal((3, 8, 8)).astype(np.float32))
    proc = maixnn_cli("run", tmp_path / "cls", tmp_path / "x.npy", "--outputs", "relu,output0")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    # the (4, 8, 8) feature map gets no top-k, the 5 class scores do
    assert out.count("top-") == 1
    assert out.index("relu: shape (4, 8, 8)") < out.index("output0: shape (5,)") < out.index("top-5")


def test_nn_load_warns_on_torch_scale_mean_norm_but_still_loads(tmp_path):
    from maixnn import nn
    param, binf = _classifier(tmp_path)
    opt = {"model_type": "awnn", "inputs": {"input0": (8, 8, 3)}, "outputs": {"output0": (1, 1, 5)},
           "mean": [0.485, 0.456, 0.406], "norm": [1 / 0.229, 1 / 0.224, 1 / 0.225]}
    with pytest.warns(PreprocessWarning) as record:
        m = nn.load({"param": param, "bin": binf}, opt=opt)
    texts = [str(w.message) for w in record]
    assert any("input 'input0': norm 4.36681,4.46429,4.44444 is larger than 1" in t and "norm 0.0171248" in t
               for t in texts), texts
    assert any("mean 0.485,0.456,0.406 looks like a 0..1 value" in t and "mean 123.675" in t for t in texts), texts
    assert m.forward(bytes(8 * 8 * 3)).shape == (1, 1, 5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nn.load({"param": param, "bin": binf}, opt=dict(opt, mean=[123.675, 116.28, 103.53],
                                                         norm=[0.0171248, 0.017507, 0.0174292]))
