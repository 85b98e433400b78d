"""A small mutable view of an ONNX graph that the converter's passes edit.

ONNX protobufs are awkward to rewrite in place, so the model is loaded once
into plain Python objects: ``Node`` (op_type, name, inputs, outputs, attrs as
Python values), a dict of constant tensors (initializers, Constant nodes and
everything folded later), and the static shapes from onnx.shape_inference.

Loading also pins the input shape: batch 1, and (C, H, W) from the caller
when the file leaves them symbolic.
"""
from __future__ import annotations

import os
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..errors import ModelFormatError, OptionError, UnsupportedOperatorError
from ..exporter import chw_shape
from ..ncnn_model import unique_name

Shape = Tuple[int, ...]

# Constants with more elements than this are given to shape inference as typed
# graph inputs instead of initializers: inference only needs their shape, and
# copying ResNet-sized weights into a protobuf on every iteration is slow.
_SMALL_CONSTANT = 4096


class Node:
    __slots__ = ("op_type", "name", "inputs", "outputs", "attrs", "domain")

    def __init__(self, op_type: str, name: str, inputs: Sequence[str], outputs: Sequence[str],
                 attrs: Optional[dict] = None, domain: str = ""):
        self.op_type = op_type
        self.name = name
        self.inputs = list(inputs)
        self.outputs = list(outputs)
        self.attrs = dict(attrs or {})
        self.domain = domain

    def attr(self, key: str, default=None):
        return self.attrs.get(key, default)

    def describe(self) -> str:
        return "ONNX node %r (%s)" % (self.name, self.op_type)

    def __repr__(self) -> str:
        return "Node(%s %s %s -> %s %s)" % (self.op_type, self.name, self.inputs, self.outputs, self.attrs)


def unsupported(node: Node, what: str) -> UnsupportedOperatorError:
    """The one error format for everything the converter cannot express."""
    return UnsupportedOperatorError("%s: %s" % (node.describe(), what))


class Graph:
    def __init__(self, path: str):
        self.path = path
        self.nodes: List[Node] = []
        self.consts: Dict[str, np.ndarray] = {}
        self.inputs: List[str] = []
        self.outputs: List[str] = []
        self.input_shapes: Dict[str, Shape] = {}
        self.shapes: Dict[str, Optional[Shape]] = {}
        self.dtypes: Dict[str, int] = {}
        self.opset = 0
        self.ir_version = 0
        self.other_opsets: List[Tuple[str, int]] = []

    # ------------------------------------------------------------ queries
    def consumers(self, name: str) -> List[Node]:
        return [n for n in self.nodes if name in n.inputs]

    def use_count(self, name: str) -> int:
        """How many node inputs (counting repeats) and graph outputs read `name`."""
        return sum(n.inputs.count(name) for n in self.nodes) + self.outputs.count(name)

    def producer(self, name: str) -> Optional[Node]:
        for n in self.nodes:
            if name in n.outputs:
                return n
        return None

    def const(self, name: str) -> Optional[np.ndarray]:
        if not name:
            return None
        return self.consts.get(name)

    def shape(self, name: str) -> Optional[Shape]:
        if name in self.consts:
            return tuple(self.consts[name].shape)
        return self.shapes.get(name)

    def unique_name(self, base: str) -> str:
        taken = set(self.consts) | set(self.inputs) | {o for n in self.nodes for o in n.outputs}
        return unique_name(base, taken)

    # ------------------------------------------------------------ editing
    def replace_uses(self, old: str, new: str) -> None:
        """Every reader of `old` reads `new` instead (graph outputs included)."""
        for n in self.nodes:
            n.inputs = [new if i == old else i for i in n.inputs]
        self.outputs = [new if o == old else o for o in self.outputs]

    def remove_dead(self) -> int:
        """Drop nodes none of whose outputs is used; returns how many."""
        removed = 0
        while True:
            used = {i for n in self.nodes for i in n.inputs} | set(self.outputs)
            keep = [n for n in self.nodes if any(o in used for o in n.outputs if o)]
            if len(keep) == len(self.nodes):
                break
            removed += len(self.nodes) - len(keep)
            self.nodes = keep
        used = {i for n in self.nodes for i in n.inputs} | set(self.outputs)
        for k in [k for k in self.consts if k not in used]:
            del self.consts[k]
        return removed

    def toposort(self) -> None:
        known = set(self.inputs) | set(self.consts) | {""}
        pending = list(self.nodes)
        ordered: List[Node] = []
        while pending:
            rest = []
            for n in pending:
                if all(i in known for i in n.inputs):
                    ordered.append(n)
                    known.update(n.outputs)
                else:
                    rest.append(n)
            if len(rest) == len(pending):
                missing = sorted({i for n in rest for i in n.inputs if i not in known
                                  and all(i not in m.outputs for m in rest)})
                if missing:
                    raise ModelFormatError("%s: %s reads tensor(s) nothing produces: %s"
                                           % (self.path, rest[0].describe(), ", ".join(missing[:5])))
                raise ModelFormatError("%s: the graph has a cycle (at %s)" % (self.path, rest[0].describe()))
            pending = rest
        self.nodes = ordered

    # ------------------------------------------------------------ shapes
    def to_model(self, with_weights: bool = True):
        """An onnx.ModelProto of the current graph (for shape inference or
        debugging).  Without weights, large constants become typed inputs."""
        import onnx
        from onnx import helper, numpy_helper

        inputs, inits = [], []
        for name in self.inputs:
            inputs.append(helper.make_tensor_value_info(name, self.dtypes.get(name, onnx.TensorProto.FLOAT),
                                                        list(self.input_shapes[name])))
        used = {i for n in self.nodes for i in n.inputs} | set(self.outputs)
        for name, arr in self.consts.items():
            if name not in used:
                continue
            if with_weights or arr.size <= _SMALL_CONSTANT:
                inits.append(numpy_helper.from_array(np.asarray(arr), name))
            else:
                inputs.append(helper.make_tensor_value_info(
                    name, helper.np_dtype_to_tensor_dtype(arr.dtype), list(arr.shape)))
        nodes = [helper.make_node(n.op_type, n.inputs, n.outputs, name=n.name, domain=n.domain or None,
                                  **_attrs_to_proto(n.attrs)) for n in self.nodes]
        outputs = [helper.make_tensor_value_info(o, onnx.TensorProto.UNDEFINED, None) for o in self.outputs]
        g = helper.make_graph(nodes, "maixnn", inputs, outputs, initializer=inits)
        opsets = [helper.make_opsetid("", self.opset)] + [helper.make_opsetid(d, v) for d, v in self.other_opsets]
        model = helper.make_model(g, opset_imports=opsets)
        model.ir_version = max(self.ir_version, 3)
        return model

    def infer_shapes(self) -> None:
        """Refresh self.shapes/self.dtypes with onnx.shape_inference on the
        current (partly folded) graph; unknown dims become None."""
        import onnx
        model = self.to_model(with_weights=False)
        try:
            inferred = onnx.shape_inference.infer_shapes(model, check_type=False, strict_mode=False,
                                                         data_prop=True)
        except Exception as e:  # inference is best-effort; handlers check shapes they need
            raise ModelFormatError("%s: ONNX shape inference failed: %s" % (self.path, e)) from None
        g = inferred.graph
        shapes: Dict[str, Optional[Shape]] = {}
        for vi in list(g.value_info) + list(g.output) + list(g.input):
            t = vi.type.tensor_type
            if vi.type.WhichOneof("value") != "tensor_type":
                continue
            if t.elem_type:
                self.dtypes[vi.name] = t.elem_type
            if not t.HasField("shape"):
                shapes[vi.name] = None
                continue
            dims = []
            for d in t.shape.dim:
                dims.append(d.dim_value if d.HasField("dim_value") else None)
            shapes[vi.name] = tuple(dims) if all(v is not None for v in dims) else None
        for name in self.inputs:
            shapes[name] = self.input_shapes[name]
        self.shapes = shapes


def _attrs_to_proto(attrs: dict) -> dict:
    from onnx import numpy_helper
    out = {}
    for k, v in attrs.items():
        if isinstance(v, np.ndarray):
            out[k] = numpy_helper.from_array(v)
        elif isinstance(v, bytes):
            out[k] = v.decode("utf-8", "replace")
        else:
            out[k] = v
    return out


def _attr_value(a):
    from onnx import helper, numpy_helper, AttributeProto
    if a.type == AttributeProto.TENSOR:
        return numpy_helper.to_array(a.t)
    v = helper.get_attribute_value(a)
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    if isinstance(v, list):
        return [x.decode("utf-8", "replace") if isinstance(x, bytes) else x for x in v]
    return v


def _check_node_schemas(onnx, model, path: str) -> None:
    """Check every node against its operator schema, which catches what the
    handlers would otherwise silently accept: attributes an operator does not
    have, surplus inputs, attributes of the wrong type.  Per node rather than
    onnx.checker.check_model, which also insists on shapes for graph outputs
    that onnxruntime does not need."""
    ctx = onnx.checker.C.CheckerContext()
    ctx.ir_version = model.ir_version
    ctx.opset_imports = {op.domain: op.version for op in model.opset_import}
    for i, node in enumerate(model.graph.node):
        if node.domain not in ("", "ai.onnx") or not onnx.defs.has(node.op_type):
            continue  # custom domains and unknown ops: the handler registry refuses them by name
        try:
            onnx.checker.check_node(node, ctx)
        except Exception as e:
            detail = " ".join(str(e).split())
            raise ModelFormatError("%s: node %r (%s) does not match the ONNX schema: %s"
                                   % (path, node.name or "#%d" % i, node.op_type, detail)) from None


def load_graph(path: str, input_shape: Optional[Sequence[int]] = None) -> Graph:
    """Read an ONNX file into a Graph with a fixed input shape (1, C, H, W)."""
    try:
        import onnx
        from onnx import numpy_helper
    except ImportError:  # pragma: no cover - tools extra missing
        raise OptionError("maixnn.convert needs the 'onnx' package (pip install onnx)") from None

    if not os.path.isfile(path):
        raise ModelFormatError("%s: no such ONNX file" % path)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise ModelFormatError("%s: cannot read: %s" % (path, e.strerror or e)) from None
    try:
        model = onnx.load_model_from_string(data)
    except Exception as e:
        raise ModelFormatError("%s: not an ONNX model (protobuf parse failed: %s)"
                               % (path, str(e) or type(e).__name__)) from None
    if model.ir_version <= 0 or len(model.graph.node) == 0 or len(model.graph.input) == 0:
        raise ModelFormatError("%s: not an ONNX model (no IR version, graph nodes or inputs)" % path)
    base_dir = os.path.dirname(os.path.abspath(path))
    try:
        from onnx.external_data_helper import load_external_data_for_model, uses_external_data
        if any(uses_external_data(t) for t in model.graph.initializer):
            load_external_data_for_model(model, base_dir)
    except Exception as e:
        raise ModelFormatError("%s: cannot load external tensor data: %s" % (path, e)) from None

    _check_node_schemas(onnx, model, path)

    g = Graph(path)
    g.ir_version = model.ir_version
    for op in model.opset_import:
        if op.domain in ("", "ai.onnx"):
            g.opset = op.version
        else:
            g.other_opsets.append((op.domain, op.version))
    if g.opset == 0:
        raise ModelFormatError("%s: no default-domain opset_import" % path)

    for t in model.graph.initializer:
        try:
            g.consts[t.name] = numpy_helper.to_array(t)
        except Exception as e:
            raise ModelFormatError("%s: initializer %r unreadable: %s" % (path, t.name, e)) from None
    for t in model.graph.sparse_initializer:
        raise ModelFormatError("%s: sparse initializer %r is not supported" % (path, t.values.name))

    for i, n in enumerate(model.graph.node):
        name = n.name or "%s_%d" % (n.op_type, i)
        g.nodes.append(Node(n.op_type, name, n.input, n.output,
                            {a.name: _attr_value(a) for a in n.attribute}, n.domain))

    g.inputs = [vi.name for vi in model.graph.input if vi.name not in g.consts]
    g.outputs = [vi.name for vi in model.graph.output]
    if not g.inputs:
        raise ModelFormatError("%s: the graph has no (non-initializer) input" % path)
    if not g.outputs:
        raise ModelFormatError("%s: the graph has no output" % path)

    wanted = chw_shape(input_shape) if input_shape is not None else None
    for vi in model.graph.input:
        if vi.name in g.consts:
            continue
        tt = vi.type.tensor_type
        g.dtypes[vi.name] = tt.elem_type
        if tt.elem_type != onnx.TensorProto.FLOAT:
            raise UnsupportedOperatorError(
                "%s: graph input %r has element type %s; maixnn models take float32 input"
                % (path, vi.name, onnx.TensorProto.DataType.Name(tt.elem_type)))
        dims = [d.dim_value if d.HasField("dim_value") else None for d in tt.shape.dim]
        if len(dims) != 4:
            raise UnsupportedOperatorError("%s: graph input %r has rank %d; maixnn needs NCHW (rank 4)"
                                           % (path, vi.name, len(dims)))
        if dims[0] not in (None, 1):
            raise UnsupportedOperatorError("%s: graph input %r has batch %d; the ncnn model runs batch 1"
                                           % (path, vi.name, dims[0]))
        chw = dims[1:]
        if wanted is not None:
            for have, want in zip(chw, wanted):
                if have is not None and have != want:
                    raise OptionError("%s: input %r is fixed at %s in the file, input_shape %s disagrees"
                                      % (path, vi.name, tuple(chw), wanted))
            chw = list(wanted)
        if any(v is None for v in chw):
            raise OptionError("%s: input %r has symbolic dims %s: pass input_shape=(C, H, W)"
                              % (path, vi.name, tuple(chw)))
        g.input_shapes[vi.name] = (1,) + tuple(int(v) for v in chw)

    # Constant nodes are just constants
    for n in list(g.nodes):
        if n.op_type == "Constant" and n.domain in ("", "ai.onnx"):
            g.consts[n.outputs[0]] = constant_node_value(n)
            g.nodes.remove(n)
    for n in g.nodes:
        if n.domain not in ("", "ai.onnx"):
            raise unsupported(n, "operator domain %r is not supported (only the default ONNX domain)"
                              % n.domain)
    g.toposort()
    return g


def constant_node_value(n: Node) -> np.ndarray:
    a = n.attrs
    if "value" in a:
        return np.asarray(a["value"])
    if "value_float" in a:
        return np.array(a["value_float"], dtype=np.float32)
    if "value_floats" in a:
        return np.array(a["value_floats"], dtype=np.float32)
    if "value_int" in a:
        return np.array(a["value_int"], dtype=np.int64)
    if "value_ints" in a:
        return np.array(a["value_ints"], dtype=np.int64)
    raise unsupported(n, "Constant without a dense value (sparse or string constants are not supported)")
