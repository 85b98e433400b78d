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


def _export_cli(*args, cwd=None):
    import subprocess
    import sys
    return subprocess.run([sys.executable, "-m", "maixnn", "export"] + [str(a) for a in args], cwd=cwd,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, timeout=600)


FACTORIES = textwrap.dedent("""
    import torch

    def build():
        return torch.nn.Sequential(torch.nn.Conv2d(3, 2, 1), torch.nn.ReLU())

    def needs_args(width):
        return torch.nn.Conv2d(3, width, 1)

    def raises():
        raise RuntimeError("weights server unreachable")
""")


def test_module_factory_is_found_from_its_folder_with_the_maixnn_script(tmp_path):
    """`maixnn export mymod:build` run in mymod's folder finds it, through the
    console script too (which, unlike python -m, does not put the cwd on the path)."""
    (tmp_path / "mymod.py").write_text(FACTORIES)
    from maixnn.exporter import load_factory
    old = os.getcwd()
    os.chdir(str(tmp_path))
    try:
        import sys
        saved = list(sys.path)
        sys.path[:] = [p for p in sys.path if p not in ("", str(tmp_path), ".")]
        try:
            factory = load_factory("mymod:build")
        finally:
            sys.path[:] = saved
            sys.modules.pop("mymod", None)
    finally:
        os.chdir(old)
    assert isinstance(factory(), torch.nn.Sequential)
    # from elsewhere: a one-line error that says what to do
    proc = _export_cli("mymod_absent:build", tmp_path / "x.onnx", cwd=str(tmp_path))
    assert proc.returncode == 2
    assert "not in the current folder" in proc.stderr and "PYTHONPATH" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("name, pattern", [
    ("needs_args", r"mymod:needs_args needs arguments .*wrap it"),
    ("raises", r"mymod:raises\(\) failed: RuntimeError: weights server unreachable"),
])
def test_factory_that_needs_arguments_or_raises_is_one_line_exit_2(tmp_path, name, pattern):
    import re
    (tmp_path / "mymod.py").write_text(FACTORIES)
    proc = _export_cli("mymod:%s" % name, tmp_path / "x.onnx", "--input-shape", "3,4,4", cwd=str(tmp_path))
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and re.search(pattern, lines[0]), proc.stderr
    assert not os.path.exists(str(tmp_path / "x.onnx"))


@pytest.mark.parametrize("wrap", ["state_dict", "model", "dataparallel"])
def test_checkpoint_dicts_are_unwrapped(tmp_path, wrap):
    src = tmp_path / "m4.py"
    src.write_text("import torch\n\ndef build():\n    return torch.nn.Conv2d(3, 2, 1)\n")
    trained = torch.nn.Conv2d(3, 2, 1)
    with torch.no_grad():
        trained.weight.fill_(0.25)
        trained.bias.fill_(2.0)
    state = trained.state_dict()
    saved = {"state_dict": state, "epoch": 3} if wrap == "state_dict" else \
        {"model": state, "optimizer": {}, "epoch": 7} if wrap == "model" else \
        {"module." + k: v for k, v in state.items()}
    wpath = str(tmp_path / "ckpt.pt")
    torch.save(saved, wpath)
    out = str(tmp_path / "c.onnx")
    proc = _export_cli("%s:build" % src, out, "--input-shape", "3,4,4", "--weights", wpath)
    assert proc.returncode == 0, proc.stderr
    assert "loaded" in proc.stdout
    y = helpers.run_onnxruntime(out, np.ones((1, 3, 4, 4), np.float32))["output0"]
    np.testing.assert_allclose(y, np.full((2, 4, 4), 2.75), rtol=0, atol=1e-6)


def test_whole_pickled_model_is_explained_not_unpickled(tmp_path):
    src = tmp_path / "m5.py"
    src.write_text("import torch\n\ndef build():\n    return torch.nn.Conv2d(3, 2, 1)\n")
    wpath = str(tmp_path / "whole.pt")
    torch.save(torch.nn.Conv2d(3, 2, 1), wpath)
    proc = _export_cli("%s:build" % src, tmp_path / "w.onnx", "--input-shape", "3,4,4", "--weights", wpath)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "holds a whole pickled model, not a state_dict" in lines[0], proc.stderr
    assert "model.state_dict()" in lines[0]
