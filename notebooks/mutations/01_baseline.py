"""Chapter 01: wrong answers that pass each exercise's visible check; the hidden tests must fail every one. Instructor material."""

MUTATIONS = {
    "ex1_pixel_norm": [
        ("epsilon added outside the square root",
         "def pixel_norm(x, epsilon=1e-8):\n    x = np.asarray(x, np.float32)\n"
         "    return x / (np.sqrt(np.mean(np.square(x), axis=-1, keepdims=True)) + epsilon)"),
        ("mean over every axis but the batch axis (a per-sample norm, not per pixel)",
         "def pixel_norm(x, epsilon=1e-8):\n    x = np.asarray(x, np.float32)\n"
         "    axes = tuple(range(1, x.ndim)) if x.ndim > 1 else (0,)\n"
         "    return x / np.sqrt(np.mean(np.square(x), axis=axes, keepdims=True) + epsilon)"),
        ("epsilon ignored",
         "def pixel_norm(x, epsilon=1e-8):\n    x = np.asarray(x, np.float32)\n"
         "    return x / np.sqrt(np.mean(np.square(x), axis=-1, keepdims=True) + 1e-8)"),
    ],
    "ex2_minibatch_stddev": [
        ("neighbouring samples share a group (reshape to [M, G, ...])",
         "def minibatch_stddev_feature(x, group_size=4):\n    x = np.asarray(x, np.float32)\n"
         "    n, h, w, c = x.shape\n    g = min(group_size, n)\n    y = x.reshape(n // g, g, h, w, c)\n"
         "    s = np.sqrt(y.var(axis=1) + 1e-8).mean(axis=(1, 2, 3))\n"
         "    return np.broadcast_to(s[np.arange(n) // g][:, None, None, None], (n, h, w, 1)).astype(np.float32)"),
        ("unbiased variance (ddof=1)",
         "def minibatch_stddev_feature(x, group_size=4):\n    x = np.asarray(x, np.float32)\n"
         "    n, h, w, c = x.shape\n    g = min(group_size, n)\n    y = x.reshape(g, n // g, h, w, c)\n"
         "    s = np.sqrt(y.var(axis=0, ddof=1) + 1e-8).mean(axis=(1, 2, 3))\n"
         "    return np.broadcast_to(s[np.arange(n) % (n // g)][:, None, None, None], (n, h, w, 1)).astype(np.float32)"),
        ("square root of the averaged variance instead of the average of the standard deviations",
         "def minibatch_stddev_feature(x, group_size=4):\n    x = np.asarray(x, np.float32)\n"
         "    n, h, w, c = x.shape\n    g = min(group_size, n)\n    y = x.reshape(g, n // g, h, w, c)\n"
         "    s = np.sqrt(y.var(axis=0).mean(axis=(1, 2, 3)) + 1e-8)\n"
         "    return np.broadcast_to(s[np.arange(n) % (n // g)][:, None, None, None], (n, h, w, 1)).astype(np.float32)"),
    ],
    "ex3_read_schedule": [
        ("the 16x16 fade read where it ends, not where it starts",
         "fade16_start_kimg = 20\nfull32_kimg = 40\nlod_at_32_5 = 0.75"),
        ("32x32 read as fully on where its fade starts",
         "fade16_start_kimg = 10\nfull32_kimg = 30\nlod_at_32_5 = 0.75"),
        ("the alpha curve read instead of lod",
         "fade16_start_kimg = 10\nfull32_kimg = 40\nlod_at_32_5 = 0.25"),
    ],
    "ex4_weight_stats": [
        ("used weights scaled by He's sqrt(2) / sqrt(fan_in) whatever the layer's gain",
         "def weight_stats(layer):\n    kernel = np.asarray(layer.kernel)\n    fan_in = int(np.prod(kernel.shape[:-1]))\n"
         "    return {'fan_in': fan_in, 'stored_std': float(kernel.std()),\n"
         "            'used_std': float(kernel.std() * np.sqrt(2.0) / np.sqrt(fan_in))}"),
        ("fan-in read from the kernel's first axis (right for dense layers only)",
         "def weight_stats(layer):\n    kernel = np.asarray(layer.kernel)\n"
         "    return {'fan_in': int(kernel.shape[0]), 'stored_std': float(kernel.std()),\n"
         "            'used_std': float(kernel.std() * layer.w_scale)}"),
        ("fan-in as the product of every kernel axis, the output channels included",
         "def weight_stats(layer):\n    kernel = np.asarray(layer.kernel)\n"
         "    return {'fan_in': int(np.prod(kernel.shape)), 'stored_std': float(kernel.std()),\n"
         "            'used_std': float(kernel.std() * layer.w_scale)}"),
    ],
}
