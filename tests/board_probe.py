"""Run the board-side Python (maixnn.runtime, maixnn.nn) on a set of models and
record everything it returns, so that two runs can be compared: the host's
cffi vs ctypes bindings, or the host vs an armhf Python under qemu-arm.

    python board_probe.py MANIFEST.json OUT_PREFIX [--block-cffi]

MANIFEST (written by tests/test_board_python.py):
    {"nets": [{"name", "param", "bin", "inputs": {blob: input .npy}}],
     "nn":   [{"name", "model": {"param", "bin"} or ".mud path", "opt": {...} or null,
               "image": .npy of uint8 HWC, "quantize": bool}],
     "yolo2": {"fmap": .npy, "class_num", "anchors", "net_in", "net_out"},
     "missing": path of a file that does not exist}
Writes OUT_PREFIX.npz (every blob of every net, every nn output; keys
"net/<name>/<blob>", "nn/<name>/<i>", "yolo2/boxes|probs") and OUT_PREFIX.json (the binding in use,
the thread check, and the type and message of each provoked error).

--block-cffi makes `import cffi` fail, as on the stock board image.  Runs on
Python 3.8+ with numpy only (no pytest): it is board-side code.
"""
import json
import sys
import threading

if "--block-cffi" in sys.argv:
    sys.modules["cffi"] = None  # 'import cffi' now raises ImportError
    sys.modules["_cffi_backend"] = None

import numpy as np  # noqa: E402

from maixnn import nn, runtime  # noqa: E402
from maixnn.runtime import Net  # noqa: E402


def _error(call):
    try:
        call()
    except Exception as exc:  # noqa: BLE001 - the type and text are what is compared
        return [type(exc).__name__, str(exc)]
    return ["no error", ""]


def main(argv):
    manifest_path, out_prefix = argv[1], argv[2]
    with open(manifest_path) as f:
        manifest = json.load(f)
    arrays = {}
    report = {"binding": runtime.binding_name(), "errors": {}, "threads_equal": None,
              "python": sys.version.split()[0], "numpy": np.__version__}

    first = None
    for entry in manifest["nets"]:
        net = Net(entry["param"], entry["bin"])
        x = {name: np.load(path) for name, path in entry["inputs"].items()}
        blobs = net.forward(x, outputs=net.blob_names)
        for blob, value in blobs.items():
            arrays["net/%s/%s" % (entry["name"], blob)] = value
        if first is None:
            first = (net, x, blobs)

    # one Net, four threads at once, each result equal to the serial one
    net, x, serial = first
    results = [None] * 4

    def work(i):
        results[i] = net.forward(x, outputs=net.blob_names)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    report["threads_equal"] = all(r is not None and all(np.array_equal(r[k], serial[k]) for k in serial)
                                  for r in results)

    for entry in manifest["nn"]:
        if entry["opt"] is None:
            model = nn.load(entry["model"])
        else:
            model = nn.load(entry["model"], opt=entry["opt"])
        image = np.load(entry["image"])
        for name in model.inputs:  # what the engine is fed (int8 for an int8 model: the NPU input path)
            arrays["nn/%s/input/%s" % (entry["name"], name)] = model.prepare_input(name, image, entry["quantize"])
        out = model.forward(image, quantize=entry["quantize"], layout="hwc")
        outs = out if isinstance(out, list) else [out]
        for i, value in enumerate(outs):
            arrays["nn/%s/%d" % (entry["name"], i)] = value
        arrays["nn/%s/softmax" % entry["name"]] = nn.F.softmax(outs[0])

    # nn.decoder.Yolo2 on a fixed feature map (relative boxes: no pixel truncation)
    y = manifest["yolo2"]
    yolo2 = nn.decoder.Yolo2(y["class_num"], y["anchors"], net_in_size=tuple(y["net_in"]),
                             net_out_size=tuple(y["net_out"]))
    boxes, probs = yolo2.run(np.load(y["fmap"]), nms=0.3, threshold=0.4)
    arrays["yolo2/boxes"] = np.array(boxes, dtype=np.float64).reshape(-1, 4)
    arrays["yolo2/probs"] = np.array([[k] + p for k, p in probs], dtype=np.float64).reshape(-1, y["class_num"] + 1)

    # errors: the engine's messages through the binding, and maixnn.nn's checks
    net_entry = manifest["nets"][0]
    nn_entry = manifest["nn"][0]
    model = nn.load(nn_entry["model"], opt=nn_entry["opt"]) if nn_entry["opt"] else nn.load(nn_entry["model"])
    errors = {
        "missing_param": lambda: Net(manifest["missing"], net_entry["bin"]),
        "missing_bin": lambda: Net(net_entry["param"], manifest["missing"]),
        "unknown_layer": lambda: Net.from_memory("7767517\n2 2\nInput in 0 1 x 0=4\nFrobnicate f 1 1 x y\n"),
        "bad_magic": lambda: Net.from_memory("123\n1 1\nInput in 0 1 x 0=4\n"),
        "short_bin": lambda: Net.from_memory(open(net_entry["param"]).read(), b"\0" * 8),
        "wrong_shape": lambda: first[0].forward({k: np.zeros((1, 2, 3), np.float32) for k in first[1]}),
        "unknown_blob": lambda: first[0].forward(first[1], outputs=["nope"]),
        "nn_input_size": lambda: model.forward(b"\x00" * 5),
        "nn_list": lambda: model.forward([b"\x00"]),
        "nn_no_opt": lambda: nn.load({"param": net_entry["param"], "bin": net_entry["bin"]}),
        "nn_load_fail": lambda: nn.load({"param": manifest["missing"], "bin": net_entry["bin"]},
                                        opt={"model_type": "awnn", "inputs": {"x": (1, 1, 1)},
                                             "outputs": {"y": (1, 1, 1)}, "mean": 0.0, "norm": 1.0}),
        "softmax_dim": lambda: nn.F.softmax(np.zeros(3, np.float32), dim=0),
        "yolo2_fmap_size": lambda: yolo2.run(b"\x00" * 12),
    }
    for name, call in errors.items():
        report["errors"][name] = _error(call)

    np.savez(out_prefix + ".npz", **arrays)
    with open(out_prefix + ".json", "w") as f:
        json.dump(report, f, indent=1, sort_keys=True)
    print("PROBE OK %s %d arrays" % (report["binding"], len(arrays)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
