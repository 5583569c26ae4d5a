"""Recurrent TFLite ops -> ONNX (registered into ``onnx_graph.CONVERTERS`` / ``OWN_CHECKS``)."""

from __future__ import annotations
