"""Chapter 04: wrong answers that pass each exercise's visible check; the hidden tests must fail every one. Instructor material."""

MUTATIONS = {
    "ex1_constant_change": [
        ("the signed mean change instead of the mean absolute change",
         "def constant_change(G, ws, constant, scale):\n"
         "    learned = G.synthesis.const.numpy()\n"
         "    before = predict_factors(figures.synthesize(G, ws))\n"
         "    try:\n"
         "        G.synthesis.const.assign(np.ascontiguousarray(constant, np.float32))\n"
         "        after = predict_factors(figures.synthesize(G, ws))\n"
         "    finally:\n"
         "        G.synthesis.const.assign(learned)\n"
         "    return np.abs(np.array([np.mean(after[n] - before[n]) / scale[n] for n in PROBE_FACTORS]))\n"),
        ("scaled by the spread of the generated images instead of the reals'",
         "def constant_change(G, ws, constant, scale):\n"
         "    learned = G.synthesis.const.numpy()\n"
         "    before = predict_factors(figures.synthesize(G, ws))\n"
         "    try:\n"
         "        G.synthesis.const.assign(np.ascontiguousarray(constant, np.float32))\n"
         "        after = predict_factors(figures.synthesize(G, ws))\n"
         "    finally:\n"
         "        G.synthesis.const.assign(learned)\n"
         "    return factor_change(before, after, spread(before))\n"),
        ("both readings taken with the replaced constant (compares the variant with itself)",
         "def constant_change(G, ws, constant, scale):\n"
         "    learned = G.synthesis.const.numpy()\n"
         "    try:\n"
         "        G.synthesis.const.assign(np.ascontiguousarray(constant, np.float32))\n"
         "        before = predict_factors(figures.synthesize(G, ws))\n"
         "        after = predict_factors(figures.synthesize(G, ws))\n"
         "    finally:\n"
         "        G.synthesis.const.assign(learned)\n"
         "    return factor_change(before, after, scale)\n"),
    ],
    "ex2_read_bars": [
        ("the other colour factor", 'UNTOUCHED_FACTOR = "skin_tone"\n'),
        ("the middle factor with the smallest bar on the shipped D", 'UNTOUCHED_FACTOR = "eyes_open"\n'),
    ],
    "ex3_const_block": [
        ("instance norm over all of H, W and C instead of per channel",
         "def const_block(const, w, layer):\n"
         "    w = np.asarray(w, np.float64)\n"
         "    x = np.tile(np.asarray(const, np.float64), (len(w), 1, 1, 1)) + layer.bias.numpy()\n"
         "    x = np.where(x >= 0, x, 0.2 * x)\n"
         "    mu = x.mean(axis=(1, 2, 3), keepdims=True)\n"
         "    x = (x - mu) / np.sqrt(((x - mu) ** 2).mean(axis=(1, 2, 3), keepdims=True) + 1e-8)\n"
         "    kernel, bias = layer.style.affine.kernel.numpy(), layer.style.affine.bias.numpy()\n"
         "    y = w @ kernel / np.sqrt(kernel.shape[0]) + bias\n"
         "    c = x.shape[-1]\n"
         "    return x * (y[:, None, None, :c] + 1.0) + y[:, None, None, c:]\n"),
        ("the bias added after the leaky ReLU",
         "def const_block(const, w, layer):\n"
         "    w = np.asarray(w, np.float64)\n"
         "    x = np.tile(np.asarray(const, np.float64), (len(w), 1, 1, 1))\n"
         "    x = np.where(x >= 0, x, 0.2 * x) + layer.bias.numpy()\n"
         "    mu = x.mean(axis=(1, 2), keepdims=True)\n"
         "    x = (x - mu) / np.sqrt(((x - mu) ** 2).mean(axis=(1, 2), keepdims=True) + 1e-8)\n"
         "    kernel, bias = layer.style.affine.kernel.numpy(), layer.style.affine.bias.numpy()\n"
         "    y = w @ kernel / np.sqrt(kernel.shape[0]) + bias\n"
         "    c = x.shape[-1]\n"
         "    return x * (y[:, None, None, :c] + 1.0) + y[:, None, None, c:]\n"),
        ("the style's scale without the + 1",
         "def const_block(const, w, layer):\n"
         "    w = np.asarray(w, np.float64)\n"
         "    x = np.tile(np.asarray(const, np.float64), (len(w), 1, 1, 1)) + layer.bias.numpy()\n"
         "    x = np.where(x >= 0, x, 0.2 * x)\n"
         "    mu = x.mean(axis=(1, 2), keepdims=True)\n"
         "    x = (x - mu) / np.sqrt(((x - mu) ** 2).mean(axis=(1, 2), keepdims=True) + 1e-8)\n"
         "    kernel, bias = layer.style.affine.kernel.numpy(), layer.style.affine.bias.numpy()\n"
         "    y = w @ kernel / np.sqrt(kernel.shape[0]) + bias\n"
         "    c = x.shape[-1]\n"
         "    return x * y[:, None, None, :c] + y[:, None, None, c:]\n"),
    ],
    "ex4_roll_constant": [
        ("rolled along the height (axis 1) instead of the width",
         "def rolled_constant(const, shift):\n"
         "    return np.roll(np.asarray(const), shift, axis=1)\n\n\n"
         "_before = predict_factors(figures.synthesize(G_D, ws_many))['head_x']\n"
         "try:\n"
         "    G_D.synthesis.const.assign(np.ascontiguousarray(rolled_constant(learned, 1), np.float32))\n"
         "    _after = predict_factors(figures.synthesize(G_D, ws_many))['head_x']\n"
         "finally:\n"
         "    G_D.synthesis.const.assign(learned)\n"
         "HEAD_X_SHIFT = float(np.mean(_after) - np.mean(_before))\n"),
        ("rolled to the left (shift -1) instead of to the right",
         "def rolled_constant(const, shift):\n"
         "    return np.roll(np.asarray(const), -shift, axis=2)\n\n\n"
         "_before = predict_factors(figures.synthesize(G_D, ws_many))['head_x']\n"
         "try:\n"
         "    G_D.synthesis.const.assign(np.ascontiguousarray(rolled_constant(learned, 1), np.float32))\n"
         "    _after = predict_factors(figures.synthesize(G_D, ws_many))['head_x']\n"
         "finally:\n"
         "    G_D.synthesis.const.assign(learned)\n"
         "HEAD_X_SHIFT = float(np.mean(_after) - np.mean(_before))\n"),
        ("the mean absolute change of head_x instead of the mean signed shift",
         "def rolled_constant(const, shift):\n"
         "    return np.roll(np.asarray(const), shift, axis=2)\n\n\n"
         "_before = predict_factors(figures.synthesize(G_D, ws_many))['head_x']\n"
         "try:\n"
         "    G_D.synthesis.const.assign(np.ascontiguousarray(rolled_constant(learned, 1), np.float32))\n"
         "    _after = predict_factors(figures.synthesize(G_D, ws_many))['head_x']\n"
         "finally:\n"
         "    G_D.synthesis.const.assign(learned)\n"
         "HEAD_X_SHIFT = float(np.mean(np.abs(_after - _before)))\n"),
    ],
}
