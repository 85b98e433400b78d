"""`maixnn pack MODEL --out dist/`: the board's dist/ folder for a model.

    result = maixnn.pack("out/m_int8.mud", "dist")              # zig, the default toolchain
    result = maixnn.pack("out/m", "dist", mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])

MODEL is a libmaix .mud (what `maixnn quantize` writes, or the board's own
awnn models' description) or a .param/.bin base path (BASE.mud beside it is
used when it exists; otherwise the .mud is written from the model's Input
layer and outputs and the mean/std or mean/norm given).  The model is loaded
on the host engine first (maixnn.nn.load), so a model the engine refuses
stops here, before any build.

What it does: stages the model as model/<name>.mud + .param + .bin (the .mud
rewritten by maixnn.nn.mud_text to name its files beside it), runs CMake on
maixnn's source tree with the chosen toolchain and -DMAIXNN_DIST=ON
(cmake/dist.cmake), builds nn_resnet and installs the dist layout into a
temporary folder beside OUT, checks it, and only then renames it to OUT (a
previous dist/ there is replaced; a failed pack leaves OUT as it was).

Toolchains (toolchain/*.cmake): zig (pip install ziglang; the default: no
other download), v831 (Sipeed's toolchain-sunxi-musl, --toolchain-root or
V831_TOOLCHAIN_ROOT), armhf-debian (glibc: for tests under qemu only, does not
run on the board), host (this machine, for trying the layout).

Needs maixnn's source tree (CMakeLists.txt, csrc/, examples/): the checkout
this package runs from, or --source.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from typing import List, Optional, Sequence

from .errors import Error, ModelFormatError, OptionError, path_argument

TOOLCHAIN_FILES = {
    "zig": "zig-armv7-musl.cmake",
    "v831": "v831-musl.cmake",
    "armhf-debian": "armhf-debian.cmake",
    "host": None,
}
DEFAULT_TOOLCHAIN = "zig"
APP = "nn_resnet"
START_SCRIPT = "start_app.sh"
IMAGENET_CLASSES = 1000
_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


class BuildError(Error, RuntimeError):
    """CMake could not configure, build or install the dist/ folder."""


def board_modules(source: Optional[str] = None) -> List[str]:
    """The board-side modules of maixnn (python/maixnn/board_modules.txt, also
    read by cmake/dist.cmake): of this package, or of the source tree `source`."""
    folder = _PACKAGE_DIR if source is None else os.path.join(source, "python", "maixnn")
    with open(os.path.join(folder, "board_modules.txt")) as f:
        return [line.strip() for line in f if line.strip() and not line.startswith("#")]


def default_source_dir() -> Optional[str]:
    """maixnn's source tree when this package runs from a checkout (python/maixnn)."""
    root = os.path.dirname(os.path.dirname(_PACKAGE_DIR))
    if all(os.path.exists(os.path.join(root, p)) for p in ("CMakeLists.txt", "csrc", "cmake", "examples")):
        return root
    return None


class PackResult:
    """What pack() wrote."""

    def __init__(self, out: str, toolchain: str, mud: str, input_hwc, classes: int, labels: Optional[str]):
        self.out = out
        self.toolchain = toolchain
        self.app = os.path.join(out, APP)
        self.start_script = os.path.join(out, START_SCRIPT)
        self.mud = mud                  # inside out/model/
        self.input_hwc = tuple(input_hwc)
        self.classes = classes
        self.labels = labels            # inside out/model/, or None
        self.files: List[str] = []      # relative to out, sorted

    def summary(self) -> str:
        h, w, c = self.input_hwc
        lines = ["dist/ for %s (%s toolchain): input %dx%dx%d, %d classes%s" % (
                     os.path.basename(self.mud), self.toolchain, h, w, c, self.classes,
                     ", labels" if self.labels else ", no labels"),
                 "wrote %s (%d files)" % (self.out, len(self.files)),
                 "on the board: adb push %s/. /root/maix_dist/   (or scp -r %s root@<board>:/root/maix_dist)" % (
                     self.out, self.out),
                 "then: /root/maix_dist/%s IMAGE...   (the boot script starts it by itself)" % START_SCRIPT]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return "<PackResult %s>" % self.out


# ---------------------------------------------------------------- the model

def _strip_model_ext(path: str) -> str:
    for ext in (".param", ".bin", ".mud"):
        if path.endswith(ext):
            return path[:-len(ext)]
    return path


def _mud_for_base(base: str, mean, std, norm) -> str:
    """The .mud text of a .param/.bin base without one: inputs from the
    model's Input layers, outputs from a forward of zeros on the host engine."""
    import numpy as np
    from . import nn
    from .preprocess import Preprocess
    from .runtime import Net

    if mean is None and std is None and norm is None:
        raise OptionError("%s.param has no .mud beside it: give the preprocessing, --mean with --std (PyTorch "
                          "terms) or --mean with --norm (awnn terms), or pass a .mud" % base)
    with Net(base + ".param", base + ".bin") as net:
        inputs = {}
        feeds = {}
        for name in net.input_names:
            shape = tuple(net.input_shapes[name])
            if len(shape) != 3:
                raise ModelFormatError("%s.param: input %s has shape %s; nn_resnet needs an image input "
                                       "(the Input layer's 0=w 1=h 2=c)" % (base, name, shape))
            c, h, w = shape
            pre = Preprocess.from_options((c, h, w), mean=mean, std=std, norm=norm)
            inputs[name] = ((h, w, c), pre.awnn_mean, pre.awnn_norm)
            feeds[name] = np.zeros(shape, np.float32)
        results = net.forward(feeds, outputs=list(net.output_names))
        outputs = {}
        for name in net.output_names:
            outputs[name] = nn.mud_dims(results[name].shape)
    return nn.mud_text(os.path.basename(base) + ".param", os.path.basename(base) + ".bin", inputs, outputs)


def _mud_of_model(source, name: str) -> str:
    """A loaded nn.Model's .mud text, naming <name>.param/.bin beside it."""
    from . import nn
    inputs = {n: (shape, source.mean[n], source.norm[n]) for n, shape in source.inputs.items()}
    return nn.mud_text(name + ".param", name + ".bin", inputs, source.outputs)


def _stage_model(model: str, folder: str, mean, std, norm):
    """folder/model/<name>.mud + .param + .bin, the .mud naming the files
    beside it; returns (mud path, the staged model loaded by nn.load)."""
    from . import nn

    given = mean is not None or std is not None or norm is not None
    if model.endswith(".mud"):
        if not os.path.isfile(model):
            raise OptionError("model %s does not exist" % model)
        if given:
            raise OptionError("%s: the .mud holds the preprocessing; --mean/--std/--norm apply only to a "
                              ".param/.bin base" % model)
        mud_in = model
    else:
        base = _strip_model_ext(model)
        for ext in (".param", ".bin"):
            if not os.path.isfile(base + ext):
                raise OptionError("model %s: %s%s does not exist (give a .mud, or the base of a .param/.bin "
                                  "pair)" % (model, base, ext))
        mud_in = base + ".mud" if os.path.isfile(base + ".mud") and not given else None
    if mud_in is not None:
        source = nn.load(mud_in)
        name = os.path.basename(mud_in)[:-len(".mud")]
        param_src, bin_src = source.net.param_path, source.net.bin_path
        text = _mud_of_model(source, name)
    else:
        name = os.path.basename(base)
        param_src, bin_src = base + ".param", base + ".bin"
        text = _mud_for_base(base, mean, std, norm)
    # the name ends up in start_app.sh: keep it to plain characters
    name = re.sub(r"[^A-Za-z0-9._+-]", "_", name)
    model_dir = os.path.join(folder, "model")
    os.makedirs(model_dir)
    shutil.copyfile(param_src, os.path.join(model_dir, name + ".param"))
    shutil.copyfile(bin_src, os.path.join(model_dir, name + ".bin"))
    mud = os.path.join(model_dir, name + ".mud")
    with open(mud, "w") as f:
        f.write(text)
    staged = nn.load(mud)   # what the board will read, read back on the host engine
    if len(staged.inputs) != 1 or len(staged.outputs) != 1:
        raise OptionError("%s has %d inputs and %d outputs: nn_resnet takes one image in and one class "
                          "vector out" % (model, len(staged.inputs), len(staged.outputs)))
    return mud, staged


# ---------------------------------------------------------------- building

def _cmake(cmd: Sequence[str], what: str, env=None) -> str:
    try:
        proc = subprocess.run(list(cmd), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                              errors="replace", env=env)
    except OSError as exc:
        raise BuildError("%s: cannot run %s (%s); install CMake (apt-get install cmake, or pip install cmake)"
                         % (what, cmd[0], exc)) from None
    if proc.returncode != 0:
        raise BuildError("%s failed (exit %d): %s\n%s" % (what, proc.returncode, " ".join(cmd), proc.stdout[-4000:]))
    return proc.stdout


def _configure_args(toolchain: str, source: str, toolchain_root: Optional[str]) -> List[str]:
    if toolchain not in TOOLCHAIN_FILES:
        raise OptionError("toolchain must be one of %s, got %r" % (", ".join(TOOLCHAIN_FILES), toolchain))
    if toolchain_root is not None and toolchain != "v831":
        raise OptionError("--toolchain-root is for --toolchain v831 (Sipeed's toolchain-sunxi-musl)")
    tc_file = TOOLCHAIN_FILES[toolchain]
    args = [] if tc_file is None else ["-DCMAKE_TOOLCHAIN_FILE=" + os.path.join(source, "toolchain", tc_file)]
    if toolchain == "zig":
        import importlib.util
        if importlib.util.find_spec("ziglang") is None:
            raise OptionError("--toolchain zig needs zig's C compiler: pip install ziglang "
                              "(or choose --toolchain v831 with Sipeed's toolchain)")
        args.append("-DMAIXNN_PYTHON=" + sys.executable)
    if toolchain_root is not None:
        args.append("-DV831_TOOLCHAIN_ROOT=" + os.path.abspath(toolchain_root))
    return args


def _check_dist(folder: str, mud: str, source: str) -> List[str]:
    """The files of a finished dist/ (relative paths); a missing part is a BuildError."""
    name = os.path.basename(mud)[:-len(".mud")]
    required = [START_SCRIPT, APP, "lib/libmaixnn.so", "lib/libmaix_nn.so",
                "model/%s.mud" % name, "model/%s.param" % name, "model/%s.bin" % name,
                "python/maixnn/libmaixnn.so"] + ["python/maixnn/%s.py" % m for m in board_modules(source)]
    missing = [p for p in required if not os.path.isfile(os.path.join(folder, p))]
    if missing:
        raise BuildError("the installed dist/ lacks %s" % ", ".join(missing))
    for p in (START_SCRIPT, APP):
        if not os.access(os.path.join(folder, p), os.X_OK):
            raise BuildError("%s in dist/ is not executable" % p)
    files = []
    for root, _dirs, names in os.walk(folder):
        files += [os.path.relpath(os.path.join(root, n), folder) for n in names]
    return sorted(files)


class _Stages:
    """Numbered stages on stderr (a tqdm bar when tqdm is installed)."""

    def __init__(self, names: Sequence[str], enabled: bool):
        self.names = list(names)
        self.bar = None
        self.enabled = enabled
        if enabled:
            try:
                from tqdm import tqdm
            except ImportError:
                pass
            else:
                self.bar = tqdm(total=len(self.names), unit="step", file=sys.stderr, leave=False)
        self.done = 0

    def start(self, index: int):
        if self.bar is not None:
            self.bar.set_description(self.names[index])
        elif self.enabled:
            print("[%d/%d] %s" % (index + 1, len(self.names), self.names[index]), file=sys.stderr)

    def finish(self):
        if self.bar is not None:
            self.bar.update(1)

    def close(self):
        if self.bar is not None:
            self.bar.close()


def _replace_folder(new: str, out: str) -> None:
    """Rename `new` to `out`; a previous `out` is moved aside first and
    removed only once `new` is in place (restored if the rename fails)."""
    old = None
    if os.path.lexists(out):
        old = tempfile.mkdtemp(prefix="." + os.path.basename(out) + ".old-", dir=os.path.dirname(out))
        os.rmdir(old)
        os.rename(out, old)
    try:
        os.rename(new, out)
    except OSError:
        if old is not None:
            os.rename(old, out)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def pack(model, out, toolchain: str = DEFAULT_TOOLCHAIN, labels=None, mean=None, std=None, norm=None,
         source=None, build_dir=None, toolchain_root=None, libmaix_dir=None, static_app: bool = False,
         jobs: int = 2, cmake_args: Sequence[str] = (), progress: bool = True) -> PackResult:
    """Build the board's dist/ folder `out` for `model` (see the module doc).

    model        a .mud, or a .param/.bin base (with mean and std, PyTorch terms, or
                 mean and norm, awnn terms, when no .mud is beside it)
    toolchain    zig (default), v831, armhf-debian or host
    labels       labels file, one class per line; default ImageNet's for a
                 1000-class model, none otherwise; "" for none
    source       maixnn's source tree (default: the checkout this package runs from)
    build_dir    keep the CMake build there (default: a temporary folder)
    libmaix_dir  a sipeed/libmaix checkout: the awnn backend (Sipeed's libmaix_nn.so on
                 the NPU, the camera and display; its libraries go to lib/); default:
                 the emu backend (maixnn's engine on the CPU, image files as arguments)
    static_app   link nn_resnet statically (engine and C library inside): it then needs
                 nothing of the board's libc (lib/ still holds the shared libraries for
                 Python and your own programs)
    """
    model = path_argument(model, "model")
    out = os.path.abspath(path_argument(out, "out"))
    source = default_source_dir() if source is None else os.path.abspath(path_argument(source, "source"))
    if source is None or not os.path.isfile(os.path.join(source, "cmake", "dist.cmake")):
        raise OptionError("maixnn pack needs maixnn's source tree (CMakeLists.txt, csrc/, cmake/dist.cmake): "
                          "run it from a checkout or pass --source DIR%s"
                          % ("" if source is None else " (%s is not one)" % source))
    if os.path.exists(out) and not os.path.isdir(out):
        raise OptionError("--out %s exists and is not a folder" % out)
    if os.path.isdir(out) and os.listdir(out) and not os.path.isfile(os.path.join(out, START_SCRIPT)):
        raise OptionError("--out %s exists and is not a dist/ folder (no %s): refusing to replace it"
                          % (out, START_SCRIPT))
    configure = _configure_args(toolchain, source, toolchain_root)
    if labels is not None and labels != "":
        labels = path_argument(labels, "labels")
        if not os.path.isfile(labels):
            raise OptionError("labels file %s does not exist" % labels)
    parent = os.path.dirname(out)
    os.makedirs(parent, exist_ok=True)

    stages = _Stages(["stage the model", "configure (%s)" % toolchain, "build nn_resnet", "install dist/"],
                     progress)
    work = tempfile.mkdtemp(prefix="." + os.path.basename(out) + ".pack-", dir=parent)
    try:
        stages.start(0)
        mud, staged = _stage_model(model, os.path.join(work, "stage"), mean, std, norm)
        (name_in, (h, w, c)), = staged.inputs.items()
        (_name_out, out_hwc), = staged.outputs.items()
        classes = int(out_hwc[0]) * int(out_hwc[1]) * int(out_hwc[2])
        if c != 3:
            raise OptionError("%s: input %s has %d channels; nn_resnet feeds RGB (3 channels)" % (model, name_in, c))
        if labels is None:
            labels = (os.path.join(source, "examples", "nn_resnet", "imagenet_labels.txt")
                      if classes == IMAGENET_CLASSES else "")
        stages.finish()

        stages.start(1)
        build = os.path.abspath(build_dir) if build_dir else os.path.join(work, "build")
        dist_tmp = os.path.join(work, "dist")
        backend = ["-DMAIXNN_LIBMAIX_BACKEND=emu"] if libmaix_dir is None else [
            "-DMAIXNN_LIBMAIX_BACKEND=awnn", "-DLIBMAIX_DIR=" + os.path.abspath(path_argument(libmaix_dir,
                                                                                            "libmaix_dir"))]
        _cmake(["cmake", "-S", source, "-B", build, "-DCMAKE_BUILD_TYPE=Release", "-DMAIXNN_DIST=ON",
                "-DMAIXNN_BUILD_BOARD=ON", "-DMAIXNN_DIST_MODEL=" + mud,
                "-DMAIXNN_STATIC_APP=" + ("ON" if static_app else "OFF")] + backend + [
                "-DMAIXNN_DIST_LABELS=" + (os.path.abspath(labels) if labels else ""),
                "-DMAIXNN_DIST_APP_ARGS=-s;%dx%d;-c;%d" % (w, h, classes)] + configure + list(cmake_args),
               "configuring the %s build" % toolchain)
        stages.finish()
        stages.start(2)
        _cmake(["cmake", "--build", build, "-j", str(int(jobs)), "--target", APP, "maixnn"] + ([] if libmaix_dir else ["maix_nn"]),
               "building nn_resnet (%s)" % toolchain)
        stages.finish()
        stages.start(3)
        # zig's Release builds are stripped at link time (zig-armv7-musl.cmake: its
        # objcopy cannot strip 32-bit ARM); the other toolchains strip on install
        strip = [] if toolchain == "zig" else ["--strip"]
        _cmake(["cmake", "--install", build, "--prefix", dist_tmp] + strip, "installing dist/")
        files = _check_dist(dist_tmp, mud, source)
        stages.finish()
        _replace_folder(dist_tmp, out)
    finally:
        stages.close()
        shutil.rmtree(work, ignore_errors=True)
    model_name = os.path.basename(mud)
    result = PackResult(out, toolchain, os.path.join(out, "model", model_name), (h, w, c), classes,
                        os.path.join(out, "model", "labels.txt") if labels else None)
    result.files = files
    return result


# ---------------------------------------------------------------- CLI

def configure_parser(p) -> None:
    p.description = ("Build the board's dist/ folder for a model: nn_resnet cross-built with the chosen toolchain, "
                     "lib/ (libmaixnn, libmaix_nn), model/ (.mud, .param, .bin, labels), python/ (maixnn's "
                     "board-side package) and start_app.sh - libmaix's layout, for /root/maix_dist on the board.")
    p.add_argument("model", help="a .mud file, or a .param/.bin base path (then --mean with --std or --norm)")
    p.add_argument("--out", required=True, help="the dist folder to write (replaced when it is a previous dist/)")
    p.add_argument("--toolchain", default=DEFAULT_TOOLCHAIN, choices=sorted(TOOLCHAIN_FILES),
                   help="zig (pip install ziglang; default), v831 (Sipeed's sunxi musl toolchain), "
                        "armhf-debian (glibc: qemu tests only), host")
    p.add_argument("--toolchain-root", help="for v831: the folder holding bin/arm-openwrt-linux-muslgnueabi-gcc")
    p.add_argument("--labels", help="labels file, one class per line (default: ImageNet's for 1000 classes)")
    p.add_argument("--no-labels", action="store_true", help="no labels file")
    p.add_argument("--mean", help="with a .param/.bin base: per-channel mean (0..1 with --std, 0..255 with --norm)")
    p.add_argument("--std", help="per-channel std, PyTorch terms")
    p.add_argument("--norm", help="per-channel norm, awnn terms (x - mean) * norm")
    p.add_argument("--libmaix-dir", help="a sipeed/libmaix checkout: the awnn backend (Sipeed's libraries: NPU, "
                                         "camera, display) instead of maixnn's engine on the CPU")
    p.add_argument("--static-app", action="store_true",
                   help="link nn_resnet statically: needs nothing of the board's libc (use it when the dynamic "
                        "app fails on the board with '__clock_gettime64: symbol not found', a musl 1.1)")
    p.add_argument("--source", help="maixnn's source tree (default: this checkout)")
    p.add_argument("--build-dir", help="keep the CMake build folder here (default: temporary)")
    p.add_argument("-j", "--jobs", type=int, default=2, help="parallel build jobs (default 2)")
    p.add_argument("--cmake-arg", action="append", default=[], metavar="ARG", help="extra CMake configure argument")
    p.add_argument("--no-progress", action="store_true", help="no progress display")


def run_cli(args) -> int:
    from .cli import number_list
    if args.labels and args.no_labels:
        raise OptionError("give --labels FILE or --no-labels, not both")
    result = pack(args.model, args.out, toolchain=args.toolchain, labels="" if args.no_labels else args.labels,
                  mean=number_list(args.mean, "mean"), std=number_list(args.std, "std"),
                  norm=number_list(args.norm, "norm"), source=args.source, build_dir=args.build_dir,
                  toolchain_root=args.toolchain_root, libmaix_dir=args.libmaix_dir,
                  static_app=args.static_app, jobs=args.jobs, cmake_args=args.cmake_arg,
                  progress=not args.no_progress)
    print(result.summary())
    return 0
