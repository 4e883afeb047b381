"""Comparing float32 results that reach the same value through different kernels.

The same images computed through another graph (Keras call vs tf.function vs SavedModel) or another batch
size run other kernels: oneDNN on or off, AVX2 or AVX-512 code paths, other blockings of one convolution. They
agree to round-off, and round-off grows with the values compared: up to 1.24e-5 at values of about 2.7 seen
on an AVX2-only CPU for the 16 px generator of tests/test_figures.py (a few float32 ulps per layer, over its
dozen layers), which a fixed `atol=1e-5` rejected now and then. A wrong computation (another latent, other noise,
other truncation) moves these images by 1e-2 or more.

`assert_close` therefore scales the tolerance to the largest magnitude compared: RELATIVE of it, about 20 times
the worst round-off measured and still 100 times below a real error.
"""

import numpy as np

RELATIVE = 1e-4


def assert_close(actual, desired, rel=RELATIVE, err_msg=""):
    """`actual` equals `desired` within `rel` times their largest |value| (at least 1), elementwise."""
    actual, desired = np.asarray(actual, np.float64), np.asarray(desired, np.float64)
    scale = max(1.0, float(np.abs(desired).max(initial=0.0)), float(np.abs(actual).max(initial=0.0)))
    np.testing.assert_allclose(actual, desired, rtol=0, atol=rel * scale, err_msg=err_msg)
