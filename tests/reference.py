"""NumPy transcriptions of the official StyleGAN formulas (NVlabs/stylegan networks_stylegan.py), NHWC.

Tests compare the Keras layers against these; nothing here imports stylegan_tf.
"""

import numpy as np


def lrelu(x):
    return np.maximum(x, 0.2 * x)


def dense(x, w, b, gain, lrmul):
    # get_weight: w * he_std * lrmul, he_std = gain / sqrt(fan_in); apply_bias: b * lrmul
    return x @ (w * gain * lrmul / np.sqrt(w.shape[0])) + (0 if b is None else b * lrmul)


def conv2d_same(x, w):
    """Plain 'SAME' stride-1 convolution (cross-correlation), x [N,H,W,C], w [k,k,C,O]."""
    k = w.shape[0]
    p = k // 2
    xp = np.pad(x, [(0, 0), (p, k - 1 - p), (p, k - 1 - p), (0, 0)])
    n, h, wd, _ = x.shape
    out = np.zeros((n, h, wd, w.shape[3]), np.float64)
    for i in range(k):
        for j in range(k):
            out += np.einsum("nhwc,co->nhwo", xp[:, i:i + h, j:j + wd], w[i, j])
    return out


def upscale2d(x, f=2):
    return x.repeat(f, axis=1).repeat(f, axis=2)


def downscale2d(x, f=2):
    n, h, w, c = x.shape
    return x.reshape(n, h // f, f, w // f, f, c).mean(axis=(2, 4))


def blur2d(x, f=(1, 2, 1)):
    f = np.asarray(f, np.float64)
    k = np.outer(f, f)
    k /= k.sum()
    c = x.shape[-1]
    w = np.zeros((k.shape[0], k.shape[1], c, c))
    for i in range(c):
        w[:, :, i, i] = k
    return conv2d_same(x, w)


def pixel_norm(x, eps=1e-8):
    return x / np.sqrt(np.mean(x**2, axis=-1, keepdims=True) + eps)


def instance_norm(x, eps=1e-8):
    x = x - x.mean(axis=(1, 2), keepdims=True)
    return x / np.sqrt(np.mean(x**2, axis=(1, 2), keepdims=True) + eps)


def style_mod(x, w, weight, bias):
    # style = dense(w, 2C, gain=1) + bias; x * (style[:, 0] + 1) + style[:, 1]
    c = x.shape[-1]
    style = dense(w, weight, bias, gain=1.0, lrmul=1.0).reshape(-1, 1, 1, 2, c)
    return x * (style[..., 0, :] + 1) + style[..., 1, :]


def minibatch_stddev(x, group_size=4, num_new_features=1):
    # official: [NCHW] -> [GMncHW]; here NHWC -> [G, M, H, W, n, c]
    n, h, w, c = x.shape
    g = min(group_size, n)
    f = num_new_features
    y = x.reshape(g, -1, h, w, f, c // f).astype(np.float64)
    y = y - y.mean(axis=0, keepdims=True)
    y = np.sqrt(np.mean(y**2, axis=0) + 1e-8)  # [M, H, W, n, c]
    y = y.mean(axis=(1, 2, 4))  # [M, n]
    y = np.tile(y.reshape(-1, 1, 1, f), (g, h, w, 1))  # [N, H, W, n]
    return np.concatenate([x, y], axis=-1)


def lerp_clip(a, b, t):
    return a + (b - a) * np.clip(t, 0.0, 1.0)
