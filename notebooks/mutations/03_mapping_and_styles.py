"""Chapter 03: wrong answers that pass each exercise's visible check; the hidden tests must fail every one. Instructor material."""

MUTATIONS = {
    "ex1_adain": [
        ("the sample variance (ddof=1) instead of the population variance",
         "def adain(x, scale, shift, epsilon=1e-8):\n"
         "    x = np.asarray(x, np.float64)\n"
         "    mu = x.mean(axis=(1, 2), keepdims=True)\n"
         "    var = x.var(axis=(1, 2), keepdims=True, ddof=1)\n"
         "    return (x - mu) / np.sqrt(var + epsilon) * np.asarray(scale)[:, None, None, :] + np.asarray(shift)[:, None, None, :]\n"),
        ("epsilon added to the standard deviation, outside the square root",
         "def adain(x, scale, shift, epsilon=1e-8):\n"
         "    x = np.asarray(x, np.float64)\n"
         "    mu = x.mean(axis=(1, 2), keepdims=True)\n"
         "    std = x.std(axis=(1, 2), keepdims=True)\n"
         "    return (x - mu) / (std + epsilon) * np.asarray(scale)[:, None, None, :] + np.asarray(shift)[:, None, None, :]\n"),
        ("scale treated as y_s: multiplies by scale + 1",
         "def adain(x, scale, shift, epsilon=1e-8):\n"
         "    x = np.asarray(x, np.float64)\n"
         "    mu = x.mean(axis=(1, 2), keepdims=True)\n"
         "    var = ((x - mu) ** 2).mean(axis=(1, 2), keepdims=True)\n"
         "    return (x - mu) / np.sqrt(var + epsilon) * (np.asarray(scale)[:, None, None, :] + 1.0) + np.asarray(shift)[:, None, None, :]\n"),
        ("mean removed but not divided by the standard deviation",
         "def adain(x, scale, shift, epsilon=1e-8):\n"
         "    x = np.asarray(x, np.float64)\n"
         "    mu = x.mean(axis=(1, 2), keepdims=True)\n"
         "    return (x - mu) * np.asarray(scale)[:, None, None, :] + np.asarray(shift)[:, None, None, :]\n"),
    ],
    "ex2_group_effect": [
        ("sum over the group's inputs instead of the mean (groups differ in size)",
         "def group_effect(result, factor, num_ws):\n"
         "    return {group: float(np.sum([result[f'style{i}/{factor}'] for i in layers]))\n"
         "            for group, layers in figures.style_ranges(num_ws).items() if len(layers)}\n"),
        ("the largest input of each group instead of the mean",
         "def group_effect(result, factor, num_ws):\n"
         "    return {group: float(np.max([result[f'style{i}/{factor}'] for i in layers]))\n"
         "            for group, layers in figures.style_ranges(num_ws).items() if len(layers)}\n"),
        ("the inputs split into three equal thirds instead of the paper's groups by resolution",
         "def group_effect(result, factor, num_ws):\n"
         "    parts = np.array_split(np.arange(num_ws), 3)\n"
         "    return {group: float(np.mean([result[f'style{i}/{factor}'] for i in part]))\n"
         "            for group, part in zip(('coarse', 'middle', 'fine'), parts) if len(part)}\n"),
    ],
    "ex3_read_heatmap": [
        ("the row that moves head turn most (the first coarse input)", "HUE_STYLE_INPUT = 0\nHUE_LAYER_PX = 4\n"),
        ("the other fine input of the 32 px layers", "HUE_STYLE_INPUT = 6\nHUE_LAYER_PX = 32\n"),
    ],
    "ex4_truncation_space": [
        ("w truncated towards the origin instead of towards w_avg",
         "def truncated_ws(G, z, psi, space):\n"
         "    z = np.asarray(z, np.float32)\n"
         "    if space == 'z':\n"
         "        return np.asarray(G.mapping(psi * z))\n"
         "    return psi * np.asarray(G.mapping(z))\n\n\n"
         "SPREAD_RATIO = {space: probe_spread(figures.synthesize(G, truncated_ws(G, Z_ABL, 0.5, space)))\n"
         "                / probe_spread(figures.synthesize(G, truncated_ws(G, Z_ABL, 1.0, space))) for space in ('z', 'w')}\n"),
        ("only the first style input truncated in W",
         "def truncated_ws(G, z, psi, space):\n"
         "    z = np.asarray(z, np.float32)\n"
         "    if space == 'z':\n"
         "        return np.asarray(G.mapping(psi * z))\n"
         "    ws = np.array(G.mapping(z))\n"
         "    w_avg = np.asarray(G.w_avg)\n"
         "    ws[:, 0] = w_avg + psi * (ws[:, 0] - w_avg)\n"
         "    return ws\n\n\n"
         "SPREAD_RATIO = {space: probe_spread(figures.synthesize(G, truncated_ws(G, Z_ABL, 0.5, space)))\n"
         "                / probe_spread(figures.synthesize(G, truncated_ws(G, Z_ABL, 1.0, space))) for space in ('z', 'w')}\n"),
        ("'z' truncated after the mapping network (the same as 'w')",
         "def truncated_ws(G, z, psi, space):\n"
         "    ws = np.asarray(G.mapping(np.asarray(z, np.float32)))\n"
         "    w_avg = np.asarray(G.w_avg)\n"
         "    return w_avg + psi * (ws - w_avg)\n\n\n"
         "SPREAD_RATIO = {space: probe_spread(figures.synthesize(G, truncated_ws(G, Z_ABL, 0.5, space)))\n"
         "                / probe_spread(figures.synthesize(G, truncated_ws(G, Z_ABL, 1.0, space))) for space in ('z', 'w')}\n"),
    ],
}
