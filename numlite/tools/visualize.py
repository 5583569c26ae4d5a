"""``numlite visualize``: one self-contained HTML page showing a model (TFLite's ``visualize.py``).

    numlite visualize model.tflite -o model.html          # write the page, print a summary
    numlite visualize model.tflite -o model.html --json   # the same summary as one JSON document

The page needs no network: its script, style and data are inline.  It shows

1. an interactive drawing of each subgraph's ops (boxes) and the tensors between them (edges;
   graph inputs, outputs and variables are small rounded nodes; constants are listed in the
   op's details, not drawn): pan by dragging, zoom with the wheel, a search box (op type,
   ``#index`` or tensor name) that highlights and centres the matches, a subgraph selector;
   clicking an op shows its type, version, decoded builtin options, custom options (FlexBuffers
   decoded when possible, else hex) and its input and output tensors (shape, dtype,
   quantization); clicking an edge shows the tensor, its producer and its consumers;
2. the tables TFLite's ``visualize.py`` prints: per subgraph the tensors (index, name, type,
   shape, shape_signature, buffer, quantization) and the ops (index, op code, inputs, outputs),
   then the buffers (index, size, first bytes) and the operator codes;
3. the arena plan: one rectangle per planned buffer, execution step (x) by arena offset (y);
   hovering shows the tensor.  It is numlite's own plan (``allocate_tensors``); when numlite
   cannot prepare the model (an op it lacks, say) it is estimated from the model's static
   shapes with ``planner.plan_arena`` and marked so.

The page reads ``location.hash``: ``#subgraph=2&select=op:5`` (or ``select=tensor:7``) opens a
subgraph and selects an op or a tensor (links can point at a node; tests use it).

The same functions in Python:

- :func:`render` ``(path_or_model) -> str``: the HTML (``path_or_model``: a path, the model's
  bytes or a loaded ``numlite`` model).
- :func:`model_data` ``(path_or_model) -> dict``: everything the page shows, as JSON-ready data
  (graph layout, tables, memory plans).
- :func:`layout_subgraph` ``(subgraph) -> dict``: the layered drawing of one subgraph (node
  boxes, edge polylines).
- :func:`visualize` ``(model_path, out_path) -> dict``: writes the page and returns the summary
  the command prints (``--json`` prints it as JSON).

The layout is computed here, in Python, once (see :func:`layout_subgraph`), so the browser only
draws it: one SVG whose pan and zoom change a single transform.
"""

from __future__ import annotations

import argparse
import heapq
import html
import json
import os
import time
from bisect import bisect_left
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ._common import EXIT_CODES_HELP, USAGE, CLIError, _one_line, load_model, print_json

ASSETS = Path(__file__).with_name("visualize_assets")

# drawing sizes, in SVG user units (pixels at zoom 1)
NODE_H = 30  # op box height
IO_H = 22  # input / output / variable node height
LAYER_GAP = 46  # vertical space between layers
NODE_GAP = 26  # minimum horizontal gap between neighbouring boxes
DUMMY_W = 6  # width reserved for an edge passing through a layer
CHAR_W = 7.4  # approximate width of a character of the 12 px label font
MAX_DUMMIES = 60_000  # beyond this, long edges are drawn straight instead of routed
OPEN_TABLE_ROWS = 300  # larger tables start collapsed (a closed <details> costs no layout)
HEAD_BYTES = 16  # first bytes shown per buffer
_ID_PREFIX = {"input": "i", "variable": "v", "output": "x"}  # layout node ids of tensor nodes ("o": ops)
MAX_CUSTOM_HEX = 256  # custom options shown as hex: at most this many bytes


# -- loading -----------------------------------------------------------------------------------
def _load(path_or_model: Any) -> tuple[Any, str, bytes | None, int]:
    """(model, display name, bytes or None, file size) for a path, bytes or a loaded model."""
    import numlite
    from numlite.graph import Model

    if isinstance(path_or_model, Model):
        src = path_or_model.source  # the bytes or the mmap the model was read from
        data = bytes(src) if src is not None else None
        size = len(data) if data is not None else 0
        return path_or_model, "(model)", data, size
    if isinstance(path_or_model, (bytes, bytearray, memoryview)):
        data = bytes(path_or_model)
        return numlite.load_model(model_content=data), "(bytes)", data, len(data)
    path = os.fspath(path_or_model)
    return load_model(path), path, None, os.path.getsize(path)


# -- text helpers ------------------------------------------------------------------------------
def _jsonable(v: Any) -> Any:
    """Option values as JSON: arrays as lists, bytes as text or hex, tables as dicts."""
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, np.ndarray):
        if v.size > 64:
            return [_jsonable(x) for x in v.reshape(-1)[:64].tolist()] + [f"... ({v.size} values)"]
        return _jsonable(v.tolist())
    if isinstance(v, np.generic):
        return _jsonable(v.item())
    if isinstance(v, (bytes, bytearray)):
        try:
            return bytes(v).decode("utf-8")
        except UnicodeDecodeError:
            return bytes(v[:MAX_CUSTOM_HEX]).hex(" ") + (" ..." if len(v) > MAX_CUSTOM_HEX else "")
    if isinstance(v, float) and not np.isfinite(v):
        return str(v)
    return v


def decode_options(op: Any) -> dict[str, Any] | None:
    """An op's builtin options with enum fields by name (``fused_activation_function: 'RELU'``)."""
    from numlite.schema._schema import ENUMS, FIELD_ENUMS

    if not op.options:
        return None
    out: dict[str, Any] = {}
    for k, v in op.options.items():
        if k.endswith("_type") and k[:-5] in op.options:  # a union's type tag
            continue
        enum = FIELD_ENUMS.get(f"{op.options_type}.{k}")
        if enum is not None and isinstance(v, (int, np.integer)):
            names = {val: name for name, val in ENUMS[enum][1].items()}
            v = names.get(int(v), int(v))
        out[k] = _jsonable(v)
    return out


def decode_custom_options(raw: Any) -> dict[str, Any] | None:
    """``{"format": "flexbuffers", "value": ...}`` when the bytes decode as FlexBuffers, else
    ``{"format": "hex", "value": "0a 1b ..."}``; None without custom options."""
    from numlite import flex

    if raw is None or len(raw) == 0:
        return None
    data = bytes(np.asarray(raw, np.uint8))
    try:
        return {"format": "flexbuffers", "bytes": len(data), "value": _jsonable(flex.decode(data))}
    except flex.FlexError:
        head = data[:MAX_CUSTOM_HEX].hex(" ") + (" ..." if len(data) > MAX_CUSTOM_HEX else "")
        return {"format": "hex", "bytes": len(data), "value": head}


def quant_text(q: Any) -> str:
    """A tensor's quantization in one line ('' when not quantized)."""
    if not q.is_quantized:
        return ""
    if q.scales.size == 1:
        return f"scale={float(q.scales[0]):.6g} zero_point={int(q.zero_points[0])}"
    first = ", ".join(f"{float(s):.4g}" for s in q.scales[:3])
    more = ", ..." if q.scales.size > 3 else ""
    return f"per-channel axis {q.quantized_dimension}: {q.scales.size} scales [{first}{more}]"


def _tensor_kind(t: Any, sg: Any) -> str:
    if t.index in sg.inputs:
        return "input"
    if t.index in sg.outputs:
        return "output"
    if t.is_variable:
        return "variable"
    if t.data is not None:
        return "constant"
    return ""


# -- layout ------------------------------------------------------------------------------------
def _order_by_barycenter(layer: list[int], neighbours: list[list[int]], pos: list[float]) -> list[int]:
    """``layer`` sorted by the mean position of each node's neighbours in the adjacent layer
    (nodes without neighbours keep their place)."""
    keyed = []
    for k, n in enumerate(layer):
        nb = neighbours[n]
        keyed.append((sum(pos[m] for m in nb) / len(nb) if nb else pos[n], k, n))
    keyed.sort()
    return [n for _, _, n in keyed]


def _crossings(upper: list[int], lower_pos: list[float], succ: list[list[int]], pos: list[float]) -> int:
    """Edge crossings between two adjacent layers (inversions, counted with a Fenwick tree)."""
    ends = sorted((pos[u], lower_pos[v]) for u in upper for v in succ[u])
    if len(ends) < 2:
        return 0
    values = sorted({b for _, b in ends})
    tree = [0] * (len(values) + 1)
    crossings = seen = 0
    for _, b in ends:
        r = bisect_left(values, b) + 1
        # count earlier edges ending strictly to the right of b
        i, le = r, 0
        while i > 0:
            le += tree[i]
            i -= i & -i
        crossings += seen - le
        i = r
        while i <= len(values):
            tree[i] += 1
            i += i & -i
        seen += 1
    return crossings


def _place_layer(layer: list[int], want: list[float], width: list[float]) -> list[float]:
    """Centres for the nodes of one layer, in their order, as close as possible (least squares)
    to ``want`` while neighbours keep ``NODE_GAP`` between them: isotonic regression (pool
    adjacent violators) on the positions with the required separations taken out."""
    offs, acc = [], 0.0
    for k, n in enumerate(layer):
        if k:
            acc += (width[layer[k - 1]] + width[n]) / 2 + NODE_GAP
        offs.append(acc)
    blocks: list[list[float]] = []  # [mean, count]
    for k, n in enumerate(layer):
        blocks.append([want[n] - offs[k], 1.0])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            m2, c2 = blocks.pop()
            m1, c1 = blocks[-1]
            blocks[-1] = [(m1 * c1 + m2 * c2) / (c1 + c2), c1 + c2]
    out, k = [], 0
    for mean, count in blocks:
        for _ in range(int(count)):
            out.append(mean + offs[k])
            k += 1
    return out


def layout_subgraph(sg: Any) -> dict[str, Any]:
    """A layered drawing of one subgraph (Sugiyama's method, simplified):

    1. Nodes: every op; every graph input, variable or other non-constant tensor that no op
       writes (a source node); every graph output (a sink node).  Constant tensors are not drawn.
    2. Layers: ops in topological order (Kahn's algorithm; the execution order breaks ties and
       any cycle), each one layer below its lowest predecessor; a source node sits just above
       its first consumer, an output just below its producer.
    3. An edge spanning several layers passes through one dummy node per layer it crosses; the
       consumers of one tensor share its chain of dummies (at most ``MAX_DUMMIES`` in all, then
       long edges are drawn straight).
    4. Order within layers: barycenter sweeps, down then up, four times; the order with the
       fewest crossings (counted exactly) is kept.
    5. x: each node goes to the mean x of its neighbours, layer by layer, alternately downwards
       and upwards, placed by least squares under the order and minimum-gap constraints.
    6. Edges become polylines through their dummies' positions.

    Node ids: ``o<op index>``, ``i`` / ``v`` / ``x<tensor index>`` for input / variable / output nodes.
    Returns ``{"nodes": [{"id", "kind": "op" | "input" | "output" | "variable", "ref", "label",
    "x", "y", "w", "h"}], "edges": [{"t": tensor, "from": node id, "to": node id, "pts": [x, y,
    ...]}], "width", "height", "layers", "crossings"}``; x, y are the node's top-left corner.
    Limits: O(edges x layers) for the dummies, greedy ordering (not crossing-minimal)."""
    tensors, ops = sg.tensors, sg.operators
    producer: dict[int, int] = {}
    for op in ops:
        for o in op.outputs:
            producer.setdefault(o, op.index)
    # 1. nodes: ops first (node id == op index), then sources and sinks
    ids: list[str] = [f"o{op.index}" for op in ops]
    kind: list[str] = ["op"] * len(ops)
    ref: list[int] = [op.index for op in ops]
    label: list[str] = [op.op_name for op in ops]
    source_of: dict[int, int] = {}  # tensor -> source node

    def add(k: str, tid: int, text: str) -> int:
        ids.append(f"{_ID_PREFIX[k]}{tid}")
        kind.append(k)
        ref.append(tid)
        label.append(text)
        return len(ids) - 1

    for t in sg.inputs:
        if t not in producer:
            source_of[t] = add("input", t, tensors[t].name or f"T#{t}")
    for op in ops:
        for t in op.inputs:
            if t >= 0 and t not in producer and t not in source_of and tensors[t].data is None:
                source_of[t] = add("variable" if tensors[t].is_variable else "input", t, tensors[t].name or f"T#{t}")
    sinks = [(t, add("output", t, tensors[t].name or f"T#{t}")) for t in sg.outputs]
    n = len(ids)
    # tensor -> (source node, consumer nodes)
    users: dict[int, list[int]] = {}
    for op in ops:
        for t in op.inputs:
            if t >= 0 and (t in producer or t in source_of):
                lst = users.setdefault(t, [])
                if op.index not in lst:
                    lst.append(op.index)
    for t, node in sinks:
        if t in producer or t in source_of:
            users.setdefault(t, []).append(node)

    def src(t: int) -> int:
        return producer[t] if t in producer else source_of[t]

    preds: list[set[int]] = [set() for _ in range(n)]
    succs: list[set[int]] = [set() for _ in range(n)]
    for t, cs in users.items():
        s = src(t)
        for c in cs:
            if c != s:
                preds[c].add(s)
                succs[s].add(c)
    # 2. layers (Kahn's algorithm over the ops; the lowest op index first, so the execution
    # order decides ties; a cycle is broken at its lowest op)
    nops = len(ops)
    indeg = [sum(1 for p in preds[i] if p < nops) for i in range(nops)]
    ready = [i for i in range(nops) if indeg[i] == 0]
    heapq.heapify(ready)
    placed = [False] * nops
    order: list[int] = []
    nxt = 0
    while len(order) < nops:
        if not ready:
            while placed[nxt]:
                nxt += 1
            ready = [nxt]
        i = heapq.heappop(ready)
        if placed[i]:
            continue
        placed[i] = True
        order.append(i)
        for c in succs[i]:
            if c < nops and not placed[c]:
                indeg[c] -= 1
                if indeg[c] == 0:
                    heapq.heappush(ready, c)
    layer = [0] * n
    base = 1 if source_of else 0
    seen = [False] * nops
    for i in order:
        layer[i] = max((layer[p] + 1 for p in preds[i] if p < nops and seen[p]), default=base)
        layer[i] = max(layer[i], base)
        seen[i] = True
    for s in source_of.values():
        cs = [layer[c] for c in succs[s] if kind[c] == "op"]
        layer[s] = (min(cs) - 1) if cs else 0
    for t, node in sinks:
        p = producer.get(t, source_of.get(t))
        layer[node] = layer[p] + 1 if p is not None else base
    nlayers = max(layer, default=0) + 1
    # 3. dummies: one chain per tensor, shared by its consumers
    width = [max(56.0, CHAR_W * len(label[i]) + 22) if kind[i] == "op" else
             min(220.0, max(40.0, CHAR_W * 0.9 * len(label[i]) + 16)) for i in range(n)]
    up: list[list[int]] = [[] for _ in range(n)]  # neighbours one layer up (after dummies)
    down: list[list[int]] = [[] for _ in range(n)]
    routes: list[tuple[int, int, int, list[int]]] = []  # tensor, from, to, dummy chain
    budget = MAX_DUMMIES
    for t, cs in users.items():
        s = src(t)
        far = max((layer[c] for c in cs), default=layer[s])
        chain: list[int] = []
        if far - layer[s] > 1 and budget >= far - layer[s] - 1:
            budget -= far - layer[s] - 1
            prev = s
            for lv in range(layer[s] + 1, far):
                d = len(layer)
                layer.append(lv)
                width.append(DUMMY_W)
                kind.append("dummy")
                up.append([prev])
                down.append([])
                down[prev].append(d)
                chain.append(d)
                prev = d
        for c in cs:
            if c == s:
                continue
            span = layer[c] - layer[s]
            if span <= 0:  # a back edge (cycle): drawn straight
                routes.append((t, s, c, []))
                continue
            via = chain[:span - 1] if chain and span - 1 <= len(chain) else []
            if span > 1 and not via:
                routes.append((t, s, c, []))
                continue
            last = via[-1] if via else s
            down[last].append(c)
            up[c].append(last)
            routes.append((t, s, c, via))
    total = len(layer)
    layers: list[list[int]] = [[] for _ in range(nlayers)]
    for i in order:
        layers[layer[i]].append(i)
    for i in range(len(ops), total):  # sources, sinks, dummies after the ops, in creation order
        layers[layer[i]].append(i)
    # 4. ordering
    pos = [0.0] * total

    def number(ls: list[list[int]]) -> None:
        for lv in ls:
            for k, i in enumerate(lv):
                pos[i] = float(k)

    def count(ls: list[list[int]]) -> int:
        return sum(_crossings(ls[k], pos, down, pos) for k in range(len(ls) - 1))

    number(layers)
    best, best_c = [list(lv) for lv in layers], count(layers)
    for sweep in range(8):
        if best_c == 0:
            break
        rng = range(1, nlayers) if sweep % 2 == 0 else range(nlayers - 2, -1, -1)
        nb = up if sweep % 2 == 0 else down
        for k in rng:
            layers[k] = _order_by_barycenter(layers[k], nb, pos)
            for j, i in enumerate(layers[k]):
                pos[i] = float(j)
        c = count(layers)
        if c < best_c:
            best, best_c = [list(lv) for lv in layers], c
    layers = best
    number(layers)
    # 5. coordinates
    x = [0.0] * total
    for lv in layers:
        acc = 0.0
        for k, i in enumerate(lv):
            if k:
                acc += (width[lv[k - 1]] + width[i]) / 2 + NODE_GAP
            x[i] = acc
        shift = acc / 2
        for i in lv:
            x[i] -= shift
    for sweep in range(8):
        rng = range(1, nlayers) if sweep % 2 == 0 else range(nlayers - 2, -1, -1)
        nb = up if sweep % 2 == 0 else down
        for k in rng:
            lv = layers[k]
            want = list(x)
            for i in lv:
                if nb[i]:
                    want[i] = sum(x[m] for m in nb[i]) / len(nb[i])
            for i, v in zip(lv, _place_layer(lv, want, width)):
                x[i] = v
    xmin = min((x[i] - width[i] / 2 for i in range(total)), default=0.0)
    step = NODE_H + LAYER_GAP
    y = [lv * step + (NODE_H - IO_H) / 2 * (kind[i] in ("input", "output", "variable")) for i, lv in
         enumerate(layer)]

    def cx(i: int) -> float:
        return x[i] - xmin + 20

    nodes = []
    for i in range(n):
        h = NODE_H if kind[i] == "op" else IO_H
        nodes.append({"id": ids[i], "kind": kind[i], "ref": ref[i], "label": label[i],
                      "x": round(cx(i) - width[i] / 2, 1), "y": round(y[i] + 20, 1), "w": round(width[i], 1), "h": h})
    edges = []
    for t, s, c, via in routes:
        hs = NODE_H if kind[s] == "op" else IO_H
        pts = [cx(s), y[s] + 20 + hs]
        for d in via:
            pts += [cx(d), layer[d] * step + 20 + NODE_H / 2]
        pts += [cx(c), y[c] + 20]
        edges.append({"t": t, "from": ids[s], "to": ids[c], "pts": [round(v, 1) for v in pts]})
    width_total = max((cx(i) + width[i] / 2 for i in range(total)), default=0.0) + 20
    return {"nodes": nodes, "edges": edges, "width": round(width_total, 1),
            "height": nlayers * step + 40, "layers": nlayers, "crossings": best_c}


# -- memory plan -------------------------------------------------------------------------------
def _numlite_plans(model: Any, data: bytes | None, path: str | None) -> tuple[dict[int, dict], str]:
    """Each prepared subgraph's arena layout from numlite itself, or ({}, why not)."""
    import numlite
    from numlite.tools._common import optional_custom_ops

    try:
        kw = {"model_path": path} if path else {"model_content": data}
        it = numlite.Interpreter(custom_ops=optional_custom_ops(), **kw)
        it.allocate_tensors()
    except numlite.UnsupportedOpError as e:
        names = sorted({f"{m[0]} v{m[1]}" for m in e.missing})
        return {}, f"it has operators numlite lacks: {', '.join(names)}"
    except Exception as e:  # noqa: BLE001 - any failure: fall back to an estimate, and say why
        text = _one_line(str(e))
        return {}, f"{type(e).__name__}: {text[:300]}{'...' if len(text) > 300 else ''}"
    plans: dict[int, dict] = {}
    for sgi in range(it.num_subgraphs()):
        try:
            plan = it.memory_plan(sgi)
        except RuntimeError:  # a subgraph no caller prepared
            continue
        plans[sgi] = {
            "source": "numlite", **{k: plan[k] for k in ("arena_bytes", "no_reuse_bytes", "lower_bound_bytes")},
            "steps": [int(n) for n in plan["step_nodes"]],
            "buffers": [[b["kind"][0], int(b["tensor"] if b["kind"] == "tensor" else b["node"]), b["name"],
                         int(b["offset"]), int(b["bytes"]), int(b["first_step"]), int(b["last_step"])]
                        for b in plan["buffers"]],
        }
    return plans, ""


def estimate_plan(sg: Any) -> dict[str, Any]:
    """The arena plan from the model's static shapes alone (no kernel prepared): every
    non-constant tensor with a fixed-size dtype, alive from its writer to its last reader
    (inputs, outputs and variables throughout), placed by ``planner.plan_arena``.  No folding,
    no scratch buffers, no fusion: numlite's real plan differs where kernels fold, ask for
    scratch or run fused into the node before them (``executor``, step 2b)."""
    from numlite.executor import ARENA_ALIGNMENT
    from numlite.planner import plan_arena

    nsteps = len(sg.operators)
    end = max(nsteps - 1, 0)
    span: dict[int, list[int]] = {}
    for p, op in enumerate(sg.operators):
        for t in op.outputs:
            span.setdefault(t, [p, p])
        for t in op.inputs:
            if t >= 0 and sg.tensors[t].data is None:
                span.setdefault(t, [p, p])[1] = p
    for t in (*sg.inputs, *sg.outputs, *(t.index for t in sg.tensors if t.is_variable)):
        span[t] = [0, end]
    keys, sizes, first, last = [], [], [], []
    for t, (a, b) in sorted(span.items()):
        ten = sg.tensors[t]
        if ten.dtype is None or np.dtype(ten.dtype) == np.dtype(object) or ten.data is not None:
            continue
        keys.append(t)
        sizes.append(ten.nbytes)
        first.append(a)
        last.append(b)
    plan = plan_arena(sizes, first, last, ARENA_ALIGNMENT)
    return {"source": "estimate", **plan.report(), "steps": list(range(nsteps)),
            "buffers": [["t", t, sg.tensors[t].name, off, size, a, b]
                        for t, off, size, a, b in zip(keys, plan.offsets, sizes, first, last)]}


# -- data --------------------------------------------------------------------------------------
def model_data(path_or_model: Any) -> dict[str, Any]:
    """Everything the page shows, as JSON-ready data: ``model`` (name, version, description,
    bytes), ``subgraphs`` (tensors, ops, layout, memory ``plan``), ``buffers``, ``opcodes``,
    ``signatures``.  Tensor rows: ``[index, name, type, shape, shape_signature, buffer,
    quantization text, kind, bytes]``."""
    from numlite.graph import BUILTIN_OPS, called_subgraphs

    t0 = time.perf_counter()
    model, name, data, size = _load(path_or_model)
    path = name if name not in ("(model)", "(bytes)") else None
    plans, why = _numlite_plans(model, data, path) if (path or data) else ({}, "the model's bytes are not at hand")
    subgraphs = []
    for sg in model.subgraphs:
        ts = [[t.index, t.name, t.type_name, list(t.shape), list(t.shape_signature), t.buffer,
               quant_text(t.quantization), _tensor_kind(t, sg), t.nbytes if t.dtype is not None else 0]
              for t in sg.tensors]
        qd = {t.index: {"scales": _jsonable(t.quantization.scales[:16]),
                        "zero_points": _jsonable(t.quantization.zero_points[:16]),
                        "count": int(t.quantization.scales.size), "axis": t.quantization.quantized_dimension}
              for t in sg.tensors if t.quantization.is_quantized}
        ops = [{"i": op.index, "type": op.op_name, "v": op.version, "code": op.opcode_index,
                "builtin": BUILTIN_OPS.get(op.builtin_code, str(op.builtin_code)),
                "in": list(op.inputs), "out": list(op.outputs), "inter": list(op.intermediates),
                "otype": op.options_type, "opts": decode_options(op),
                "custom": decode_custom_options(op.custom_options), "calls": called_subgraphs(op)}
               for op in sg.operators]
        plan = plans.get(sg.index)
        if plan is None:
            plan = estimate_plan(sg)
            plan["note"] = ("estimated from the model's shapes: " + (
                f"numlite could not prepare the model ({why})" if why else "this subgraph was not prepared"))
        subgraphs.append({"index": sg.index, "name": sg.name, "inputs": list(sg.inputs),
                          "outputs": list(sg.outputs), "tensors": ts, "quant": qd, "ops": ops,
                          "layout": layout_subgraph(sg), "plan": plan})
    buffers = []
    for i, b in enumerate(model.buffer_data):
        raw = b'' if b is None else bytes(np.asarray(b[:HEAD_BYTES], np.uint8))
        buffers.append([i, 0 if b is None else int(b.size), raw.hex(" ")])
    opcodes = []
    for i, oc in enumerate(model.table.get("operator_codes") or []):
        code = max(int(oc.get("builtin_code") or 0), int(oc.get("deprecated_builtin_code") or 0))
        opcodes.append([i, BUILTIN_OPS.get(code, f"UNKNOWN_{code}"), code, oc.get("custom_code") or "",
                        int(oc.get("version") or 1), int(oc.get("deprecated_builtin_code") or 0)])
    sigs = [{"key": s.key, "subgraph": s.subgraph_index, "inputs": dict(s.inputs), "outputs": dict(s.outputs)}
            for s in model.signature_defs]
    return {"model": {"name": os.path.basename(name) if path else name, "path": path, "version": model.version,
                      "description": model.description, "bytes": size},
            "subgraphs": subgraphs, "buffers": buffers, "opcodes": opcodes, "signatures": sigs,
            "build_seconds": round(time.perf_counter() - t0, 3)}


# -- HTML --------------------------------------------------------------------------------------
def _e(v: Any) -> str:
    return html.escape(str(v), quote=True)


def _table(cls: str, headers: Sequence[str], rows: list[Sequence[Any]], title: str) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "\n".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    opened = " open" if len(rows) <= OPEN_TABLE_ROWS else ""
    return (f"<details class=\"tbl {cls}\"{opened}><summary>{_e(title)} ({len(rows)})</summary>"
            f"<table><thead><tr>{head}</tr></thead><tbody>\n{body}\n</tbody></table></details>")


def _tensor_refs(sg: dict, idxs: Sequence[int]) -> str:
    out = []
    for i in idxs:
        if i < 0:
            out.append("-1")
        else:
            t = sg["tensors"][i]
            out.append(f"<a href=\"#subgraph={sg['index']}&amp;select=tensor:{i}\" "
                       f"title=\"{_e(t[1])} {_e(t[2])}{_e(t[3])}\">{i}</a>")
    return "[" + ", ".join(out) + "]"


def _tables_html(d: dict) -> str:
    parts = []
    for sg in d["subgraphs"]:
        k = sg["index"]
        trows = [[f"<a href=\"#subgraph={k}&amp;select=tensor:{t[0]}\">{t[0]}</a>", _e(t[1]), _e(t[2]), _e(t[3]),
                  _e(t[4]), t[5], _e(t[6]), _e(t[7])] for t in sg["tensors"]]
        orows = [[f"<a href=\"#subgraph={k}&amp;select=op:{o['i']}\">{o['i']}</a>",
                  f"{_e(o['type'])} ({o['code']})", _tensor_refs(sg, o["in"]), _tensor_refs(sg, o["out"])]
                 for o in sg["ops"]]
        io = [[_tensor_refs(sg, sg["inputs"]), _tensor_refs(sg, sg["outputs"])]]
        parts.append(
            f"<section class=\"sg-tables\" data-sg=\"{k}\"><h2>Subgraph {k} {_e(sg['name'])}</h2>"
            + _table("io", ["inputs", "outputs"], io, "Inputs/Outputs")
            + _table("tensors", ["index", "name", "type", "shape", "shape_signature", "buffer", "quantization",
                                 "kind"], trows, "Tensors")
            + _table("ops", ["index", "op code", "inputs", "outputs"], orows, "Ops")
            + "</section>")
    brows = [[b[0], f"{b[1]} bytes" if b[1] else "--", f"<code>{_e(b[2])}</code>"] for b in d["buffers"]]
    crows = [[c[0], f"{_e(c[1])} ({c[2]})", _e(c[3]), c[4], c[5]] for c in d["opcodes"]]
    parts.append("<section class=\"global-tables\"><h2>Model</h2>"
                 + _table("buffers", ["index", "size", f"first {HEAD_BYTES} bytes"], brows, "Buffers")
                 + _table("opcodes", ["index", "builtin_code", "custom_code", "version", "deprecated_builtin_code"],
                          crows, "Operator codes")
                 + "</section>")
    return "\n".join(parts)


def _asset(name: str) -> str:
    return (ASSETS / name).read_text(encoding="utf-8")


def _script_json(obj: Any) -> str:
    """JSON safe inside a <script> element (no '<', '>' or '&' characters at all)."""
    text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def render_data(d: dict[str, Any]) -> str:
    """The page for :func:`model_data`'s result."""
    m = d["model"]
    title = f"{m['name']} - numlite visualize"
    n_ops = sum(len(s["ops"]) for s in d["subgraphs"])
    options = "".join(f"<option value=\"{s['index']}\">{s['index']}: {_e(s['name'] or '(unnamed)')} "
                      f"({len(s['ops'])} ops)</option>" for s in d["subgraphs"])
    sigs = "; ".join(f"{_e(s['key'])} (subgraph {s['subgraph']}): {_e(list(s['inputs']))} -&gt; "
                     f"{_e(list(s['outputs']))}" for s in d["signatures"]) or "none"
    head = (f"<table class=\"meta\"><tr><th>filename</th><td>{_e(m['name'])}</td></tr>"
            f"<tr><th>version</th><td>{m['version']}</td></tr>"
            f"<tr><th>description</th><td>{_e(m['description'])}</td></tr>"
            f"<tr><th>size</th><td>{m['bytes']:,} bytes</td></tr>"
            f"<tr><th>subgraphs / ops</th><td>{len(d['subgraphs'])} / {n_ops}</td></tr>"
            f"<tr><th>signatures</th><td>{sigs}</td></tr></table>")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)}</title>
<style>
{_asset("viewer.css")}
</style></head>
<body>
<header><h1>{_e(m['name'])}</h1>
<label>subgraph <select id="sg-select">{options}</select></label>
<input id="search" type="search" placeholder="search: op type, #index, tensor name" autocomplete="off">
<span id="search-status"></span>
<button id="fit" type="button" title="fit the graph in view">fit</button>
<span id="timing"></span></header>
<main>
<div id="graph-wrap"><svg id="graph" class="viewport" role="img" aria-label="model graph"></svg>
<div id="tooltip" hidden></div></div>
<aside id="panel"><p class="hint">Click an op or an edge (a tensor) to see its details.</p></aside>
</main>
<section id="memory"><h2>Memory plan <span id="plan-summary"></span></h2>
<p id="plan-note"></p>
<svg id="plan" class="viewport" role="img" aria-label="arena plan"></svg></section>
<section id="tables">{head}
{_tables_html(d)}
</section>
<footer>numlite visualize: self-contained page, no network needed.</footer>
<script type="application/json" id="numlite-data">{_script_json(d)}</script>
<script>
{_asset("viewer.js")}
</script>
</body></html>
"""


def render(path_or_model: Any) -> str:
    """The self-contained HTML page for a model (a path, the model's bytes or a loaded model)."""
    return render_data(model_data(path_or_model))


def visualize(model_path: str, out_path: str) -> dict[str, Any]:
    """Write the page for ``model_path`` to ``out_path``; return the summary the command prints."""
    out_dir = os.path.dirname(os.path.abspath(out_path))
    if os.path.isdir(out_path):
        raise CLIError(f"{out_path}: is a directory; give a file name for the page", USAGE)
    if not os.path.isdir(out_dir):
        raise CLIError(f"{out_path}: the directory {out_dir} does not exist", USAGE)
    d = model_data(model_path)
    text = render_data(d)
    try:
        with open(out_path, "w", encoding="utf-8") as f:
            f.write(text)
    except OSError as e:
        raise CLIError(f"{out_path}: cannot write the page ({e.strerror or e})", USAGE) from None
    summary_sgs = []
    for s in d["subgraphs"]:
        p = s["plan"]
        summary_sgs.append({"index": s["index"], "name": s["name"], "ops": len(s["ops"]),
                            "tensors": len(s["tensors"]), "layers": s["layout"]["layers"],
                            "crossings": s["layout"]["crossings"],
                            "plan": {"source": p["source"], "arena_bytes": p["arena_bytes"],
                                     "no_reuse_bytes": p["no_reuse_bytes"],
                                     "lower_bound_bytes": p["lower_bound_bytes"], "buffers": len(p["buffers"])},
                            **({"plan_note": p["note"]} if "note" in p else {})})
    return {"model": model_path, "output": out_path, "html_bytes": len(text.encode("utf-8")),
            "build_seconds": d["build_seconds"], "subgraphs": summary_sgs}


# -- command -----------------------------------------------------------------------------------
EPILOG = """examples:
  numlite visualize model.tflite -o model.html
  numlite visualize tests/data/tf/k3_lstm_while_float.tflite -o lstm.html --json
  numlite visualize model.tflite -o model.html && xdg-open model.html

The page reads location.hash: model.html#subgraph=0&select=op:3 opens with op 3 selected.

""" + EXIT_CODES_HELP


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("visualize", help="write one self-contained HTML page showing the model",
                       description="Write one self-contained HTML page (no network needed) with an interactive "
                                   "graph of the model, its tensor/op/buffer/op-code tables and the arena plan.",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", help="the .tflite file")
    p.add_argument("-o", "--output", required=True, metavar="OUT.html", help="where to write the page")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON document")
    p.set_defaults(func=command)


def command(args: argparse.Namespace) -> int:
    s = visualize(args.model, args.output)
    if args.json:
        print_json(s)
        return 0
    print(f"wrote {s['output']} ({s['html_bytes'] / 1e3:.1f} kB) for {s['model']} in {s['build_seconds']:.2f} s")
    for g in s["subgraphs"]:
        p = g["plan"]
        print(f"  subgraph {g['index']} '{g['name']}': {g['ops']} ops, {g['tensors']} tensors, {g['layers']} layers, "
              f"{g['crossings']} edge crossings; arena {p['arena_bytes']:,} bytes "
              f"({p['buffers']} buffers, {'numlite plan' if p['source'] == 'numlite' else 'estimated'})")
        if "plan_note" in g:
            print(f"    note: {g['plan_note']}")
    return 0
