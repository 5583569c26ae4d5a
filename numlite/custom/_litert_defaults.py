"""The custom ops that LiteRT's default op resolver has built in, which numlite enables by default.

LiteRT runs TFLite_Detection_PostProcess (SSD detectors), AudioSpectrogram and Mfcc (speech
front ends) and NumericVerify (the converter's debug mode) without being asked, so code written
for LiteRT expects them: every ``numlite.OpResolver`` (so every ``Interpreter``) has them.  They
are loaded lazily: ``scripts/gen_op_index.py`` writes each op of ``MODULES`` into
``numlite.ops._index.CUSTOM`` (custom code -> module), and the resolver imports the module the
first time a model uses the op.  The other ``numlite.custom`` modules (MediaPipe's, Smart
Reply's) stay opt-in, as they are in LiteRT's world.
"""

from __future__ import annotations

import importlib

#: the modules whose ``OPS`` numlite enables by default
MODULES = ("numlite.custom.detection", "numlite.custom.audio", "numlite.custom.debug")


def register() -> None:
    """Register every default custom op in the global registry now (``numlite.register_op``),
    rather than on first use."""
    for name in MODULES:
        importlib.import_module(name).register()
