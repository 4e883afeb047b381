"""Chapter 06: wrong answers that pass each exercise's visible check; the hidden tests must fail every one. Instructor material."""

MUTATIONS = {
    "ex1_mix_ws": [
        ("writes w2's layers into w1 in place and returns it (and cannot take one crossover per image)",
         "def mix_ws(w1, w2, crossover):\n"
         "    w1 = np.asarray(w1)\n"
         "    w1[:, crossover:] = np.asarray(w2)[:, crossover:]\n"
         "    return w1\n"),
        ("one crossover for the whole batch: the first image's",
         "def mix_ws(w1, w2, crossover):\n"
         "    w1, w2 = np.asarray(w1), np.asarray(w2)\n"
         "    c = int(np.ravel(crossover)[0])\n"
         "    return np.where(np.arange(w1.shape[1])[None, :, None] < c, w1, w2)\n"),
        ("the crossover clipped to 1..L-1, as if every call had to mix",
         "def mix_ws(w1, w2, crossover):\n"
         "    w1, w2 = np.asarray(w1), np.asarray(w2)\n"
         "    c = np.clip(np.reshape(np.asarray(crossover), (-1, 1, 1)), 1, w1.shape[1] - 1)\n"
         "    return np.where(np.arange(w1.shape[1])[None, :, None] < c, w1, w2)\n"),
    ],
    "ex2_group_effect": [
        ("the sum over the group's inputs instead of the mean (groups have 4, 2 and 2 inputs)",
         "def group_effect(fc, group, factor):\n"
         "    return float(np.sum([fc[f'style{i}/{factor}'] for i in figures.style_ranges(G.num_ws)[group]]))\n"),
        ("the noise inputs of the group's layers instead of its styles",
         "def group_effect(fc, group, factor):\n"
         "    return float(np.mean([fc[f'noise{i}/{factor}'] for i in figures.style_ranges(G.num_ws)[group]]))\n"),
        ("the group's strongest input instead of the mean",
         "def group_effect(fc, group, factor):\n"
         "    return float(np.max([fc[f'style{i}/{factor}'] for i in figures.style_ranges(G.num_ws)[group]]))\n"),
    ],
    "ex3_read_heatmap": [
        ("skin tone at the other 32 px input", "skin_tone_input = 6\nhead_x_input = 0\n"),
        ("head position at the second 4 px input", "skin_tone_input = 7\nhead_x_input = 1\n"),
    ],
    "ex4_locality": [
        ("off-diagonal over diagonal (the ratio upside down)",
         "SCALES = ('coarse', 'middle', 'fine')\n\n\n"
         "def locality(fc):\n"
         "    t = np.array([[fc[f'{g} styles/{s} factors'] for s in SCALES] for g in SCALES])\n"
         "    return float(((t.sum() - np.trace(t)) / 6) / (np.trace(t) / 3))\n"),
        ("the difference of the means instead of their ratio",
         "SCALES = ('coarse', 'middle', 'fine')\n\n\n"
         "def locality(fc):\n"
         "    t = np.array([[fc[f'{g} styles/{s} factors'] for s in SCALES] for g in SCALES])\n"
         "    return float(np.trace(t) / 3 - (t.sum() - np.trace(t)) / 6)\n"),
        ("the diagonal over the mean of all nine entries",
         "SCALES = ('coarse', 'middle', 'fine')\n\n\n"
         "def locality(fc):\n"
         "    t = np.array([[fc[f'{g} styles/{s} factors'] for s in SCALES] for g in SCALES])\n"
         "    return float((np.trace(t) / 3) / t.mean())\n"),
    ],
}
