"""The V831's own "awnn" int8 format (../shared/reference/awnn-format.md):
maixnn's writer, its graph rewrites, the converter-format table and the
NPU/CPU placement report.  Tooling side (numpy only).

Public interface (other stages code against these names):

* ``to_awnn(float_base, table, out_base, mean=None, norm=None)`` -> AwnnReport
* ``npu_float_graph(model)``   the float graph to_awnn writes (optimize passes
  + activation unfusing); calibrate THIS graph
* ``required_scales(model)``   -> (weight_layers, blobs) the table entries to_awnn reads
* ``read_table(path)`` / ``write_table(path, weight_scales, blob_scales)``
* ``placement_report(model_or_param)``  per-layer NPU/CPU, reason, MACs, flags
"""
from .optimize import npu_float_graph, required_scales  # noqa: F401
from .placement import placement_report  # noqa: F401
from .table import read_table, write_table  # noqa: F401


def to_awnn(*args, **kwargs):
    from .writer import to_awnn as _to_awnn
    return _to_awnn(*args, **kwargs)


to_awnn.__doc__ = "See maixnn.awnn.writer.to_awnn."

__all__ = ["to_awnn", "placement_report", "npu_float_graph", "required_scales", "read_table", "write_table"]
