"""LPIPS-VGG: the learned perceptual distance the paper's path length uses, when its weights are installed.

    d(x0, x1) = sum_l mean_hw sum_c w_l,c (n(f_l(x0)) - n(f_l(x1)))_c^2,   n = unit length over channels

f_l are VGG16's relu1_2, relu2_2, relu3_3, relu4_3 and relu5_3 on inputs scaled by LPIPS's
(x - shift) / scale; w_l are LPIPS v0.1's learned channel weights. The weights are not shipped and
never downloaded by us (they are torch files). Make them once, on any machine with PyTorch:

    pip install lpips torch && python -c "import lpips, numpy as np; m = lpips.LPIPS(net='vgg');
    np.savez('lpips_vgg16.npz', **{k: v.numpy() for k, v in m.state_dict().items()})"

and put `lpips_vgg16.npz` in the stylegan_tf cache folder (~/.cache/stylegan_tf/, or $XDG_CACHE_HOME)
or point $STYLEGAN_TF_LPIPS at it. The keys are the `lpips` package's state_dict names
(`net.slice1.0.weight` ..., `lin0.model.1.weight` ...). Without the file, `ppl.py` uses the probe.

Paper: Zhang et al. 2018 (LPIPS); Karras et al. 2019, Sec. 4.1; the official
`metrics/perceptual_path_length.py` (face crop, 256 px, scaling to the network's range).
"""

import functools
import os

import numpy as np

__all__ = ["weights_path", "available", "MISSING", "lpips_distance", "face_crop"]

MISSING = ("LPIPS-VGG weights not found: make lpips_vgg16.npz as stylegan_tf/metrics/lpips.py says and put it "
           "in ~/.cache/stylegan_tf/ (or set STYLEGAN_TF_LPIPS)")
_SHIFT = np.array([-0.030, -0.088, -0.188], np.float32)
_SCALE = np.array([0.458, 0.448, 0.450], np.float32)
# VGG16 conv widths per block; LPIPS taps the last relu of each block
_BLOCKS = ((64, 64), (128, 128), (256, 256, 256), (512, 512, 512), (512, 512, 512))


def weights_path():
    """$STYLEGAN_TF_LPIPS, else <cache>/stylegan_tf/lpips_vgg16.npz."""
    if os.environ.get("STYLEGAN_TF_LPIPS"):
        return os.environ["STYLEGAN_TF_LPIPS"]
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(cache, "stylegan_tf", "lpips_vgg16.npz")


def available():
    """True when the LPIPS-VGG weights file exists."""
    return os.path.isfile(weights_path())


@functools.lru_cache(maxsize=2)
def _load(path):
    """(conv kernels [(HWIO, bias)], lin weights [C] per tap) from the npz of `lpips.LPIPS(net='vgg')`."""
    data = np.load(path)
    # torchvision's vgg16.features indices of the 13 convs, as lpips slices them (net.sliceK.<index>)
    conv_index = (0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28)
    slices = (1, 1, 2, 2, 3, 3, 3, 4, 4, 4, 5, 5, 5)
    convs = []
    for s, i in zip(slices, conv_index):
        kernel = data[f"net.slice{s}.{i}.weight"].transpose(2, 3, 1, 0)  # OIHW -> HWIO
        convs.append((kernel.astype(np.float32), data[f"net.slice{s}.{i}.bias"].astype(np.float32)))
    lins = [data[f"lin{k}.model.1.weight"].reshape(-1).astype(np.float32) for k in range(5)]
    return convs, lins


def _vgg_taps(x, convs):
    import tensorflow as tf

    taps, k = [], 0
    for b, widths in enumerate(_BLOCKS):
        if b > 0:
            x = tf.nn.max_pool2d(x, 2, 2, "VALID")
        for _ in widths:
            kernel, bias = convs[k]
            x = tf.nn.relu(tf.nn.conv2d(x, kernel, 1, "SAME") + bias)
            k += 1
        taps.append(x)
    return taps


def face_crop(images):
    """The official face crop (rows 3c..7c, columns 2c..6c, c = R / 8), box-downsampled to <= 256 px."""
    c = images.shape[1] // 8
    images = images[:, 3 * c:7 * c, 2 * c:6 * c]
    if images.shape[1] > 256:
        k = images.shape[1] // 256
        n, h, w, ch = images.shape
        images = images.reshape(n, h // k, k, w // k, k, ch).mean(axis=(2, 4))
    return images


def lpips_distance(images0, images1, crop=True, path=None):
    """LPIPS-VGG between images [N, R, R, 3] in [-1, 1] (face-cropped first, as the official PPL) -> [N]."""
    convs, lins = _load(path or weights_path())
    x = np.concatenate([images0, images1]).astype(np.float32)
    x = face_crop(x) if crop else x
    taps = _vgg_taps((x - _SHIFT) / _SCALE, convs)
    n = len(images0)
    total = np.zeros(n, np.float64)
    for f, w in zip(taps, lins):
        f = np.asarray(f, np.float64)
        f = f / (np.sqrt(np.sum(f**2, axis=-1, keepdims=True)) + 1e-10)
        total += np.mean(np.sum(w * (f[:n] - f[n:]) ** 2, axis=-1), axis=(1, 2))
    return total
