"""Where a net spends its time: per-layer wall times over repeated forwards.

``maixnn run MODEL INPUT --profile N`` prints this table; it reads
``Net.layer_times`` (the engine's ``mxn_session_layer_seconds``) after each
of N forwards and takes the median per layer.  Board side: numpy and the
engine only, Python 3.8.
"""
from __future__ import annotations

import collections
import statistics
from typing import Callable, Dict, List

from .errors import OptionError

LayerTime = collections.namedtuple("LayerTime", "index name type ms")
LayerTime.__doc__ = "One layer's median wall time in milliseconds over the profiled forwards."


def profile_layers(net, forward: Callable[[], object], runs: int) -> List[LayerTime]:
    """Call ``forward()`` (which runs ``net``) ``runs`` times after one
    warm-up call; the median time of every layer that ran, slowest first."""
    if runs < 1:
        raise OptionError("--profile: the number of forwards must be >= 1, got %d" % runs)
    forward()
    samples: Dict[int, List[float]] = collections.defaultdict(list)
    for _ in range(runs):
        forward()
        for i, seconds in enumerate(net.layer_times):
            samples[i].append(seconds)
    rows = []
    for i, times in samples.items():
        ms = statistics.median(times) * 1000.0
        if ms > 0.0:
            layer = net.layers[i]
            rows.append(LayerTime(i, layer.name, layer.type, ms))
    rows.sort(key=lambda r: -r.ms)
    return rows


def format_profile(rows: List[LayerTime], top: int = 15) -> str:
    """The slowest ``top`` layers and the time per layer type, with shares."""
    total = sum(r.ms for r in rows) or 1.0
    lines = ["layer times (median ms; sum %.2f ms):" % total]
    for r in rows[:top]:
        lines.append("  %9.4f  %5.1f%%  %-20s %s" % (r.ms, 100.0 * r.ms / total, r.type, r.name))
    if len(rows) > top:
        lines.append("  ... %d more layers, %.4f ms" % (len(rows) - top, sum(r.ms for r in rows[top:])))
    by_type: Dict[str, float] = collections.defaultdict(float)
    counts: Dict[str, int] = collections.defaultdict(int)
    for r in rows:
        by_type[r.type] += r.ms
        counts[r.type] += 1
    lines.append("by layer type:")
    for kind, ms in sorted(by_type.items(), key=lambda kv: -kv[1]):
        lines.append("  %9.4f  %5.1f%%  %-20s x%d" % (ms, 100.0 * ms / total, kind, counts[kind]))
    return "\n".join(lines)
