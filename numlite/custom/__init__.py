"""Kernels for custom ops of published models, one module per origin.

Enabled by default, because LiteRT's default op resolver has them built in (every resolver has
them; each module is imported when a model first uses one of its ops, see ``_litert_defaults``):

* ``numlite.custom.detection``: TFLite_Detection_PostProcess (SSD box decoding and NMS).
* ``numlite.custom.audio``: AudioSpectrogram and Mfcc.
* ``numlite.custom.debug``: NumericVerify.

Opt-in (``<module>.register()`` for every interpreter, ``Interpreter(..., custom_ops=<module>.OPS)``
for one, or ``InterpreterWithCustomOps(custom_op_registerers=["numlite.custom.<module>"], ...)``):

* ``numlite.custom.mediapipe``: MediaPipe's Convolution2DTransposeBias, MaxPoolingWithArgmax2D,
  MaxUnpooling2D, TransformLandmarks, TransformTensorBilinear and Landmarks2TransformMatrix.
* ``numlite.custom.smartreply``: the On-Device Smart Reply model's Normalize, ExtractFeatures and
  Predict (the SKIP_GRAM, LSH_PROJECTION and HASHTABLE_LOOKUP builtins it also uses are in
  numlite.ops).
"""
