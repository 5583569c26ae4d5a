"""StableHLO ops as LiteRT 2.3 runs them (``STABLEHLO_*`` builtins): one module per op.

Like every kernel module, each is imported when a model first needs its op (the op index,
``numlite/ops/_index.py``, names them); importing the package imports none of them.
"""
