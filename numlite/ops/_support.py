"""Tensor types of the kernels whose family base does not declare them.

``registry.supported_ops()`` reports, per operator, the types of its plain forms and of its
quantized forms.  Kernels built on the elementwise bases (``_unary.UnaryKernel``,
``_binary.BinaryKernel``, ...) declare them as class attributes (``dtypes``; ``quantized`` /
``qdtypes``); the others are declared here, by TFLite type name, from what each kernel's
``prepare`` accepts (its module docstring and tests say the same).  An entry here overrides
the class attributes.
"""

from __future__ import annotations

#: op name -> (plain types, quantized types)
TYPES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {}
