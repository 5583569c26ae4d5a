"""Kernels for custom ops of published models; each submodule's ``register()`` adds its ops.

* ``numlite.custom.smartreply``: the On-Device Smart Reply model's Normalize, ExtractFeatures and
  Predict (``numlite.custom.smartreply.register()`` enables them; the SKIP_GRAM, LSH_PROJECTION
  and HASHTABLE_LOOKUP builtins it also uses are in numlite.ops).
"""
