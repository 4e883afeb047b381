"""Chapter 05: wrong answers that pass each exercise's visible check; the hidden tests must fail every one. Instructor material."""

MUTATIONS = {
    "ex1_noise_layer": [
        ("multiplies the activations instead of adding the noise (x = 1 in the visible check hides it)",
         "def add_noise(x, noise, strength):\n"
         "    x = np.asarray(x)\n"
         "    return x * (1 + np.asarray(noise) * np.asarray(strength)).astype(x.dtype)\n"),
        ("the first image's noise map for every image of the batch",
         "def add_noise(x, noise, strength):\n"
         "    x = np.asarray(x)\n"
         "    return x + (np.asarray(noise)[:1] * np.asarray(strength)).astype(x.dtype)\n"),
        ("the magnitude of the noise, |n|, so it only ever pushes one way",
         "def add_noise(x, noise, strength):\n"
         "    x = np.asarray(x)\n"
         "    return x + (np.abs(np.asarray(noise)) * np.asarray(strength)).astype(x.dtype)\n"),
    ],
    "ex2_least_noise": [
        ("16 px: read off the light bars (max |b|) instead of the dark ones", "least_noise_resolution = 16\n"),
        ("4 px: the paper's expectation that coarse layers need the least noise, not the plot",
         "least_noise_resolution = 4\n"),
    ],
    "ex3_variation_ratio": [
        ("the largest pixel of the std map instead of its mean",
         "def variation_ratio(G, seeds, num_draws):\n"
         "    s_noise = np.mean([figures.stochastic_variation(G, seed=s, num_draws=num_draws, psi=1.0).std.max()\n"
         "                       for s in seeds])\n"
         "    images = figures.generate_images(G, range(100, 100 + num_draws), psi=1.0).astype(np.float64)\n"
         "    return float(images.std(axis=0).mean(axis=-1).mean() / s_noise)\n"),
        ("the seeds' images with the model's default truncation (psi 0.7) instead of psi = 1",
         "def variation_ratio(G, seeds, num_draws):\n"
         "    s_noise = np.mean([figures.stochastic_variation(G, seed=s, num_draws=num_draws, psi=1.0).std.mean()\n"
         "                       for s in seeds])\n"
         "    images = figures.generate_images(G, range(100, 100 + num_draws)).astype(np.float64)\n"
         "    return float(images.std(axis=0).mean(axis=-1).mean() / s_noise)\n"),
        ("variances instead of standard deviations",
         "def variation_ratio(G, seeds, num_draws):\n"
         "    s_noise = np.mean([(figures.stochastic_variation(G, seed=s, num_draws=num_draws, psi=1.0).std ** 2).mean()\n"
         "                       for s in seeds])\n"
         "    images = figures.generate_images(G, range(100, 100 + num_draws), psi=1.0).astype(np.float64)\n"
         "    return float(images.var(axis=0).mean(axis=-1).mean() / s_noise)\n"),
    ],
    "ex4_noise_off": [
        ("the absolute value of the mean difference instead of the mean absolute difference",
         "def noise_off_change(G, seeds, off_layers):\n"
         "    ws = figures.mapping_ws(G, figures.seeds_to_z(seeds, G.z_dim), psi=1.0)\n"
         "    reference = figures.synthesize(G, ws, noise_mode='const')\n"
         "    noise = [np.zeros_like(l.noise.const_noise.numpy()) if i in set(off_layers) else l.noise.const_noise.numpy()\n"
         "             for i, l in enumerate(G.synthesis.synthesis_layers)]\n"
         "    ablated = figures.synthesize(G, ws, noise=noise)\n"
         "    return float(abs((reference.astype(np.float64) - ablated).mean()))\n"),
        ("the largest pixel change instead of the mean",
         "def noise_off_change(G, seeds, off_layers):\n"
         "    ws = figures.mapping_ws(G, figures.seeds_to_z(seeds, G.z_dim), psi=1.0)\n"
         "    reference = figures.synthesize(G, ws, noise_mode='const')\n"
         "    noise = [np.zeros_like(l.noise.const_noise.numpy()) if i in set(off_layers) else l.noise.const_noise.numpy()\n"
         "             for i, l in enumerate(G.synthesis.synthesis_layers)]\n"
         "    ablated = figures.synthesize(G, ws, noise=noise)\n"
         "    return float(np.abs(reference.astype(np.float64) - ablated).max())\n"),
        ("measured on the 8-bit images (viz.to_uint8) instead of the [-1, 1] pixel values",
         "def noise_off_change(G, seeds, off_layers):\n"
         "    ws = figures.mapping_ws(G, figures.seeds_to_z(seeds, G.z_dim), psi=1.0)\n"
         "    reference = figures.synthesize(G, ws, noise_mode='const')\n"
         "    noise = [np.zeros_like(l.noise.const_noise.numpy()) if i in set(off_layers) else l.noise.const_noise.numpy()\n"
         "             for i, l in enumerate(G.synthesis.synthesis_layers)]\n"
         "    ablated = figures.synthesize(G, ws, noise=noise)\n"
         "    return float(np.abs(viz.to_uint8(reference).astype(np.float64) - viz.to_uint8(ablated)).mean())\n"),
    ],
}
