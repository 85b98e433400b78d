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
        if w.ndim != 2 or not _single_use(graph, mm.outputs[0]):
            continue
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


ALL_PASSES = (remove_identities, fuse_matmul_add, recognise_hardswish, fold_pad_into_conv,
              fold_transposed_softmax)


def run_passes(graph: Graph) -> List[str]:
    done: List[str] = []
    for p in ALL_PASSES:
        done += p(graph)
    graph.remove_dead()
    return done
