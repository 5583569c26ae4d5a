"""Keras 3 front end, part two: attention layers and Keras operations called in functional
models (``keras.ops.*`` applied to Keras tensors, which appear in a Functional model's graph as
``Operation`` nodes rather than layers).

``LAYERS`` (merged into ``converter.keras.LAYERS``) and ``OPERATIONS`` (looked up for graph
nodes that are not Layers, by class name) map a class name to a function writing its ops, with
the same ``_Ctx`` interface as the layer converters in ``converter.keras``.  A node's call
arguments (Python scalars and constant arrays among them: they become constants) are read from
the node itself (``node.arguments``), bound to the operation's ``call`` parameters.

Layers: MultiHeadAttention (query / value / key, ``num_heads``, ``key_dim``, ``value_dim``,
``use_bias``, ``output_shape`` of any rank, ``dropout`` ignored, ``attention_mask`` input of
[batch, T, S] or [batch, 1, S] (any dtype: != 0 attends), ``use_causal_mask``,
``sliding_window`` (constants for static lengths, else built at run time from the inputs'
lengths: RANGE, comparisons), ``return_attention_scores``; inputs above rank 3 when attending
over every axis between batch and features, Keras's default).  Refused, naming the layer: other
``attention_axes``, ``use_gate``, ``flash_attention``, Keras masks carried by the inputs
(``mask_zero``), free attention axes above rank 3.  A free batch and free sequence lengths
together convert: the heads' reshapes take both sizes from the inputs at run time
(``Graph.reshape``).

Operations: Add, Subtract, Multiply, TrueDivide / Divide, Power, Maximum, Minimum,
SquaredDifference, Greater(Equal), Less(Equal), Equal, NotEqual, LogicalAnd / Or / Not (with
broadcasting; mixed dtypes through CAST to Keras's result dtype); Matmul (BATCH_MATMUL);
Negative, Exp, Log, Sqrt, Rsqrt, Square, Absolute, Sign, Floor, Ceil, Sin, Cos, Tanh, Sigmoid,
Relu, Relu6, Elu (alpha 1), LeakyRelu, Silu, Gelu (both forms), Erf (composed: TFLite has no ERF op;
Abramowitz & Stegun 7.1.26, absolute error at most 1.5e-7); Softmax and LogSoftmax on one axis
(another than the last through TRANSPOSE); Mean, Sum, Max, Min, Prod (``axis`` None or any,
``keepdims``); Reshape (one free dimension at most), Transpose, ExpandDims, Squeeze,
Concatenate, Stack, Split (sections or indices), Take (GATHER; constant indices wrap as NumPy's),
Cast, Clip, Where (three-argument form), GetItem (integers, slices with steps, None, ``...``),
ZerosLike / OnesLike / FullLike, Cumsum.  An operation whose tensor inputs are all constants
is computed at conversion (by Keras) and written as a constant.  Any other operation raises
``ConversionError`` naming it and its class, and so does an unsupported argument.

A learned position embedding that converts: positions as a model tensor, e.g.
``ops.zeros_like(tokens) + ops.arange(maxlen)`` fed to an ``Embedding(maxlen, d)`` (the
position table stays a weight; ``Embedding(...)(ops.arange(maxlen))`` alone would be a constant
computed once while the model is built).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import numpy as np

from . import ConversionError
from .keras import _Ctx, _np, fits, g_shape

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


def _reshape(c: _Ctx, x: int, shape: tuple[int | None, ...], suffix: str, like: int | None = None) -> int:
    """``x`` reshaped to Keras shape ``shape`` (``Graph.reshape``: two free dimensions or more,
    the batch and a sequence length, take their sizes at run time from ``x``'s, or from
    ``like``'s, whose free dimensions ``shape``'s are in order)."""
    y = c.g.tensor(c.layer.name + suffix, shape)
    c.g.reshape(x, y, c.layer.name + suffix, like)
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
    fits(c, f"{suffix[1:]} projection", shape[-1], w.shape[0])
    y = g.tensor(c.layer.name + suffix, (*shape[:-1], w.shape[1]))
    ins = [x, g.const(c.layer.name + suffix + "/kernel", w.T),
           g.const(c.layer.name + suffix + "/bias", b) if b is not None else -1]
    g.op("FULLY_CONNECTED", ins, [y], version=5 if len(shape) > 2 else 1, fused_activation_function="NONE",
         keep_num_dims=len(shape) > 2)
    return y


def _heads(c: _Ctx, x: int, batch: int | None, length: int | None, heads: int, dim: int, suffix: str,
           like: int) -> int:
    """[B, L, heads * dim] -> [B, heads, L, dim] (RESHAPE, TRANSPOSE); free B and L: the sizes
    of ``like`` (the projection's input: one SHAPE op for query, key and value of self-attention)."""
    r = _reshape(c, x, (batch, length, heads, dim), suffix + "_split", like)
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


def _positions(c: _Ctx, x: int, length: int | None, shape: tuple[int, ...], tag: str) -> int:
    """The positions ``0 .. L-1`` of ``x``'s sequence axis (1) as an int32 tensor of ``shape``
    (one -1: where they go): a constant for a static ``length``, else RANGE up to ``x``'s length
    at run time (SHAPE, STRIDED_SLICE, SQUEEZE to a scalar), RESHAPE into place."""
    g, name = c.g, c.layer.name
    if length is not None:
        return g.const(f"{name}/{tag}", np.arange(length, dtype=np.int32).reshape(shape), np.int32)
    n = g.tensor(f"{name}/{tag}_length", (), np.int32)
    g.op("SQUEEZE", [g.dynamic_shape(x, [(1,)], f"{name}/{tag}_length")], [n], squeeze_dims=[0])
    r = g.tensor(f"{name}/{tag}_range", (None,), np.int32)
    g.op("RANGE", [g.const(name + "/range_start", np.int32(0), np.int32), n,
                   g.const(name + "/range_delta", np.int32(1), np.int32)], [r])
    y = g.tensor(f"{name}/{tag}", tuple(None if d == -1 else d for d in shape), np.int32)
    g.reshape(r, y, f"{name}/{tag}")
    return y


def _position_mask(c: _Ctx, named: dict[str, Any], q: int, v: int, t: int | None, s: int | None) -> int:
    """Keras's causal (query position >= key position) and sliding-window
    (``|query position - key position| < window``) masks, ANDed, as a bool [1, 1, T, S]: a
    constant for static lengths, else computed at run time from the query's and value's
    lengths (``_positions``; GREATER_EQUAL, SUB, LESS / GREATER, LOGICAL_AND broadcasting
    [1, 1, T, 1] against [1, 1, 1, S])."""
    g, name = c.g, c.layer.name
    window = c.cfg.get("sliding_window")
    causal = bool(named.get("use_causal_mask"))
    if t is not None and s is not None:
        rows, cols = np.arange(t)[:, None], np.arange(s)[None, :]
        fixed = np.ones((t, s), bool)
        if causal:
            fixed &= rows >= cols
        if window is not None:
            fixed &= np.abs(rows - cols) < int(window)
        return g.const(name + "/causal_mask", fixed[None, None], np.bool_)
    rows = _positions(c, q, t, (1, 1, -1, 1), "query_positions")
    cols = _positions(c, v, s, (1, 1, 1, -1), "key_positions")
    shape = (1, 1, t, s)
    parts = []

    def compare(op: str, a: int, b: int, tag: str) -> int:
        y = g.tensor(f"{name}/{tag}", shape, np.bool_)
        g.op(op, [a, b], [y])
        parts.append(y)
        return y

    if causal:
        compare("GREATER_EQUAL", rows, cols, "causal_mask")
    if window is not None:
        d = g.tensor(name + "/position_difference", shape, np.int32)
        g.op("SUB", [rows, cols], [d], fused_activation_function="NONE")
        w = int(window)
        compare("LESS", d, g.const(name + "/window", np.int32(w), np.int32), "window_before")
        compare("GREATER", d, g.const(name + "/minus_window", np.int32(-w), np.int32), "window_after")
    while len(parts) > 1:
        y = g.tensor(name + "/position_mask", shape, np.bool_)
        g.op("LOGICAL_AND", parts[:2], [y])
        parts[:2] = [y]
    return parts[0]


def _mask(c: _Ctx, named: dict[str, Any], ir: dict[int, int], q: int, v: int, t: int | None,
          s: int | None) -> int | None:
    """The boolean [B or 1, 1, T, S] mask (attention_mask != 0, AND the causal and sliding
    window masks of query ``q`` and value ``v``: ``_position_mask``), or None."""
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
    if named.get("use_causal_mask") or c.cfg.get("sliding_window") is not None:
        masks.append(_position_mask(c, named, q, v, t, s))
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
    The batch and the sequence lengths may be free (together: the reshapes' shapes are made at
    run time from the query / key / value inputs' SHAPE).
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
    qh = _heads(c, q, batch, t, heads, kdim, "/query", q_in)
    kh = _heads(c, _projection(c, k_in, ly._key_dense, "/key"), batch, s, heads, kdim, "/key", k_in)
    vh = _heads(c, _projection(c, v_in, ly._value_dense, "/value"), batch, s, heads, vdim, "/value", v_in)
    logits = g.tensor(name + "/logits", (batch, heads, t, s))
    g.op("BATCH_MATMUL", [qh, kh], [logits], adj_x=False, adj_y=True, asymmetric_quantize_inputs=False)
    if not explicit:
        scaled = g.tensor(name + "/logits_scaled", (batch, heads, t, s))
        g.op("MUL", [logits, g.const(name + "/scale", scale)], [scaled], fused_activation_function="NONE")
        logits = scaled
    mask = _mask(c, named, ir, q_in, v_in, t, s)
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
    merged = _reshape(c, ctx_t, (*g_shape(g, ir[id(query)])[:-1], heads * vdim), "/context", q_in)
    out = _projection(c, merged, ly._output_dense, "/attention_output", 2)
    final = tuple(c.outs[0].shape)
    if g_shape(g, out) != final:
        out = _reshape(c, out, final, "/output", q_in)
    g.tensors[out].name = g._unique(name)
    if not scores_out:
        return [out]
    q_axes, k_axes = tuple(query.shape[1:-1]), tuple(key.shape[1:-1])
    if rank != 3:
        probs = _reshape(c, probs, (batch, heads, *q_axes, *k_axes), "/attention_scores_full")
    return [out, probs]


LAYERS["MultiHeadAttention"] = _multi_head_attention


# -- Keras operations -----------------------------------------------------------------------------------
_Named = dict[str, Any]
_OpFn = Callable[[_Ctx, _Named, dict[int, int]], list[int]]


def _dtype(kt: Any) -> type:
    """The IR type of Keras tensor ``kt``: its own, except float32 for every float type (float16,
    bfloat16, float64: the converter computes them in float32, as it converts the layers of a
    float16 dtype policy; TFLite's kernels take float32)."""
    name = str(kt.dtype)
    if name.startswith(("float", "bfloat")):
        return np.float32
    try:
        return np.dtype(name).type
    except TypeError:
        raise ConversionError(f"Keras tensor {getattr(kt, 'name', '')!r} of dtype {name!r}: no TFLite type") from None


def _out(c: _Ctx, k: int = 0, suffix: str = "") -> int:
    """Output ``k`` of the operation (its Keras shape and dtype)."""
    t = c.outs[k]
    return c.g.tensor(c.layer.name + suffix, t.shape, _dtype(t))


def _const_value(v: Any) -> np.ndarray:
    import keras

    return np.asarray(keras.ops.convert_to_numpy(v))


def _operand(c: _Ctx, v: Any, ir: dict[int, int], dtype: Any, what: str = "operand") -> int:
    """``v`` (a Keras tensor, or a Python scalar / array constant) as an IR tensor of ``dtype``
    (a Keras tensor of another dtype through CAST)."""
    g = c.g
    want = np.dtype(dtype).type
    if not _is_tensor(v):
        if v is None:
            raise c.fail(f"{what} None")
        return g.const(f"{c.layer.name}/{what}", _const_value(v).astype(want), want)
    x = ir[id(v)]
    if g.tensors[x].dtype is want:
        return x
    y = g.tensor(f"{c.layer.name}/{what}_{np.dtype(want).name}", g_shape(g, x), want)
    if want is np.bool_:  # Keras's cast to bool: != 0 (TFLite's CAST does the same, spelled out here)
        g.op("NOT_EQUAL", [x, g.const(c.layer.name + "/zero", np.zeros((), g.tensors[x].dtype), g.tensors[x].dtype)],
             [y])
    else:
        g.op("CAST", [x], [y])
    return y


def _substitute(v: Any, c: _Ctx, ir: dict[int, int]) -> Any:
    if _is_tensor(v):
        return c.g.tensors[ir[id(v)]].data
    if isinstance(v, (list, tuple)):
        return type(v)(_substitute(a, c, ir) for a in v)
    return v


def _fold(c: _Ctx, named: _Named, ir: dict[int, int]) -> list[int]:
    """An operation whose tensor inputs are all constants: computed now (by Keras itself),
    written as constants."""
    res = type(c.layer).call(c.layer, **{k: _substitute(v, c, ir) for k, v in named.items()})
    vals = list(res) if isinstance(res, (list, tuple)) else [res]
    return [c.g.const(c.layer.name, _const_value(v).astype(_dtype(t)), _dtype(t)) for v, t in zip(vals, c.outs)]


def _operation(fn: _OpFn) -> Callable[[_Ctx], list[int]]:
    def convert(c: _Ctx) -> list[int]:
        def fail(what: str) -> ConversionError:
            return ConversionError(f"cannot convert operation {c.layer.name!r} ({type(c.layer).__name__}): {what}")
        c.fail = fail  # type: ignore[method-assign]
        named, ir = _call_args(c)
        if c.inputs and all(c.g.tensors[i].data is not None for i in c.inputs):
            return _fold(c, named, ir)
        return fn(c, named, ir)
    convert.__doc__ = fn.__doc__
    return convert


def _axis(c: _Ctx, axis: Any, rank: int) -> int:
    if not isinstance(axis, (int, np.integer)) or not -rank <= axis < rank:
        raise c.fail(f"axis {axis!r} (one axis of a rank-{rank} tensor converts)")
    return int(axis) % rank


def _ints(name: str, c: _Ctx, values: Any) -> int:
    return c.g.const(f"{c.layer.name}/{name}", np.asarray(values, np.int32).reshape(-1), np.int32)


def _first(named: _Named) -> Any:
    return next(iter(named.values()))


def _unary(op: str, **options: Any) -> _OpFn:
    def convert(c: _Ctx, named: _Named, ir: dict[int, int]) -> list[int]:
        y = _out(c)
        c.g.op(op, [_operand(c, _first(named), ir, c.g.tensors[y].dtype, "x")], [y], **options)
        return [y]
    return convert


_BINARY = {"Add": "ADD", "Subtract": "SUB", "Multiply": "MUL", "TrueDivide": "DIV", "Divide": "DIV",
           "Maximum": "MAXIMUM", "Minimum": "MINIMUM", "Power": "POW", "SquaredDifference": "SQUARED_DIFFERENCE"}
_COMPARE = {"Greater": "GREATER", "GreaterEqual": "GREATER_EQUAL", "Less": "LESS", "LessEqual": "LESS_EQUAL",
            "Equal": "EQUAL", "NotEqual": "NOT_EQUAL"}
_LOGICAL = {"LogicalAnd": "LOGICAL_AND", "LogicalOr": "LOGICAL_OR"}


def _binary(op: str) -> _OpFn:
    """Elementwise with broadcasting; operands in the result's dtype (comparisons: in the dtype
    Keras compares in; logical ops: bool)."""
    def convert(c: _Ctx, named: _Named, ir: dict[int, int]) -> list[int]:
        import keras

        a, b = named["x1"], named["x2"]
        y = _out(c)
        if op in _COMPARE.values():
            dt = keras.backend.result_type(*(v.dtype if _is_tensor(v) else type(v) if isinstance(v, (bool, int, float))
                                             else _const_value(v).dtype for v in (a, b)))
        else:
            dt = c.g.tensors[y].dtype
        options = {"fused_activation_function": "NONE"} if op in ("ADD", "SUB", "MUL", "DIV") else {}
        c.g.op(op, [_operand(c, a, ir, dt, "x1"), _operand(c, b, ir, dt, "x2")], [y], **options)
        return [y]
    return convert


def _matmul(c: _Ctx, named: _Named, ir: dict[int, int]) -> list[int]:
    """BATCH_MATMUL (both operands of rank 2 or more; batch dimensions broadcast)."""
    a, b = named["x1"], named["x2"]
    y = _out(c)
    dt = c.g.tensors[y].dtype
    x1, x2 = _operand(c, a, ir, dt, "x1"), _operand(c, b, ir, dt, "x2")
    if min(len(c.g.tensors[x1].shape), len(c.g.tensors[x2].shape)) < 2:
        raise c.fail("matmul with a rank-1 operand (expand it to a matrix first)")
    c.g.op("BATCH_MATMUL", [x1, x2], [y], adj_x=False, adj_y=False, asymmetric_quantize_inputs=False)
    return [y]


def _last_axis(op: str, **options: Any) -> _OpFn:
    """An op over the last axis (SOFTMAX, LOG_SOFTMAX); another axis: TRANSPOSE it last and back."""
    def convert(c: _Ctx, named: _Named, ir: dict[int, int]) -> list[int]:
        g = c.g
        y = _out(c)
        x = _operand(c, _first(named), ir, g.tensors[y].dtype, "x")
        shape = g_shape(g, x)
        axis = _axis(c, getattr(c.layer, "axis", -1), len(shape))
        if axis == len(shape) - 1:
            g.op(op, [x], [y], **options)
            return [y]
        perm = list(range(len(shape)))
        perm[axis], perm[-1] = perm[-1], perm[axis]
        moved = tuple(shape[p] for p in perm)
        t, r = g.tensor(c.layer.name + "/moved", moved), g.tensor(c.layer.name + "/moved_" + op.lower(), moved)
        g.op("TRANSPOSE", [x, _ints("perm", c, perm)], [t])
        g.op(op, [t], [r], **options)
        g.op("TRANSPOSE", [r, _ints("perm", c, perm)], [y])
        return [y]
    return convert


def _chain(c: _Ctx, x: int, steps: list[tuple[str, Any]], y: int) -> int:
    """``x`` through unary ops and ops with a float32 constant operand (``(op, value)``), the
    last into ``y``."""
    g = c.g
    for k, (op, value) in enumerate(steps):
        out = y if k == len(steps) - 1 else g.tensor(f"{c.layer.name}/{op.lower()}{k}", g_shape(g, x))
        ins = [x] if value is None else [x, g.const(f"{c.layer.name}/c{k}", np.float32(value))]
        options = {"fused_activation_function": "NONE"} if op in ("ADD", "SUB", "MUL", "DIV") else {}
        g.op(op, ins, [out], **options)
        x = out
    return x


#: Abramowitz & Stegun 7.1.26: erf(x) = 1 - t (a1 + t (a2 + ... + t a5)) exp(-x^2),
#: t = 1 / (1 + p |x|), for x >= 0 (odd): absolute error at most 1.5e-7
_ERF_P = 0.3275911
_ERF_A = (0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429)


def _erf(c: _Ctx, named: _Named, ir: dict[int, int]) -> list[int]:
    """erf (TFLite has no ERF op) composed as Abramowitz & Stegun 7.1.26 (absolute error at
    most 1.5e-7): ABS, MUL, ADD, DIV, a Horner polynomial, SQUARE, NEG, EXP, SIGN."""
    g = c.g
    y = _out(c)
    x = _operand(c, _first(named), ir, np.float32, "x")
    shape = g_shape(g, x)
    a = g.tensor(c.layer.name + "/abs", shape)
    g.op("ABS", [x], [a])
    d = _chain(c, a, [("MUL", _ERF_P), ("ADD", 1.0)], g.tensor(c.layer.name + "/denominator", shape))
    t = g.tensor(c.layer.name + "/t", shape)
    g.op("DIV", [g.const(c.layer.name + "/one", np.float32(1.0)), d], [t], fused_activation_function="NONE")
    acc = g.tensor(c.layer.name + "/poly5", shape)
    g.op("MUL", [t, g.const(c.layer.name + "/a5", np.float32(_ERF_A[4]))], [acc], fused_activation_function="NONE")
    for k in (3, 2, 1, 0):
        s, m = g.tensor(c.layer.name + f"/poly{k + 1}_sum", shape), g.tensor(c.layer.name + f"/poly{k}", shape)
        g.op("ADD", [acc, g.const(c.layer.name + f"/a{k + 1}", np.float32(_ERF_A[k]))], [s],
             fused_activation_function="NONE")
        g.op("MUL", [s, t], [m], fused_activation_function="NONE")
        acc = m
    e = _chain(c, x, [("SQUARE", None), ("NEG", None), ("EXP", None)], g.tensor(c.layer.name + "/gauss", shape))
    pe = g.tensor(c.layer.name + "/tail", shape)
    g.op("MUL", [acc, e], [pe], fused_activation_function="NONE")
    pos = g.tensor(c.layer.name + "/erf_abs", shape)
    g.op("SUB", [g.const(c.layer.name + "/one", np.float32(1.0)), pe], [pos], fused_activation_function="NONE")
    sg = g.tensor(c.layer.name + "/sign", shape)
    g.op("SIGN", [x], [sg])
    g.op("MUL", [pos, sg], [y], fused_activation_function="NONE")
    return [y]


def _silu(c: _Ctx, named: _Named, ir: dict[int, int]) -> list[int]:
    g = c.g
    y = _out(c)
    x = _operand(c, _first(named), ir, np.float32, "x")
    s = g.tensor(c.layer.name + "/sigmoid", g_shape(g, x))
    g.op("LOGISTIC", [x], [s])
    g.op("MUL", [x, s], [y], fused_activation_function="NONE")
    return [y]


def _gelu(c: _Ctx, named: _Named, ir: dict[int, int]) -> list[int]:
    y = _out(c)
    c.g.op("GELU", [_operand(c, _first(named), ir, np.float32, "x")], [y], approximate=bool(c.layer.approximate))
    return [y]


def _leaky_relu(c: _Ctx, named: _Named, ir: dict[int, int]) -> list[int]:
    y = _out(c)
    c.g.op("LEAKY_RELU", [_operand(c, _first(named), ir, np.float32, "x")], [y],
           alpha=float(c.layer.negative_slope))
    return [y]


def _reduce(op: str) -> _OpFn:
    """MEAN / SUM / REDUCE_MAX / REDUCE_MIN / REDUCE_PROD over ``axis`` (None: all), ``keepdims``."""
    def convert(c: _Ctx, named: _Named, ir: dict[int, int]) -> list[int]:
        if getattr(c.layer, "initial", None) is not None:
            raise c.fail("initial= (a starting value for the reduction)")
        y = _out(c)
        x = _operand(c, _first(named), ir, c.g.tensors[y].dtype, "x")
        rank = len(c.g.tensors[x].shape)
        axis = c.layer.axis
        axes = list(range(rank)) if axis is None else [_axis(c, a, rank) for a in
                                                         (axis if isinstance(axis, (list, tuple)) else [axis])]
        c.g.op(op, [x, _ints("axes", c, sorted(set(axes)))], [y], keep_dims=bool(c.layer.keepdims))
        return [y]
    return convert


def _reshape_op(c: _Ctx, named: _Named, ir: dict[int, int]) -> list[int]:
    """RESHAPE to ``newshape`` (one -1 at most; the batch's place written -1 when it is free
    and ``newshape`` names no -1)."""
    g = c.g
    x = ir[id(named["x"])]
    y = _out(c)
    shape = c.layer.newshape
    if not isinstance(shape, (list, tuple)) or not all(
            d is None or (isinstance(d, (int, np.integer)) and not isinstance(d, bool)) for d in shape):
        raise c.fail(f"newshape {shape!r} (integers convert)")  # a loaded file may hold anything there
    new = [-1 if d is None else int(d) for d in shape]
    if new.count(-1) == 0:
        new = list(g.tensors[y].signature)
    if new.count(-1) > 1:
        raise c.fail(f"newshape {tuple(c.layer.newshape)} with more than one free dimension")
    g.op("RESHAPE", [x, _ints("shape", c, new)], [y], new_shape=new)
    return [y]


def _transpose(c: _Ctx, named: _Named, ir: dict[int, int]) -> list[int]:
    x = ir[id(named["x"])]
    rank = len(c.g.tensors[x].shape)
    axes = c.layer.axes
    perm = list(range(rank))[::-1] if axes is None else [_axis(c, a, rank) for a in axes]
    y = _out(c)
    c.g.op("TRANSPOSE", [x, _ints("perm", c, perm)], [y])
    return [y]


def _expand_dims(c: _Ctx, named: _Named, ir: dict[int, int]) -> list[int]:
    g = c.g
    x = ir[id(named["x"])]
    axis = c.layer.axis
    out_rank = len(c.outs[0].shape)
    axes = sorted(_axis(c, a, out_rank) for a in (axis if isinstance(axis, (list, tuple)) else [axis]))
    shape = list(g_shape(g, x))
    for k, a in enumerate(axes):
        shape.insert(a, 1)
        y = _out(c) if k == len(axes) - 1 else g.tensor(c.layer.name + f"/expanded{k}", shape, g.tensors[x].dtype)
        g.op("EXPAND_DIMS", [x, _ints("axis", c, [a])], [y])
        x = y
    return [x]


def _squeeze(c: _Ctx, named: _Named, ir: dict[int, int]) -> list[int]:
    x = ir[id(named["x"])]
    shape = named["x"].shape
    axis = c.layer.axis
    if axis is None:
        axes = [k for k, d in enumerate(shape) if d == 1]
    else:
        axes = [_axis(c, a, len(shape)) for a in (axis if isinstance(axis, (list, tuple)) else [axis])]
    y = _out(c)
    c.g.op("SQUEEZE", [x], [y], squeeze_dims=axes)
    return [y]


def _concatenate(c: _Ctx, named: _Named, ir: dict[int, int]) -> list[int]:
    y = _out(c)
    rank = len(c.outs[0].shape)
    if c.layer.axis is None:
        raise c.fail("axis=None (flattening concatenate)")
    xs = [_operand(c, v, ir, c.g.tensors[y].dtype, f"x{k}") for k, v in enumerate(named["xs"])]
    c.g.op("CONCATENATION", xs, [y], axis=_axis(c, c.layer.axis, rank), fused_activation_function="NONE")
    return [y]


def _stack(c: _Ctx, named: _Named, ir: dict[int, int]) -> list[int]:
    y = _out(c)
    xs = [_operand(c, v, ir, c.g.tensors[y].dtype, f"x{k}") for k, v in enumerate(named["x"])]
    c.g.op("PACK", xs, [y], values_count=len(xs), axis=_axis(c, c.layer.axis, len(c.outs[0].shape)))
    return [y]


def _split(c: _Ctx, named: _Named, ir: dict[int, int]) -> list[int]:
    """SPLIT (equal sections) or SPLIT_V (at indices)."""
    x = ir[id(named["x"])]
    shape = named["x"].shape
    axis = _axis(c, c.layer.axis, len(shape))
    outs = [_out(c, k, f"_{k}") for k in range(len(c.outs))]
    sec = c.layer.indices_or_sections
    if isinstance(sec, (int, np.integer)):
        c.g.op("SPLIT", [c.g.const(c.layer.name + "/axis", np.int32(axis), np.int32), x], outs, num_splits=int(sec))
        return outs
    if shape[axis] is None:
        raise c.fail("split at indices along a free axis")
    bounds = [0, *[int(i) for i in sec], int(shape[axis])]
    sizes = [b - a for a, b in zip(bounds, bounds[1:])]
    c.g.op("SPLIT_V", [x, _ints("size_splits", c, sizes), c.g.const(c.layer.name + "/axis", np.int32(axis), np.int32)],
           outs, num_splits=len(sizes))
    return outs


def _take(c: _Ctx, named: _Named, ir: dict[int, int]) -> list[int]:
    """GATHER along ``axis``; constant indices wrap like NumPy's, tensor indices must lie in
    range (TFLite's GATHER refuses others)."""
    x = ir[id(named["x"])]
    shape = named["x"].shape
    if c.layer.axis is None:
        raise c.fail("axis=None (take from the flattened tensor)")
    axis = _axis(c, c.layer.axis, len(shape))
    idx = named["indices"]
    if _is_tensor(idx):
        i = ir[id(idx)]
        if c.g.tensors[i].dtype not in (np.int32, np.int64):
            i = _operand(c, idx, ir, np.int32, "indices")
    else:
        v = _const_value(idx).astype(np.int64)
        if shape[axis] is not None:
            v = v % int(shape[axis])
        elif (v < 0).any():
            raise c.fail("negative constant indices along a free axis")
        i = c.g.const(c.layer.name + "/indices", v.astype(np.int32), np.int32)
    y = _out(c)
    c.g.op("GATHER", [x, i], [y], axis=axis, batch_dims=0)
    return [y]


def _cast(c: _Ctx, named: _Named, ir: dict[int, int]) -> list[int]:
    """CAST (to bool: NOT_EQUAL 0, as Keras casts); to the same dtype: a copy."""
    g = c.g
    y = _out(c)
    x = ir[id(named["x"])]
    if g.tensors[x].dtype is g.tensors[y].dtype:
        g.reshape(x, y, c.layer.name)
    elif g.tensors[y].dtype is np.bool_:
        g.op("NOT_EQUAL", [x, g.const(c.layer.name + "/zero", np.zeros((), g.tensors[x].dtype), g.tensors[x].dtype)],
             [y])
    else:
        g.op("CAST", [x], [y])
    return [y]


def _clip(c: _Ctx, named: _Named, ir: dict[int, int]) -> list[int]:
    """MAXIMUM with x_min, then MINIMUM with x_max (NumPy's clip)."""
    g = c.g
    y = _out(c)
    dt = g.tensors[y].dtype
    x = _operand(c, named["x"], ir, dt, "x")
    lo = g.tensor(c.layer.name + "/lower", g_shape(g, x), dt)
    g.op("MAXIMUM", [x, g.const(c.layer.name + "/x_min", _const_value(c.layer.x_min).astype(dt), dt)], [lo])
    g.op("MINIMUM", [lo, g.const(c.layer.name + "/x_max", _const_value(c.layer.x_max).astype(dt), dt)], [y])
    return [y]


def _where(c: _Ctx, named: _Named, ir: dict[int, int]) -> list[int]:
    if named.get("x1") is None or named.get("x2") is None:
        raise c.fail("where(condition) without x1 and x2 (the indices form)")
    y = _out(c)
    dt = c.g.tensors[y].dtype
    cond = _operand(c, named["condition"], ir, np.bool_, "condition")
    c.g.op("SELECT_V2", [cond, _operand(c, named["x1"], ir, dt, "x1"), _operand(c, named["x2"], ir, dt, "x2")], [y])
    return [y]


def _get_item(c: _Ctx, named: _Named, ir: dict[int, int]) -> list[int]:
    """``x[key]`` with integers, slices, ``None`` and ``...``: STRIDED_SLICE (integers shrink
    their axis), then a RESHAPE where ``None`` adds one."""
    g = c.g
    x = ir[id(named["x"])]
    shape = named["x"].shape
    key = named["key"]
    # a list is a tuple to Keras's GetItem (and a saved tuple comes back from config.json as one)
    key = list(key) if isinstance(key, (tuple, list)) else [key]
    if sum(k is Ellipsis for k in key) > 1:
        raise c.fail("more than one ellipsis")
    n_real = sum(k is not None and k is not Ellipsis for k in key)
    if Ellipsis in key:
        at = key.index(Ellipsis)
        key[at:at + 1] = [slice(None)] * max(len(shape) - n_real, 0)
    key += [slice(None)] * max(len(shape) - sum(k is not None for k in key), 0)
    begin, end, strides = [], [], []
    bm = em = sm = 0
    dim = 0
    for k in key:
        if k is None:
            continue
        if isinstance(k, (int, np.integer)):
            sm |= 1 << dim
            begin.append(int(k))
            end.append(int(k) + 1)
            strides.append(1)
        elif isinstance(k, slice):
            for v in (k.start, k.stop, k.step):
                if v is not None and not isinstance(v, (int, np.integer)):
                    raise c.fail(f"slice bound {v!r} (integers only)")
            if k.step == 0:
                raise c.fail("slice step 0")
            begin.append(0 if k.start is None else int(k.start))
            end.append(0 if k.stop is None else int(k.stop))
            strides.append(1 if k.step is None else int(k.step))
            bm |= (k.start is None) << dim
            em |= (k.stop is None) << dim
        else:
            raise c.fail(f"index {k!r} (integers, slices, None and ... convert)")
        dim += 1
    if dim > len(shape):
        raise c.fail(f"{dim} indices for a rank-{len(shape)} tensor")
    final = tuple(c.outs[0].shape)
    kept = [k for k in key if not isinstance(k, (int, np.integer))]  # one output dimension each
    sliced = tuple(d for d, k in zip(final, kept) if k is not None)
    y = _out(c) if sliced == final else g.tensor(c.layer.name + "/sliced", sliced, g.tensors[x].dtype)
    g.op("STRIDED_SLICE", [x, _ints("begin", c, begin), _ints("end", c, end), _ints("strides", c, strides)], [y],
         begin_mask=bm, end_mask=em, ellipsis_mask=0, new_axis_mask=0, shrink_axis_mask=sm)
    if sliced != final:
        return [_reshape(c, y, final, "/new_axes")]
    return [y]


def _like(fill: float | None) -> _OpFn:
    """zeros_like / ones_like / full_like: a constant when the shape is fixed, else FILL of the
    input's SHAPE (the input is read for its shape only: no CAST of its values, so a quantized
    model needs no float op for it)."""
    def convert(c: _Ctx, named: _Named, ir: dict[int, int]) -> list[int]:
        g = c.g
        t = c.outs[0]
        value = fill if fill is not None else _const_value(named["fill_value"])
        if None not in t.shape:
            return [g.const(c.layer.name, np.full(t.shape, value, _dtype(t)), _dtype(t))]
        y = _out(c)
        x = ir[id(named["x"])]  # a tensor: a constant's shape is fixed
        shape = g.tensor(c.layer.name + "/shape", (len(t.shape),), np.int32)
        g.op("SHAPE", [x], [shape], out_type="INT32")
        g.op("FILL", [shape, g.const(c.layer.name + "/fill", np.asarray(value, _dtype(t)), _dtype(t))], [y])
        return [y]
    return convert


def _cumsum(c: _Ctx, named: _Named, ir: dict[int, int]) -> list[int]:
    y = _out(c)
    x = _operand(c, named["x"], ir, c.g.tensors[y].dtype, "x")
    axis = c.layer.axis
    if axis is None:
        raise c.fail("axis=None (cumsum of the flattened tensor)")
    c.g.op("CUMSUM", [x, c.g.const(c.layer.name + "/axis", np.int32(_axis(c, axis, len(c.outs[0].shape))),
                                   np.int32)], [y], exclusive=False, reverse=False)
    return [y]


_UNARY = {"Negative": "NEG", "Exp": "EXP", "Log": "LOG", "Sqrt": "SQRT", "Rsqrt": "RSQRT", "Square": "SQUARE",
          "Absolute": "ABS", "Abs": "ABS", "Tanh": "TANH", "Sigmoid": "LOGISTIC", "Relu": "RELU", "Relu6": "RELU6",
          "Sign": "SIGN", "Floor": "FLOOR", "Ceil": "CEIL", "Sin": "SIN", "Cos": "COS", "LogicalNot": "LOGICAL_NOT"}


def _elu(c: _Ctx, named: _Named, ir: dict[int, int]) -> list[int]:
    if float(getattr(c.layer, "alpha", 1.0)) != 1.0:
        raise c.fail("alpha other than 1 (TFLite's ELU has none)")
    return _unary("ELU")(c, named, ir)

_TABLE: dict[str, _OpFn] = {
    **{k: _unary(v) for k, v in _UNARY.items()},
    **{k: _binary(v) for k, v in {**_BINARY, **_COMPARE, **_LOGICAL}.items()},
    "Matmul": _matmul, "Softmax": _last_axis("SOFTMAX", beta=1.0), "LogSoftmax": _last_axis("LOG_SOFTMAX"),
    "Erf": _erf, "Silu": _silu, "Gelu": _gelu, "LeakyRelu": _leaky_relu, "Elu": _elu,
    "Mean": _reduce("MEAN"), "Sum": _reduce("SUM"), "Max": _reduce("REDUCE_MAX"), "Min": _reduce("REDUCE_MIN"),
    "Prod": _reduce("REDUCE_PROD"),
    "Reshape": _reshape_op, "Transpose": _transpose, "ExpandDims": _expand_dims, "Squeeze": _squeeze,
    "Concatenate": _concatenate, "Stack": _stack, "Split": _split, "Take": _take, "Cast": _cast, "Clip": _clip,
    "Where": _where, "GetItem": _get_item, "ZerosLike": _like(0.0), "OnesLike": _like(1.0), "FullLike": _like(None),
    "Cumsum": _cumsum,
}
OPERATIONS.update({k: _operation(v) for k, v in _TABLE.items()})
