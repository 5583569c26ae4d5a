"""Keras 3 front end, part two: attention layers and Keras operations called in functional
models (``keras.ops.*`` applied to Keras tensors, which appear in a Functional model's graph as
``Operation`` nodes rather than layers).

``LAYERS`` (merged into ``converter.keras.LAYERS``) and ``OPERATIONS`` (looked up for graph
nodes that are not Layers, by class name) map a class name to a function writing its ops, with
the same ``_Ctx`` interface as the layer converters in ``converter.keras``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import numpy as np

from .keras import _Ctx, _np, g_shape

LAYERS: dict[str, Callable[[_Ctx], list[int]]] = {}
OPERATIONS: dict[str, Callable[[_Ctx], list[int]]] = {}


# -- the graph node behind a converter call -----------------------------------------------------------
def _node(c: _Ctx) -> Any:
    """The Keras node this call converts (the one whose outputs are ``c.outs``)."""
    for node in c.layer._inbound_nodes:
        outs = list(node.output_tensors)
        if len(outs) == len(c.outs) and all(a is b for a, b in zip(outs, c.outs)):
            return node
    raise c.fail("its graph node was not found")


def _call_args(c: _Ctx) -> tuple[dict[str, Any], dict[int, int]]:
    """The node's call arguments by parameter name (defaults filled in) and a map from each
    Keras tensor among them (by ``id``) to its IR tensor."""
    node = _node(c)
    args = node.arguments
    bound = inspect.signature(type(c.layer).call).bind(c.layer, *args.args, **args.kwargs)
    bound.apply_defaults()
    named = dict(bound.arguments)
    named.pop("self", None)
    return named, {id(t): i for t, i in zip(node.input_tensors, c.inputs)}


def _is_tensor(v: Any) -> bool:
    return type(v).__name__ == "KerasTensor"


# -- MultiHeadAttention -------------------------------------------------------------------------------
#: the additive values Keras puts in masked logits: ``Softmax(mask=...)`` (the layer's explicit
#: path) and the NumPy / JAX ``dot_product_attention`` (its fused path)
_SOFTMAX_NEG = np.float32(-1e9)
_DOT_NEG = np.float32(3.38953e38 * -0.7)


def _reshape(c: _Ctx, x: int, shape: tuple[int | None, ...], suffix: str) -> int:
    """``x`` reshaped to Keras shape ``shape`` (a free dimension written -1: at most one)."""
    if sum(d is None for d in shape) > 1:
        raise c.fail(f"a reshape to {shape} with more than one free dimension (give the sequence a fixed length)")
    y = c.g.tensor(c.layer.name + suffix, shape)
    c.g.reshape(x, y, c.layer.name + suffix)
    return y


def _projection(c: _Ctx, x: int, dense: Any, suffix: str, contracted: int = 1) -> int:
    """An MHA EinsumDense ``[..., D] x [D, *rest] -> [..., prod(rest)]`` as FULLY_CONNECTED
    (``keep_num_dims`` above rank 2), the kernel flattened to [D, prod(rest)] and transposed
    (``contracted`` 2: the output projection's kernel [N, H, *rest], D = N * H)."""
    g = c.g
    if dense.get_config().get("activation") not in (None, "linear"):
        raise c.fail(f"the {suffix[1:]} projection has an activation")
    k = _np(dense.kernel)
    w = k.reshape(int(np.prod(k.shape[:contracted])), -1)
    b = _np(dense.bias).reshape(-1) if dense.bias is not None else None
    shape = g_shape(g, x)
    y = g.tensor(c.layer.name + suffix, (*shape[:-1], w.shape[1]))
    ins = [x, g.const(c.layer.name + suffix + "/kernel", w.T),
           g.const(c.layer.name + suffix + "/bias", b) if b is not None else -1]
    g.op("FULLY_CONNECTED", ins, [y], version=5 if len(shape) > 2 else 1, fused_activation_function="NONE",
         keep_num_dims=len(shape) > 2)
    return y


def _heads(c: _Ctx, x: int, batch: int | None, length: int | None, heads: int, dim: int, suffix: str) -> int:
    """[B, L, heads * dim] -> [B, heads, L, dim] (RESHAPE, TRANSPOSE)."""
    r = _reshape(c, x, (batch, length, heads, dim), suffix + "_split")
    y = c.g.tensor(c.layer.name + suffix + "_heads", (batch, heads, length, dim))
    c.g.op("TRANSPOSE", [r, c.g.const(c.layer.name + "/perm", np.array([0, 2, 1, 3], np.int32), np.int32)], [y])
    return y


def _flat(c: _Ctx, x: int, suffix: str) -> tuple[int, int | None]:
    """``x`` ([B, *axes, F]) as [B, prod(axes), F]: its attention axes made one."""
    shape = g_shape(c.g, x)
    if len(shape) == 3:
        return x, shape[1]
    mid = shape[1:-1]
    if any(d is None for d in mid):
        raise c.fail("free attention axes above rank 3")
    n = int(np.prod(mid))
    return _reshape(c, x, (shape[0], n, shape[-1]), suffix + "_flat"), n


def _mask(c: _Ctx, named: dict[str, Any], ir: dict[int, int], t: int | None, s: int | None) -> int | None:
    """The boolean [B or 1, 1, T, S] mask (attention_mask != 0, AND the causal and sliding
    window masks), or None."""
    g = c.g
    name = c.layer.name
    masks = []
    m = named.get("attention_mask")
    if m is not None:
        if not _is_tensor(m):
            raise c.fail("attention_mask must be a model tensor (an Input or a computed tensor)")
        x = ir[id(m)]
        if g.tensors[x].dtype is not np.bool_:
            b = g.tensor(name + "/attention_mask_bool", g_shape(g, x), np.bool_)
            g.op("NOT_EQUAL", [x, g.const(name + "/mask_zero", np.zeros((), g.tensors[x].dtype), g.tensors[x].dtype)],
                 [b])
            x = b
        if len(g_shape(g, x)) != 3:
            raise c.fail(f"attention_mask of shape {g_shape(g, x)}: [batch, T, S] converts")
        e = g.tensor(name + "/attention_mask_heads", (g_shape(g, x)[0], 1, *g_shape(g, x)[1:]), np.bool_)
        g.op("EXPAND_DIMS", [x, g.const(name + "/heads_axis", np.array([1], np.int32), np.int32)], [e])
        masks.append(e)
    window = c.cfg.get("sliding_window")
    if named.get("use_causal_mask") or window is not None:
        if t is None or s is None:
            raise c.fail("use_causal_mask / sliding_window with a free sequence length")
        rows, cols = np.arange(t)[:, None], np.arange(s)[None, :]
        fixed = np.ones((t, s), bool)
        if named.get("use_causal_mask"):
            fixed &= rows >= cols
        if window is not None:
            fixed &= np.abs(rows - cols) < int(window)
        masks.append(g.const(name + "/causal_mask", fixed[None, None], np.bool_))
    if not masks:
        return None
    if len(masks) == 2:
        both = g.tensor(name + "/mask", (g_shape(g, masks[0])[0], 1, t, s), np.bool_)
        g.op("LOGICAL_AND", masks, [both])
        return both
    return masks[0]


def _multi_head_attention(c: _Ctx) -> list[int]:
    """MultiHeadAttention as Keras computes it at inference (dropout off):

    1. query / key / value projections: FULLY_CONNECTED (kernel [D, N, H] flattened), each
       reshaped to [B, L, N, H] and transposed to [B, N, L, H]; inputs above rank 3 (attention
       over every axis between batch and features, Keras's default) first flattened to one axis.
    2. scores: BATCH_MATMUL(q, k, adj_y) scaled by 1 / sqrt(key_dim) - on the query before the
       product on Keras's explicit path (``return_attention_scores``, dropout, rank above 3),
       on the logits after it on its fused ``dot_product_attention`` path - as Keras does.
    3. mask (attention_mask != 0, the causal and sliding-window triangles, ANDed): SELECT_V2 of
       the logits and Keras's large negative (-1e9 on the explicit path, -0.7 * 3.38953e38 on
       the fused one); SOFTMAX; on the explicit path the masked probabilities then zero (a
       wholly masked row gives zeros there, uniform weights on the fused path).
    4. BATCH_MATMUL(probabilities, v), TRANSPOSE, RESHAPE to [B, L, N * Hv], the output
       projection (FULLY_CONNECTED), RESHAPE to ``output_shape`` when it has several dimensions.
    The batch may be free; the sequence lengths too when the batch is fixed.
    """
    named, ir = _call_args(c)
    cfg, ly, g, name = c.cfg, c.layer, c.g, c.layer.name
    if cfg.get("use_gate"):
        raise c.fail("use_gate=True")
    if getattr(ly, "_flash_attention", None):
        raise c.fail("flash_attention=True")
    for k in ("query_mask", "value_mask", "key_mask"):
        if named.get(k) is not None:
            raise c.fail(f"{k} (pass attention_mask instead)")
    query, value = named["query"], named["value"]
    key = named.get("key")
    key = value if key is None else key
    for t in (query, value, key):
        if not _is_tensor(t):
            raise c.fail("query, value and key must be model tensors")
        if getattr(t, "_keras_mask", None) is not None:
            raise c.fail("an input carries a Keras mask (mask_zero=True / Masking): pass attention_mask instead")
    rank = len(query.shape)
    axes = tuple(int(a) % (rank + 1) for a in ly._attention_axes)
    if axes != tuple(range(1, rank - 1)):
        raise c.fail(f"attention_axes {cfg.get('attention_axes')}: numlite converts attention over all the axes "
                     "between the batch and the features")
    scores_out = bool(named.get("return_attention_scores"))
    explicit = float(cfg.get("dropout") or 0.0) > 0.0 or scores_out or rank != 3
    heads, kdim = int(cfg["num_heads"]), int(cfg["key_dim"])
    vdim = int(cfg.get("value_dim") or kdim)
    scale = np.float32(ly._inverse_sqrt_key_dim)

    q_in, t = _flat(c, ir[id(query)], "/query_input")
    k_in, s = _flat(c, ir[id(key)], "/key_input")
    v_in, _ = _flat(c, ir[id(value)], "/value_input")
    if rank != 3 and (named.get("attention_mask") is not None or named.get("use_causal_mask")
                      or cfg.get("sliding_window") is not None):
        raise c.fail("masks with inputs above rank 3")
    batch = g_shape(g, q_in)[0]
    q = _projection(c, q_in, ly._query_dense, "/query")
    if explicit:
        qs = g.tensor(name + "/query_scaled", g_shape(g, q))
        g.op("MUL", [q, g.const(name + "/scale", scale)], [qs], fused_activation_function="NONE")
        q = qs
    qh = _heads(c, q, batch, t, heads, kdim, "/query")
    kh = _heads(c, _projection(c, k_in, ly._key_dense, "/key"), batch, s, heads, kdim, "/key")
    vh = _heads(c, _projection(c, v_in, ly._value_dense, "/value"), batch, s, heads, vdim, "/value")
    logits = g.tensor(name + "/logits", (batch, heads, t, s))
    g.op("BATCH_MATMUL", [qh, kh], [logits], adj_x=False, adj_y=True, asymmetric_quantize_inputs=False)
    if not explicit:
        scaled = g.tensor(name + "/logits_scaled", (batch, heads, t, s))
        g.op("MUL", [logits, g.const(name + "/scale", scale)], [scaled], fused_activation_function="NONE")
        logits = scaled
    mask = _mask(c, named, ir, t, s)
    if mask is not None:
        masked = g.tensor(name + "/logits_masked", (batch, heads, t, s))
        g.op("SELECT_V2", [mask, logits, g.const(name + "/large_negative", _SOFTMAX_NEG if explicit else _DOT_NEG)],
             [masked])
        logits = masked
    probs = g.tensor(name + "/attention_scores", (batch, heads, t, s))
    g.op("SOFTMAX", [logits], [probs], beta=1.0)
    if mask is not None and explicit:
        zeroed = g.tensor(name + "/attention_scores_masked", (batch, heads, t, s))
        g.op("SELECT_V2", [mask, probs, g.const(name + "/zero", np.float32(0.0))], [zeroed])
        probs = zeroed
    ctx = g.tensor(name + "/context_heads", (batch, heads, t, vdim))
    g.op("BATCH_MATMUL", [probs, vh], [ctx], adj_x=False, adj_y=False, asymmetric_quantize_inputs=False)
    ctx_t = g.tensor(name + "/context_transposed", (batch, t, heads, vdim))
    g.op("TRANSPOSE", [ctx, g.const(name + "/perm", np.array([0, 2, 1, 3], np.int32), np.int32)], [ctx_t])
    merged = _reshape(c, ctx_t, (*g_shape(g, ir[id(query)])[:-1], heads * vdim), "/context")
    out = _projection(c, merged, ly._output_dense, "/attention_output", 2)
    final = tuple(c.outs[0].shape)
    if g_shape(g, out) != final:
        out = _reshape(c, out, final, "/output")
    g.tensors[out].name = g._unique(name)
    if not scores_out:
        return [out]
    q_axes, k_axes = tuple(query.shape[1:-1]), tuple(key.shape[1:-1])
    if rank != 3:
        probs = _reshape(c, probs, (batch, heads, *q_axes, *k_axes), "/attention_scores_full")
    return [out, probs]


LAYERS["MultiHeadAttention"] = _multi_head_attention
