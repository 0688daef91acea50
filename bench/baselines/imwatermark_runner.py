"""Runs the real invisible-watermark (imwatermark) package for bench/watermark-image.ts.

Usage: python3 imwatermark_runner.py embed|detect METHOD WIDTH HEIGHT [BITS | BITCOUNT]
stdin: RGB pixels, row-major; stdout: the marked RGB pixels (embed) or the bits as '0'/'1' (detect).
The package's source comes from $IMWATERMARK_SRC (a checkout of ShieldMnt/invisible-watermark);
OpenCV and PyWavelets from Debian (python3-opencv, python3-pywt). Its RivaGAN method needs torch,
which is not installed: that module is replaced by an empty stand-in before the import.
"""
import os
import sys
import types

sys.path.insert(0, os.environ['IMWATERMARK_SRC'])
riva = types.ModuleType('imwatermark.rivaGan')
riva.RivaWatermark = None
sys.modules['imwatermark.rivaGan'] = riva

import numpy as np  # noqa: E402
from imwatermark import WatermarkDecoder, WatermarkEncoder  # noqa: E402

op, method, width, height = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
rgb = np.frombuffer(sys.stdin.buffer.read(), dtype=np.uint8).reshape(height, width, 3)
bgr = np.ascontiguousarray(rgb[:, :, ::-1])
if op == 'embed':
    bits = [int(c) for c in sys.argv[5]]
    enc = WatermarkEncoder()
    enc.set_watermark('bits', bits)
    out = enc.encode(bgr, method)
    sys.stdout.buffer.write(np.ascontiguousarray(out[:, :, ::-1]).astype(np.uint8).tobytes())
else:
    count = int(sys.argv[5])
    dec = WatermarkDecoder('bits', count)
    try:
        bits = dec.decode(bgr, method)
    except Exception:  # the library refuses images under 256x256
        bits = [0] * count
    sys.stdout.write(''.join('1' if b else '0' for b in bits))
