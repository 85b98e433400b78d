"""maixnn.export: torch -> ONNX with the names and fixed shape the rest of
maixnn (and the seed's V831 flow) relies on."""
from __future__ import annotations

import argparse
import os
import textwrap

import numpy as np
import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

import maixnn  # noqa: E402
from maixnn import exporter  # noqa: E402
from maixnn.errors import ModelFormatError, OptionError  # noqa: E402

import helpers  # noqa: E402
import nets  # noqa: E402


def _dims(value_info):
    return [d.dim_value if d.HasField("dim_value") else d.dim_param for d in value_info.type.tensor_type.shape.dim]


def test_export_names_shape_and_values(tmp_path):
    model = nets.SMALL_NETS["resnet18"]()
    model.train()  # export must switch to eval (BatchNorm running stats)
    path = str(tmp_path / "r.onnx")
    assert maixnn.export(model, path, input_shape=(3, 64, 64)) == path
    assert not model.training
    m = onnx.load(path)
    assert [i.name for i in m.graph.input] == ["input0"]
    assert _dims(m.graph.input[0]) == [1, 3, 64, 64]
    assert [o.name for o in m.graph.output] == ["output0"]
    assert _dims(m.graph.output[0]) == [1, 10]
    assert {op.version for op in m.opset_import if op.domain in ("", "ai.onnx")} == {exporter.DEFAULT_OPSET}
    # onnxruntime on the file == torch in eval mode
    x = helpers.random_input((3, 64, 64), 3)
    with torch.no_grad():
        want = model(torch.from_numpy(x)).numpy()[0]
    got = helpers.run_onnxruntime(path, x)["output0"]
    helpers.assert_close(got, want)
    # nothing but the model in the directory (atomic write via temp file + rename)
    assert os.listdir(str(tmp_path)) == ["r.onnx"]


def test_export_multiple_outputs_and_opset(tmp_path):
    model = nets.IDIOM_NETS["multi_output"]()
    path = maixnn.export(model, str(tmp_path / "m.onnx"), input_shape=[1, 3, 16, 16], opset=11)
    m = onnx.load(path)
    assert [o.name for o in m.graph.output] == ["output0", "output1"]
    assert _dims(m.graph.output[1]) == [1, 2, 8, 8]
    assert {op.version for op in m.opset_import if op.domain in ("", "ai.onnx")} == {11}


def test_export_overwrites_atomically(tmp_path):
    path = str(tmp_path / "m.onnx")
    with open(path, "wb") as f:
        f.write(b"old")
    maixnn.export(nets.IDIOM_NETS["softmax"](), path, input_shape=(3, 16, 16))
    assert onnx.load(path).graph.input[0].name == "input0"
    assert os.listdir(str(tmp_path)) == ["m.onnx"]


@pytest.mark.parametrize("shape", [(3, 224), (0, 16, 16), (2, 3, 16, 16), "abc"])
def test_export_rejects_bad_input_shape(shape, tmp_path):
    with pytest.raises(OptionError, match="input_shape"):
        maixnn.export(nets.IDIOM_NETS["softmax"](), str(tmp_path / "m.onnx"), input_shape=shape)
    assert not os.listdir(str(tmp_path))


def test_export_rejects_wrong_size_and_non_modules(tmp_path):
    # the fc layer expects 16x16 input
    with pytest.raises(OptionError, match="does not run on a 1x3x32x32 input"):
        maixnn.export(nets.IDIOM_NETS["softmax"](), str(tmp_path / "m.onnx"), input_shape=(3, 32, 32))
    with pytest.raises(OptionError, match="torch.nn.Module"):
        maixnn.export(lambda x: x, str(tmp_path / "m.onnx"), input_shape=(3, 8, 8))
    with pytest.raises(OptionError, match="opset"):
        maixnn.export(nets.IDIOM_NETS["softmax"](), str(tmp_path / "m.onnx"), input_shape=(3, 16, 16), opset=3)
    assert not os.listdir(str(tmp_path))


def test_cli_export_from_file_factory(tmp_path, capsys):
    src = tmp_path / "mymodel.py"
    src.write_text(textwrap.dedent("""
        import torch

        def build():
            torch.manual_seed(0)
            return torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(),
                                       torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(),
                                       torch.nn.Linear(4, 2))
    """))
    p = argparse.ArgumentParser()
    exporter.configure_parser(p)
    out = str(tmp_path / "cli.onnx")
    args = p.parse_args(["%s:build" % src, out, "--input-shape", "3,20,24", "--opset", "13"])
    assert exporter.run_cli(args) == 0
    assert "wrote" in capsys.readouterr().out
    m = onnx.load(out)
    assert _dims(m.graph.input[0]) == [1, 3, 20, 24]
    # and the whole way through the converter on the ncnn wheel
    pytest.importorskip("ncnn")
    base = str(tmp_path / "cli")
    maixnn.convert(out, base)
    x = helpers.random_input((3, 20, 24), 0)
    helpers.assert_close(helpers.run_ncnn(base + ".param", base + ".bin", x)["output0"],
                         helpers.run_onnxruntime(out, x)["output0"])

    for bad, pattern in (("%s:nope" % src, "no callable 'nope'"), ("missing.py:build", "no such Python file"),
                         ("no_colon", "FILE.py:FACTORY")):
        with pytest.raises(OptionError, match=pattern):
            exporter.run_cli(p.parse_args([bad, out]))
    with pytest.raises(OptionError, match="input-shape"):
        exporter.run_cli(p.parse_args(["%s:build" % src, out, "--input-shape", "3,a,b"]))


def test_cli_export_weights_file(tmp_path):
    src = tmp_path / "m2.py"
    src.write_text("import torch\n\ndef build():\n    return torch.nn.Conv2d(3, 2, 1)\n")
    trained = torch.nn.Conv2d(3, 2, 1)
    with torch.no_grad():
        trained.weight.fill_(0.5)
        trained.bias.fill_(-1.0)
    wpath = str(tmp_path / "w.pt")
    torch.save(trained.state_dict(), wpath)
    p = argparse.ArgumentParser()
    exporter.configure_parser(p)
    out = str(tmp_path / "w.onnx")
    exporter.run_cli(p.parse_args(["%s:build" % src, out, "--input-shape", "3,4,4", "--weights", wpath]))
    x = np.ones((1, 3, 4, 4), np.float32)
    y = helpers.run_onnxruntime(out, x)["output0"]
    np.testing.assert_allclose(y, np.full((2, 4, 4), 0.5), rtol=0, atol=1e-6)


def test_cli_export_weights_that_do_not_fit_are_model_format_error(tmp_path):
    src = tmp_path / "m3.py"
    src.write_text("import torch\n\ndef build():\n    return torch.nn.Conv2d(3, 2, 1)\n")
    wpath = str(tmp_path / "other.pt")
    torch.save(torch.nn.Conv2d(3, 5, 1).state_dict(), wpath)   # 5 output channels, not 2
    p = argparse.ArgumentParser()
    exporter.configure_parser(p)
    with pytest.raises(ModelFormatError, match="other.pt does not fit"):
        exporter.run_cli(p.parse_args(["%s:build" % src, str(tmp_path / "o.onnx"), "--input-shape", "3,4,4",
                                       "--weights", wpath]))
    assert not os.path.exists(str(tmp_path / "o.onnx"))
