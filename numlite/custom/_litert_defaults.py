"""Register the custom ops that LiteRT's default op resolver has built in.

LiteRT runs TFLite_Detection_PostProcess (SSD detectors), AudioSpectrogram and Mfcc (speech
front ends) and NumericVerify (the converter's debug mode) without being asked, so code written
for LiteRT expects them: numlite registers them when it is imported.  The other ``numlite.custom``
modules (MediaPipe's, Smart Reply's) stay opt-in, as they are in LiteRT's world.
"""

from . import audio, debug, detection

for _module in (detection, audio, debug):
    _module.register()
