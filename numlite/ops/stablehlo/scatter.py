"""STABLEHLO_SCATTER: combine update values into a copy of the operand at scattered positions,
version 1 (StableHLO's scatter with one operand).

Inputs: operand, scatter_indices (int32 / int64), updates (the operand's type).  Options
(``StablehloScatterOptions``): ``update_window_dims``, ``inserted_window_dims``,
``scatter_dims_to_operand_dims``, ``index_vector_dim``, ``indices_are_sorted`` and
``unique_indices`` (hints, not read), ``update_computation_subgraph_index``.

1. The output starts as a copy of the operand.  Update element ``u`` (taken in row-major order of
   the updates, as LiteRT's loop does) has scatter dimensions (those not in
   ``update_window_dims``), which select an index vector of scatter_indices (its dimensions other
   than ``index_vector_dim``, in order; ``index_vector_dim`` equal to the rank means one-element
   vectors), and window dimensions.  The index vector goes to the operand dimensions
   ``scatter_dims_to_operand_dims``; the window coordinates (in the order of
   ``update_window_dims``) go to the operand dimensions not in ``inserted_window_dims``; their sum
   is the target.  Targets outside the operand are skipped (StableHLO's reference interpreter;
   LiteRT checks only the upper bound and writes outside the tensor for negative targets).
2. The update computation (a region, see _region) combines the current value with the update:
   recognised as LiteRT does - no op (replace: the last update to a target wins) or one of
   STABLEHLO_ADD / MULTIPLY / MAXIMUM / MINIMUM - it runs vectorised: replace keeps each target's
   last update, add / multiply use ``ufunc.at`` (unbuffered, in update order, so float rounding
   matches LiteRT's sequential loop), maximum / minimum follow ``std::max(current, update)`` /
   ``std::min``: on floats a NaN update is ignored and a NaN current value stays (``fmax.at`` /
   ``fmin.at``, then the NaN targets restored).  Other regions run through the subgraph, once per
   update element in order (LiteRT refuses them).
3. Types, as LiteRT 2.3: float16/32/64, int8/16/32/64, uint8/16/32/64.  Options are checked at
   prepare (ranges, uniqueness, counts, the updates' shape against the indices).
4. Prepare computes, per update element, its scatter position and window coordinates; the step
   reads the index vectors, forms the targets, masks the out-of-bounds ones and applies the
   combination.
"""

from __future__ import annotations

import numpy as np

from .._subgraph_call import SubgraphCall
from ..base import PrepareContext, Step
from ..registry import register
from ._common import NUMERIC, int_option
from ._region import ScalarCall, recognise, region_subgraph
from .gather import check_dims, index_vectors

OPERAND, INDICES, UPDATES = 0, 1, 2

COMBINERS = {"STABLEHLO_ADD": "add", "STABLEHLO_MULTIPLY": "mul", "STABLEHLO_MAXIMUM": "max",
             "STABLEHLO_MINIMUM": "min"}


@register("STABLEHLO_SCATTER", versions=(1,))
class StablehloScatter(SubgraphCall):
    options_table = "StablehloScatterOptions"

    def prepare(self, ctx: PrepareContext) -> None:
        ctx.expect_inputs(3)
        x, idx, upd = ctx.input(OPERAND), ctx.input(INDICES), ctx.input(UPDATES)
        ctx.expect_dtype(x, NUMERIC)
        ctx.expect_dtype(idx, (np.int32, np.int64), "scatter_indices")
        if np.dtype(upd.dtype) != np.dtype(x.dtype):
            ctx.fail(f"updates {upd.describe()} must have the operand's type {np.dtype(x.dtype).name}")
        out = ctx.outputs[0]
        if out.dtype is not None and np.dtype(out.dtype) != np.dtype(x.dtype):
            ctx.fail(f"output {out.describe()} must have the operand's type {np.dtype(x.dtype).name}")
        o = self.options
        uwd = int_option(o, "update_window_dims")
        iwd = int_option(o, "inserted_window_dims")
        sdod = int_option(o, "scatter_dims_to_operand_dims")
        ivd = int(o.get("index_vector_dim") or 0)
        r = x.rank
        if not 0 <= ivd <= idx.rank:
            ctx.fail(f"index_vector_dim {ivd} is outside [0, {idx.rank}] for scatter_indices {idx.describe()}")
        k = idx.shape[ivd] if ivd < idx.rank else 1
        batch = [d for j, d in enumerate(idx.shape) if j != ivd]
        check_dims(ctx, "update_window_dims", uwd, upd.rank)
        check_dims(ctx, "inserted_window_dims", iwd, r)
        check_dims(ctx, "scatter_dims_to_operand_dims", sdod, r)
        if len(sdod) != k:
            ctx.fail(f"scatter_dims_to_operand_dims {list(sdod)} must have one entry per index vector element ({k})")
        if len(uwd) + len(iwd) != r:
            ctx.fail(f"update_window_dims {list(uwd)} and inserted_window_dims {list(iwd)} must together count "
                     f"the operand's rank ({r})")
        scatter_dims = [d for d in range(upd.rank) if d not in uwd]
        if [upd.shape[d] for d in scatter_dims] != batch:
            ctx.fail(f"updates {upd.describe()} has scatter dimensions {[upd.shape[d] for d in scatter_dims]}, but "
                     f"scatter_indices {idx.describe()} has batch dimensions {batch}")
        ctx.set_output(0, x.shape, x.dtype)
        kept = [d for d in range(r) if d not in iwd]
        coords = np.indices(upd.shape, dtype=np.int64).reshape(upd.rank, -1)
        n = coords.shape[1]
        self.batch_pos = (np.ravel_multi_index(tuple(coords[scatter_dims]), batch) if batch
                          else np.zeros(n, np.int64)).astype(np.int64)
        win = np.zeros((n, r), np.int64)
        for kk, d in enumerate(uwd):
            win[:, kept[kk]] = coords[d]
        self.win = win
        self.dims = np.array(x.shape, np.int64)
        self.strides = np.array([int(np.prod(x.shape[d + 1:], dtype=np.int64)) for d in range(r)], np.int64)
        self.ivd, self.sdod, self.r = ivd, list(sdod), r
        index = int(o.get("update_computation_subgraph_index") or 0)
        sg = region_subgraph(ctx, index, "update computation")
        self.kind = recognise(sg, COMBINERS, allow_replace=True)
        self.call = None if self.kind is not None else ScalarCall(self, ctx, index, x.dtype, "update computation")
        self.is_float = np.dtype(x.dtype).kind == "f"

    def bind(self, inputs, outputs, scratch) -> Step:
        x, idx, upd, out = inputs[OPERAND], inputs[INDICES], inputs[UPDATES], outputs[0]
        flat_out, flat_upd = out.reshape(-1), upd.reshape(-1)
        batch_pos, win, dims, strides, ivd, sdod, r = (self.batch_pos, self.win, self.dims, self.strides, self.ivd,
                                                       self.sdod, self.r)
        combine = self._combiner(flat_out)

        def step() -> None:
            np.copyto(out, x)
            if flat_upd.size == 0:
                return
            vec = index_vectors(idx, ivd)
            start = np.zeros((vec.shape[0], r), np.int64)
            start[:, sdod] = vec
            target = start[batch_pos]
            target += win
            valid = ((target >= 0) & (target < dims)).all(axis=1)
            t = target[valid] @ strides if r else np.zeros(int(valid.sum()), np.int64)
            combine(t, flat_upd[valid])

        return step

    def _combiner(self, flat: np.ndarray):
        kind = self.kind
        if self.call is not None:
            call = self.call
            call.bind()

            def by_call(t: np.ndarray, u: np.ndarray) -> None:
                for ti, ui in zip(t.tolist(), u):
                    flat[ti] = call(flat[ti], ui)

            return by_call
        if kind == "replace":
            def replace(t: np.ndarray, u: np.ndarray) -> None:
                _, last = np.unique(t[::-1], return_index=True)  # first in reverse = last update
                pick = t.size - 1 - last
                flat[t[pick]] = u[pick]

            return replace
        if kind in ("max", "min") and self.is_float:
            fn = np.fmax if kind == "max" else np.fmin

            def float_minmax(t: np.ndarray, u: np.ndarray) -> None:
                nan_targets = t[np.isnan(flat[t])]
                fn.at(flat, t, u)
                flat[nan_targets] = np.nan

            return float_minmax
        fn = {"add": np.add, "mul": np.multiply, "max": np.maximum, "min": np.minimum}[kind]

        def at(t: np.ndarray, u: np.ndarray) -> None:
            with np.errstate(all="ignore"):
                fn.at(flat, t, u)

        return at
