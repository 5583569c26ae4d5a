"""REVERSE_SEQUENCE: for every index ``b`` along ``batch_dim``, reverse the first
``seq_lengths[b]`` elements along ``seq_dim`` and keep the rest (version 1, as LiteRT 2.3).

1. Input: float32, int16, int32, int64 or uint8 (the types LiteRT 2.3 takes); quantized
   tensors are moved as stored.  Output: the input's shape and type.
2. Options ``seq_dim`` and ``batch_dim``: distinct, in ``[0, rank)`` (TFLite takes no negative
   axes).  ``seq_lengths``: an int32 or int64 vector with one entry per ``batch_dim`` index.
3. A length ``<= 0`` (or 1) leaves its sequence unchanged, as TFLite's loop does; a length larger
   than the ``seq_dim`` size is an error (LiteRT checks only the first length and reads out of
   bounds for the others; numlite checks every one, at prepare for constant lengths, else at
   invoke with a RuntimeError naming the op and node).
4. The step is one gather: constant lengths give a flat source index per output element made at
   prepare (``np.take(..., out=)``, nothing allocated per invoke); lengths known only at invoke
   give a ``[batch, seq]`` index table and ``np.take_along_axis``.
"""

from __future__ import annotations

import numpy as np

from .base import Kernel, PrepareContext, Step
from .registry import register

INPUT, LENGTHS = 0, 1
REVERSE_SEQUENCE_DTYPES = (np.float32, np.int16, np.int32, np.int64, np.uint8)


def sequence_index(lengths: np.ndarray, seq: int, rank: int, seq_dim: int, batch_dim: int) -> np.ndarray:
    """Source positions along ``seq_dim``: shape 1 except ``batch`` at batch_dim, ``seq`` at seq_dim."""
    j = np.arange(seq, dtype=np.intp)[None, :]
    n = lengths.astype(np.int64).reshape(-1, 1)
    idx = np.where(j < n, n - 1 - j, j).astype(np.intp)
    if batch_dim > seq_dim:
        idx = idx.T
    shape = [1] * rank
    shape[batch_dim], shape[seq_dim] = lengths.size, seq
    return idx.reshape(shape)


@register("REVERSE_SEQUENCE", versions=(1,))
class ReverseSequence(Kernel):
    options_table = "ReverseSequenceOptions"

    def prepare(self, ctx: PrepareContext) -> None:
        ctx.expect_inputs(2)
        x, ln = ctx.input(INPUT), ctx.input(LENGTHS)
        ctx.expect_dtype(x, REVERSE_SEQUENCE_DTYPES)
        ctx.expect_dtype(ln, (np.int32, np.int64), "seq_lengths")
        out = ctx.outputs[0]
        if np.dtype(out.dtype) != np.dtype(x.dtype):
            ctx.fail(f"output {out.describe()} must have the input's type {np.dtype(x.dtype).name}")
        sd, bd = int(self.options.get("seq_dim") or 0), int(self.options.get("batch_dim") or 0)
        if not (0 <= sd < x.rank and 0 <= bd < x.rank) or sd == bd:
            ctx.fail(f"seq_dim {sd} and batch_dim {bd} must be distinct axes of input {x.describe()}")
        if ln.rank != 1 or ln.shape[0] != x.shape[bd]:
            ctx.fail(f"seq_lengths {ln.describe()} must be a vector of {x.shape[bd]} values (batch_dim {bd} of "
                     f"{x.describe()})")
        ctx.set_output(0, x.shape, x.dtype)
        self.sd, self.bd, self.seq, self.rank = sd, bd, x.shape[sd], x.rank
        self.where = f"{self.op_name} (node {self.node.index})"
        self.len_name = ln.describe()
        self.flat = None
        if ln.value is not None:
            err = self.length_error(np.asarray(ln.value))
            if err:
                ctx.fail(err)
            idx = sequence_index(np.asarray(ln.value), self.seq, x.rank, sd, bd)
            base = np.arange(x.size, dtype=np.intp).reshape(x.shape)
            self.flat = np.take_along_axis(base, np.broadcast_to(idx, x.shape), axis=sd).reshape(-1)

    def length_error(self, lengths: np.ndarray) -> str | None:
        if lengths.size and int(lengths.max()) > self.seq:
            return (f"sequence length {int(lengths.max())} exceeds the size {self.seq} of seq_dim {self.sd} "
                    f"({self.len_name})")
        return None

    def bind(self, inputs: list[np.ndarray | None], outputs: list[np.ndarray], scratch: list[np.ndarray]) -> Step:
        x, lengths = inputs
        out = outputs[0]
        if out.size == 0:
            return lambda: None
        if self.flat is not None:
            src, dst, flat, take = x.reshape(-1), out.reshape(-1), self.flat, np.take
            return lambda: take(src, flat, out=dst)
        seq, rank, sd, bd, where = self.seq, self.rank, self.sd, self.bd, self.where

        def step() -> None:
            err = self.length_error(lengths)
            if err:
                raise RuntimeError(f"{where}: {err}")
            idx = np.broadcast_to(sequence_index(lengths, seq, rank, sd, bd), x.shape)
            np.copyto(out, np.take_along_axis(x, idx, axis=sd))

        return step
