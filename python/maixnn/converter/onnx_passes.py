"""Rewrites on the (constant-folded) ONNX graph before ncnn layers are emitted.

Each pass edits the Graph in place and returns a list of one-line
descriptions for the conversion report.  They only ever replace a pattern by
something that computes the same values; a pattern that does not match
exactly is left alone (the per-operator handlers then convert it as is, or
refuse it with a clear error).
"""
from __future__ import annotations

from typing import List, Optional, Tuple

import numpy as np

from .onnx_graph import Graph, Node, unsupported
from .registry import run_own_pass


def _scalar(graph: Graph, name: str) -> Optional[float]:
    c = graph.const(name)
    if c is None or c.size != 1:
        return None
    return float(np.asarray(c).reshape(-1)[0])


def _is_scalar(graph: Graph, name: str, value: float, rel: float = 1e-6) -> bool:
    v = _scalar(graph, name)
    return v is not None and abs(v - value) <= rel * max(1.0, abs(value))


def _single_use(graph: Graph, name: str) -> bool:
    return graph.use_count(name) == 1 and name not in graph.outputs


def _other_input(node: Node, name: str) -> Optional[str]:
    """For a two-input commutative node reading `name`, the other input."""
    if len(node.inputs) != 2:
        return None
    if node.inputs[0] == name:
        return node.inputs[1]
    if node.inputs[1] == name:
        return node.inputs[0]
    return None


def clip_bounds(graph: Graph, node: Node) -> Tuple[Optional[float], Optional[float]]:
    """(min, max) of a Clip node: attributes before opset 11, constant inputs
    after.  None = unbounded.  A non-constant bound is refused."""
    if graph.opset < 11:
        lo, hi = node.attr("min"), node.attr("max")
        return (None if lo is None else float(lo)), (None if hi is None else float(hi))
    bounds = []
    for idx in (1, 2):
        if len(node.inputs) > idx and node.inputs[idx]:
            v = _scalar(graph, node.inputs[idx])
            if v is None:
                raise unsupported(node, "Clip bound input %r is not a constant scalar" % node.inputs[idx])
            bounds.append(v)
        else:
            bounds.append(None)
    return bounds[0], bounds[1]


# ----------------------------------------------------------------- identities

def remove_identities(graph: Graph) -> List[str]:
    """Identity, inference-mode Dropout and float->float Cast compute nothing."""
    done = []
    for node in list(graph.nodes):
        op = node.op_type
        if op == "Dropout":
            training = False
            if len(node.inputs) > 2 and node.inputs[2]:
                t = graph.const(node.inputs[2])
                if t is None:
                    raise unsupported(node, "training_mode is not a constant")
                training = bool(np.asarray(t).reshape(-1)[0])
            if node.attr("is_test", 1) == 0 and graph.opset < 7:
                training = True
            if training:
                raise unsupported(node, "Dropout in training mode (export the model in eval() mode)")
            if len(node.outputs) > 1 and node.outputs[1] and graph.use_count(node.outputs[1]):
                raise unsupported(node, "the Dropout mask output is used")
        elif op == "Cast":
            from onnx import TensorProto
            if int(node.attr("to")) != TensorProto.FLOAT or graph.dtypes.get(node.inputs[0]) != TensorProto.FLOAT:
                continue  # a real type change: the handler refuses it
        elif op != "Identity":
            continue
        src, dst = node.inputs[0], node.outputs[0]
        graph.nodes.remove(node)
        if dst in graph.outputs and src not in graph.inputs and src not in graph.outputs \
                and src not in graph.consts:
            _rename(graph, src, dst)  # keep the graph output's name on the real producer
        else:
            graph.replace_uses(dst, src)
        done.append("removed %s %r" % (op, node.name))
    return done


def _rename(graph: Graph, old: str, new: str) -> None:
    for n in graph.nodes:
        n.inputs = [new if i == old else i for i in n.inputs]
        n.outputs = [new if o == old else o for o in n.outputs]
    if old in graph.shapes:
        graph.shapes[new] = graph.shapes[old]
    if old in graph.dtypes:
        graph.dtypes[new] = graph.dtypes[old]


# ----------------------------------------------------------------- MatMul + Add

def fuse_matmul_add(graph: Graph) -> List[str]:
    """MatMul(x, W) followed by Add(b) (a bias-carrying Linear on some export
    paths) becomes one Gemm, hence one InnerProduct with bias."""
    done = []
    for mm in list(graph.nodes):
        if mm.op_type != "MatMul" or graph.const(mm.inputs[1]) is None:
            continue
        w = graph.const(mm.inputs[1])
        x_shape = graph.shape(mm.inputs[0])
        if w.ndim != 2 or not _single_use(graph, mm.outputs[0]) or x_shape is None or len(x_shape) != 2:
            continue  # a Linear on (1, N, C) tokens stays a MatMul (ncnn MatMul + a bias add)
        users = graph.consumers(mm.outputs[0])
        if len(users) != 1 or users[0].op_type != "Add":
            continue
        add = users[0]
        other = _other_input(add, mm.outputs[0])
        b = graph.const(other) if other else None
        n_out = w.shape[1]
        if b is None or not (b.size in (1, n_out) and b.ndim <= 2 and (b.ndim < 2 or b.shape[0] == 1)):
            continue
        bias_name = graph.unique_name(add.name + "_bias")
        graph.consts[bias_name] = np.broadcast_to(np.asarray(b, np.float32).reshape(-1), (n_out,)).copy()
        gemm = Node("Gemm", mm.name, [mm.inputs[0], mm.inputs[1], bias_name], [add.outputs[0]],
                    {"transB": 0})
        graph.nodes[graph.nodes.index(mm)] = gemm
        graph.nodes.remove(add)
        done.append("fused MatMul %r + Add %r into Gemm" % (mm.name, add.name))
    return done


# ----------------------------------------------------------------- hardswish

def _hardsigmoid_source(graph: Graph, name: str) -> Optional[Tuple[str, List[Node]]]:
    """If `name` = Clip(Add(x, 3), 0, 6) (relu6(x + 3)), return (x, nodes)."""
    clip = graph.producer(name)
    if clip is None or clip.op_type != "Clip":
        return None
    lo, hi = clip_bounds(graph, clip)
    if lo is None or hi is None or abs(lo) > 1e-7 or abs(hi - 6.0) > 1e-6:
        return None
    add = graph.producer(clip.inputs[0])
    if add is None or add.op_type != "Add" or not _single_use(graph, add.outputs[0]):
        return None
    for x, c in ((add.inputs[0], add.inputs[1]), (add.inputs[1], add.inputs[0])):
        if _is_scalar(graph, c, 3.0) and graph.const(x) is None:
            return x, [add, clip]
    return None


def _scaled_by_sixth(graph: Graph, node: Node) -> Optional[str]:
    """If node is Div(y, 6) or Mul(y, 1/6), return y."""
    if node.op_type == "Div" and _is_scalar(graph, node.inputs[1], 6.0):
        return node.inputs[0]
    if node.op_type == "Mul":
        for y, c in ((node.inputs[0], node.inputs[1]), (node.inputs[1], node.inputs[0])):
            if _is_scalar(graph, c, 1.0 / 6.0, rel=1e-5):
                return y
    return None


def recognise_hardswish(graph: Graph) -> List[str]:
    """hardswish at any opset: HardSwish (14+), x * HardSigmoid(x) (what torch
    writes before 14), and hand-written x * relu6(x + 3) / 6 in its usual
    orders.  relu6(x + 3) / 6 alone becomes HardSigmoid(1/6, 1/2)."""
    done = []
    changed = True
    while changed:
        changed = False
        # relu6(x + 3) / 6 -> HardSigmoid
        for node in list(graph.nodes):
            if node not in graph.nodes:
                continue
            y = _scaled_by_sixth(graph, node)
            if y is None or not _single_use(graph, y):
                continue
            src = _hardsigmoid_source(graph, y)
            if src is not None:
                x, inner = src
                for n in inner:
                    graph.nodes.remove(n)
                hs = Node("HardSigmoid", node.name, [x], node.outputs, {"alpha": 1.0 / 6.0, "beta": 0.5})
                graph.nodes[graph.nodes.index(node)] = hs
                done.append("recognised relu6(x+3)/6 at %r as HardSigmoid" % node.name)
                changed = True
                continue
            # (x * relu6(x + 3)) / 6 -> HardSwish
            mul = graph.producer(y)
            if mul is None or mul.op_type != "Mul":
                continue
            for a, b in ((mul.inputs[0], mul.inputs[1]), (mul.inputs[1], mul.inputs[0])):
                if not _single_use(graph, b):
                    continue
                src = _hardsigmoid_source(graph, b)
                if src is not None and src[0] == a:
                    for n in src[1] + [mul]:
                        graph.nodes.remove(n)
                    hsw = Node("HardSwish", node.name, [a], node.outputs, {"alpha": 1.0 / 6.0, "beta": 0.5})
                    graph.nodes[graph.nodes.index(node)] = hsw
                    done.append("recognised x*relu6(x+3)/6 at %r as HardSwish" % node.name)
                    changed = True
                    break
        # x * HardSigmoid(x) -> HardSwish
        for node in list(graph.nodes):
            if node not in graph.nodes or node.op_type != "Mul" or len(node.inputs) != 2:
                continue
            for a, b in ((node.inputs[0], node.inputs[1]), (node.inputs[1], node.inputs[0])):
                hs = graph.producer(b)
                if hs is None or hs.op_type != "HardSigmoid" or hs.inputs[0] != a or not _single_use(graph, b):
                    continue
                alpha, beta = float(hs.attr("alpha", 0.2)), float(hs.attr("beta", 0.5))
                graph.nodes.remove(hs)
                hsw = Node("HardSwish", node.name, [a], node.outputs, {"alpha": alpha, "beta": beta})
                graph.nodes[graph.nodes.index(node)] = hsw
                done.append("recognised x*HardSigmoid(x) at %r as HardSwish" % node.name)
                changed = True
                break
    if done:
        graph.toposort()
    return done


# ----------------------------------------------------------------- Pad -> Conv

def pad_amounts(graph: Graph, node: Node) -> Tuple[List[int], List[int], str, float]:
    """(begins, ends, mode, value) of a Pad node, one entry per axis of its input."""
    shape = graph.shape(node.inputs[0])
    if shape is None:
        raise unsupported(node, "input shape unknown")
    rank = len(shape)
    mode = node.attr("mode", "constant")
    if graph.opset < 11:
        pads = list(node.attr("pads"))
        value = float(node.attr("value", 0.0))
        axes = list(range(rank))
    else:
        p = graph.const(node.inputs[1]) if len(node.inputs) > 1 else None
        if p is None:
            raise unsupported(node, "pads input is not constant")
        pads = [int(v) for v in np.asarray(p).reshape(-1)]
        value = 0.0
        if len(node.inputs) > 2 and node.inputs[2]:
            v = graph.const(node.inputs[2])
            if v is None:
                raise unsupported(node, "constant_value input is not constant")
            value = float(np.asarray(v).reshape(-1)[0]) if v.size else 0.0
        if len(node.inputs) > 3 and node.inputs[3]:
            a = graph.const(node.inputs[3])
            if a is None:
                raise unsupported(node, "axes input is not constant")
            axes = [int(v) + rank if int(v) < 0 else int(v) for v in np.asarray(a).reshape(-1)]
        else:
            axes = list(range(rank))
    if len(pads) != 2 * len(axes):
        raise unsupported(node, "pads has %d values for %d axes" % (len(pads), len(axes)))
    begins, ends = [0] * rank, [0] * rank
    for k, ax in enumerate(axes):
        begins[ax], ends[ax] = pads[k], pads[k + len(axes)]
    return begins, ends, mode, value


def fold_pad_into_conv(graph: Graph) -> List[str]:
    """A zero constant Pad feeding only a Conv (nn.ZeroPad2d, F.pad) becomes
    extra padding of that Conv: same numbers, one layer less."""
    done = []
    for pad in list(graph.nodes):
        if pad.op_type != "Pad" or not _single_use(graph, pad.outputs[0]):
            continue
        users = graph.consumers(pad.outputs[0])
        if len(users) != 1 or users[0].op_type != "Conv" or users[0].inputs[0] != pad.outputs[0]:
            continue
        conv = users[0]
        if conv.attr("auto_pad", "NOTSET") not in ("NOTSET", b"NOTSET"):
            continue
        begins, ends, mode, value = pad_amounts(graph, pad)
        if mode != "constant" or value != 0.0 or len(begins) != 4:
            continue
        if begins[:2] != [0, 0] or ends[:2] != [0, 0] or min(begins + ends) < 0:
            continue
        cpads = list(conv.attr("pads", [0, 0, 0, 0]))
        conv.attrs["pads"] = [cpads[0] + begins[2], cpads[1] + begins[3], cpads[2] + ends[2], cpads[3] + ends[3]]
        conv.inputs[0] = pad.inputs[0]
        graph.nodes.remove(pad)
        done.append("folded zero Pad %r into Conv %r" % (pad.name, conv.name))
    return done


# ----------------------------------------------------------------- Softmax

def fold_transposed_softmax(graph: Graph) -> List[str]:
    """Before opset 13 torch writes softmax(x, dim=1) on NCHW as Transpose ->
    Softmax(last axis) -> Transpose back: that is one Softmax over dim 1."""
    done = []
    for sm in list(graph.nodes):
        if sm.op_type != "Softmax":
            continue
        t1 = graph.producer(sm.inputs[0])
        if t1 is None or t1.op_type != "Transpose" or not _single_use(graph, t1.outputs[0]):
            continue
        shape = graph.shape(t1.inputs[0])
        if shape is None:
            continue
        rank = len(shape)
        perm = [int(p) for p in (t1.attr("perm") or list(reversed(range(rank))))]
        axis = int(sm.attr("axis", 1 if graph.opset < 13 else -1))
        if axis % rank != rank - 1 or not _single_use(graph, sm.outputs[0]):
            continue
        users = graph.consumers(sm.outputs[0])
        if len(users) != 1 or users[0].op_type != "Transpose":
            continue
        t2 = users[0]
        back = [int(p) for p in (t2.attr("perm") or list(reversed(range(rank))))]
        if [perm[b] for b in back] != list(range(rank)):
            continue
        new = Node("Softmax", sm.name, [t1.inputs[0]], t2.outputs, {"axis": perm[rank - 1], "_single_axis": 1})
        graph.nodes[graph.nodes.index(sm)] = new
        graph.nodes.remove(t1)
        graph.nodes.remove(t2)
        done.append("folded Transpose/Softmax/Transpose at %r into Softmax(axis=%d)" % (sm.name, perm[rank - 1]))
    return done


# ----------------------------------------------------------------- channel shuffle

def _const_shape(graph: Graph, node: Node) -> Optional[List[int]]:
    """The static output shape of a Reshape node, when known."""
    if node.op_type != "Reshape":
        return None
    s = graph.shape(node.outputs[0])
    return None if s is None else [int(v) for v in s]


def _between_reshapes(graph: Graph, node: Node) -> Optional[Tuple[Node, Node]]:
    """(r1, r2) when `node` reads the only use of Reshape r1 and its output is
    read only by Reshape r2 (the channel shuffle and GroupNorm idioms)."""
    r1 = graph.producer(node.inputs[0])
    users = graph.consumers(node.outputs[0])
    if r1 is None or r1.op_type != "Reshape" or len(users) != 1 or users[0].op_type != "Reshape":
        return None
    if not _single_use(graph, r1.outputs[0]) or not _single_use(graph, node.outputs[0]):
        return None
    return r1, users[0]


def recognise_channel_shuffle(graph: Graph) -> List[str]:
    """ShuffleNet's channel shuffle, x.view(n, g, c/g, h, w).transpose(1, 2)
    .view(n, c, h, w): Reshape to 5-D -> Transpose(0,2,1,3,4) -> Reshape back
    is one ShuffleChannel(group=g) (ncnn blobs have no 5-D form)."""
    done = []
    for tr in list(graph.nodes):
        if tr.op_type != "Transpose" or [int(p) for p in (tr.attr("perm") or [])] != [0, 2, 1, 3, 4]:
            continue
        pair = _between_reshapes(graph, tr)
        if pair is None:
            continue
        r1, r2 = pair
        src = graph.shape(r1.inputs[0])
        mid, dst = _const_shape(graph, r1), _const_shape(graph, r2)
        if src is None or mid is None or dst is None or len(src) != 4 or src[0] != 1:
            continue
        n, c, h, w = src
        if list(dst) != [n, c, h, w] or len(mid) != 5 or mid[0] != 1 or mid[1] * mid[2] != c \
                or mid[3:] != [h, w]:
            continue
        group = int(mid[1])
        new = Node("ShuffleChannel", tr.name, [r1.inputs[0]], r2.outputs, {"group": group})
        graph.nodes[graph.nodes.index(tr)] = new
        graph.nodes.remove(r1)
        graph.nodes.remove(r2)
        done.append("recognised Reshape/Transpose/Reshape at %r as ShuffleChannel(group=%d)" % (tr.name, group))
    return done


# ----------------------------------------------------------------- SiLU, Mish, GELU

def _mul_pair(graph: Graph, node: Node, x: str) -> Optional[str]:
    """If node is Mul(x, y) or Mul(y, x), return y."""
    if node is None or node.op_type != "Mul" or len(node.inputs) != 2:
        return None
    return _other_input(node, x)


def _scaled_input(graph: Graph, name: str, value: float) -> Optional[Tuple[str, Node]]:
    """If `name` = x * value (Mul either order) or x / (1/value), return (x, node)."""
    node = graph.producer(name)
    if node is None or len(node.inputs) != 2:
        return None
    if node.op_type == "Mul":
        for a, c in ((node.inputs[0], node.inputs[1]), (node.inputs[1], node.inputs[0])):
            if _is_scalar(graph, c, value, rel=1e-4) and graph.const(a) is None:
                return a, node
    if node.op_type == "Div" and _is_scalar(graph, node.inputs[1], 1.0 / value, rel=1e-4):
        return node.inputs[0], node
    return None


def _add_one(graph: Graph, name: str) -> Optional[Tuple[str, Node]]:
    """If `name` = Add(y, 1), return (y, node)."""
    node = graph.producer(name)
    if node is None or node.op_type != "Add" or len(node.inputs) != 2:
        return None
    for y, c in ((node.inputs[0], node.inputs[1]), (node.inputs[1], node.inputs[0])):
        if _is_scalar(graph, c, 1.0):
            return y, node
    return None


def _replace(graph: Graph, last: Node, dead: List[Node], new: Node) -> None:
    graph.nodes[graph.nodes.index(last)] = new
    for n in dead:
        graph.nodes.remove(n)


def _gelu_tail(graph: Graph, x: str, t_out: str, inner: List[Node]) -> Optional[Tuple[Node, List[Node]]]:
    """From f(x) (Erf or Tanh output) on: 0.5 * x * (1 + f) in torch's orders.
    Returns (last node, all nodes of the tail) when it matches."""
    if not _single_use(graph, t_out):
        return None
    users = graph.consumers(t_out)
    if len(users) != 1:
        return None
    add = users[0]
    if _add_one(graph, add.outputs[0]) is None or not _single_use(graph, add.outputs[0]):
        return None
    users = graph.consumers(add.outputs[0])
    if len(users) != 1 or users[0].op_type != "Mul":
        return None
    m1 = users[0]
    other = _other_input(m1, add.outputs[0])
    if other == x:                         # x * (1 + f), then * 0.5
        if not _single_use(graph, m1.outputs[0]):
            return None
        nxt = graph.consumers(m1.outputs[0])
        if len(nxt) != 1 or _scaled_input(graph, nxt[0].outputs[0], 0.5) is None:
            return None
        return nxt[0], inner + [add, m1]
    half = _scaled_input(graph, other, 0.5) if other else None
    if half is not None and half[0] == x and _single_use(graph, other):  # (0.5 * x) * (1 + f)
        return m1, inner + [add, half[1]]
    return None


def recognise_activations(graph: Graph) -> List[str]:
    """x * sigmoid(x) -> Swish; x * tanh(softplus(x)) -> Mish; the erf and tanh
    forms of GELU (what torch writes for nn.GELU() and GELU('tanh')) -> one
    Gelu node with approximate='none' / 'tanh'."""
    done = []
    for node in list(graph.nodes):
        if node not in graph.nodes:
            continue
        if node.op_type == "Sigmoid" or node.op_type == "Tanh" and graph.producer(node.inputs[0]) is not None \
                and graph.producer(node.inputs[0]).op_type == "Softplus":
            inner = [node]
            x = node.inputs[0]
            if node.op_type == "Tanh":
                sp = graph.producer(x)
                if not _single_use(graph, x):
                    continue
                inner, x = [sp, node], sp.inputs[0]
            if not _single_use(graph, node.outputs[0]):
                continue
            users = graph.consumers(node.outputs[0])
            if len(users) != 1 or _mul_pair(graph, users[0], node.outputs[0]) != x:
                continue
            kind = "Swish" if node.op_type == "Sigmoid" else "Mish"
            _replace(graph, users[0], inner, Node(kind, users[0].name, [x], users[0].outputs))
            done.append("recognised %s at %r" % (kind, users[0].name))
        elif node.op_type == "Erf":
            src = _scaled_input(graph, node.inputs[0], 0.7071067811865476)
            if src is None or not _single_use(graph, node.inputs[0]):
                continue
            tail = _gelu_tail(graph, src[0], node.outputs[0], [src[1], node])
            if tail is not None:
                last, nodes = tail
                _replace(graph, last, nodes, Node("Gelu", last.name, [src[0]], last.outputs, {"approximate": "none"}))
                done.append("recognised GELU (erf form) at %r" % last.name)
        elif node.op_type == "Tanh":
            m = _scaled_input(graph, node.inputs[0], 0.7978845608028654)
            if m is None or not _single_use(graph, node.inputs[0]):
                continue
            add = graph.producer(m[0])
            if add is None or add.op_type != "Add" or not _single_use(graph, m[0]):
                continue
            found = None
            for x, cube_term in ((add.inputs[0], add.inputs[1]), (add.inputs[1], add.inputs[0])):
                c = _scaled_input(graph, cube_term, 0.044715)
                if c is None or not _single_use(graph, cube_term):
                    continue
                cube = graph.producer(c[0])
                nodes = [add, c[1]]
                if cube is not None and cube.op_type == "Pow" and cube.inputs[0] == x \
                        and _is_scalar(graph, cube.inputs[1], 3.0):
                    found = (x, nodes + [cube])
                elif cube is not None and _mul_pair(graph, cube, x) is not None:
                    sq_name = _mul_pair(graph, cube, x)
                    sq = graph.producer(sq_name)
                    if sq is not None and sq.op_type == "Mul" and sq.inputs == [x, x] and _single_use(graph, sq_name):
                        found = (x, nodes + [cube, sq])
                if found:
                    break
            if not found:
                continue
            x, nodes = found
            tail = _gelu_tail(graph, x, node.outputs[0], nodes + [m[1], node])
            if tail is not None:
                last, nodes = tail
                _replace(graph, last, nodes, Node("Gelu", last.name, [x], last.outputs, {"approximate": "tanh"}))
                done.append("recognised GELU (tanh form) at %r" % last.name)
    if done:
        graph.toposort()
    return done


# ----------------------------------------------------------------- torch.chunk

def _slice_range(graph: Graph, node: Node) -> Optional[Tuple[int, int, int]]:
    """(axis, start, end) of a one-axis, step-1 Slice with constant bounds
    (opset 10+), resolved against the input's static shape; else None."""
    if node.op_type != "Slice" or graph.opset < 10 or len(node.inputs) < 3:
        return None
    shape = graph.shape(node.inputs[0])
    vals = [graph.const(i) if i else None for i in node.inputs[1:5]]
    if shape is None or vals[0] is None or vals[1] is None or vals[0].size != 1 or vals[1].size != 1:
        return None
    if len(vals) > 3 and node.inputs[4] and (vals[3] is None or int(np.asarray(vals[3]).reshape(-1)[0]) != 1):
        return None
    axis = 0
    if len(vals) > 2 and node.inputs[3]:
        if vals[2] is None or vals[2].size != 1:
            return None
        axis = int(np.asarray(vals[2]).reshape(-1)[0])
    rank = len(shape)
    axis = axis + rank if axis < 0 else axis
    if not 0 <= axis < rank:
        return None
    n = shape[axis]
    s, e = (int(np.asarray(v).reshape(-1)[0]) for v in vals[:2])
    s = s + n if s < 0 else s
    e = e + n if e < 0 else e
    s, e = max(0, min(s, n)), max(0, min(e, n))
    return (axis, s, e) if e > s else None


def merge_slices_into_split(graph: Graph) -> List[str]:
    """torch.chunk / tensor slicing that cuts one tensor into consecutive
    pieces along one axis is written as one Slice per piece: when the pieces
    tile the whole axis, they become one Split (one ncnn Slice layer)."""
    done = []
    by_input = {}
    for n in graph.nodes:
        r = _slice_range(graph, n)
        if r is not None:
            by_input.setdefault((n.inputs[0], r[0]), []).append((r[1], r[2], n))
    for (x, axis), parts in by_input.items():
        if len(parts) < 2:
            continue
        parts.sort(key=lambda t: t[0])
        extent = graph.shape(x)[axis]
        if parts[0][0] != 0 or parts[-1][1] != extent or any(a[1] != b[0] for a, b in zip(parts, parts[1:])):
            continue
        sizes_name = graph.unique_name(parts[0][2].name + "_sizes")
        graph.consts[sizes_name] = np.array([e - s for s, e, _ in parts], np.int64)
        first = parts[0][2]
        split = Node("Split", first.name, [x, sizes_name], [n.outputs[0] for _, _, n in parts], {"axis": axis})
        graph.nodes[graph.nodes.index(first)] = split
        for _, _, n in parts[1:]:
            graph.nodes.remove(n)
        done.append("merged %d Slice nodes of %r into one Split at %r" % (len(parts), x, first.name))
    if done:
        graph.toposort()
    return done


# ----------------------------------------------------------------- GroupNorm, reshape chains

def recognise_group_norm(graph: Graph) -> List[str]:
    """nn.GroupNorm as torch writes it before opset 18: Reshape (1, C, H, W)
    -> (1, G, -1), InstanceNormalization with scale 1 and bias 0, Reshape back
    (the affine Mul/Add follow and stay Scale/Bias) -> one GroupNorm."""
    done = []
    for inorm in list(graph.nodes):
        if inorm.op_type != "InstanceNormalization":
            continue
        pair = _between_reshapes(graph, inorm)
        if pair is None:
            continue
        r1, r2 = pair
        src, mid, dst = graph.shape(r1.inputs[0]), graph.shape(r1.outputs[0]), graph.shape(r2.outputs[0])
        scale, bias = graph.const(inorm.inputs[1]), graph.const(inorm.inputs[2])
        if any(v is None for v in (src, mid, dst, scale, bias)) or len(src) != 4 or tuple(dst) != tuple(src) or len(mid) != 3:
            continue
        if src[0] != 1 or mid[0] != 1 or src[1] % mid[1] or not (np.all(scale == 1) and np.all(bias == 0)):
            continue
        new = Node("_GroupNorm", inorm.name, [r1.inputs[0]], r2.outputs,
                   {"group": int(mid[1]), "epsilon": float(inorm.attr("epsilon", 1e-5))})
        _replace(graph, r2, [r1, inorm], new)
        done.append("recognised Reshape/InstanceNormalization/Reshape at %r as GroupNorm(%d)"
                    % (inorm.name, int(mid[1])))
    return done


_RESHAPES = ("Reshape", "Squeeze", "Unsqueeze", "Flatten")


def collapse_reshape_chains(graph: Graph) -> List[str]:
    """Reshape-like nodes in a row (x.unsqueeze(2).squeeze(2), view after
    view) are one reshape to the last shape: the middle shapes may be 5-D,
    which ncnn cannot hold."""
    done = []
    for node in list(graph.nodes):
        if node.op_type not in _RESHAPES or node not in graph.nodes:
            continue
        prev = graph.producer(node.inputs[0])
        if prev is None or prev.op_type not in _RESHAPES or not _single_use(graph, prev.outputs[0]):
            continue
        out_shape = graph.shape(node.outputs[0])
        if out_shape is None:
            continue
        name = graph.unique_name(node.name + "_shape")
        graph.consts[name] = np.array(out_shape, np.int64)
        new = Node("Reshape", node.name, [prev.inputs[0], name], node.outputs)
        _replace(graph, node, [prev], new)
        done.append("collapsed %s %r + %s %r into one Reshape" % (prev.op_type, prev.name, node.op_type, node.name))
    if done:
        graph.toposort()
    return done


ALL_PASSES = (remove_identities, fuse_matmul_add, recognise_hardswish, fold_pad_into_conv,
              fold_transposed_softmax, recognise_channel_shuffle, recognise_activations,
              merge_slices_into_split, recognise_group_norm, collapse_reshape_chains)


def run_passes(graph: Graph, where: str = "<model>") -> List[str]:
    """Every pass in order; a pass failing is an InternalError naming it and the node."""
    done: List[str] = []
    for p in ALL_PASSES:
        done += run_own_pass(p, graph, where)
    graph.remove_dead()
    return done
