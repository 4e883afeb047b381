"""Projection: the latents (and noise maps) whose image matches a target, by gradient descent.

    minimise   d(g(w + n_t, noise), target) + 1e5 * R(noise)     over w (and the noise maps)
    n_t ~ N(0, (0.05 * sigma_w * max(0, 1 - t / 0.75)^2)^2)     a perturbation of w that decays to zero
    lr_t = 0.1 * min(1, t / 0.05) * (1/2 - cos(pi * min(1, (1 - t) / 0.25)) / 2)   Adam(0.9, 0.999, 1e-8)
    R(noise) = sum over maps and over a 2x2-average pyramid down to 8x8 of
               mean(n * roll_x(n))^2 + mean(n * roll_y(n))^2
    after each step each noise map is renormalised to zero mean and unit variance

t = step / steps. w starts at w_avg, the mean of f(z) over 10,000 draws of z, and sigma_w is the root
mean squared distance of those draws from it. In W ("w") one w [w_dim] drives every layer; in W+ ("w+")
each layer has its own (Image2StyleGAN), which reconstructs better and edits worse.

Each image of a batch is its own problem (the loss is a sum over images, Adam is per-element, the
regulariser and the renormalisation are per image) and every image gets the same random draws, so a
batch gives what one-at-a-time calls give, up to float rounding; the same seed gives the same result.

Distances (`distance=`): "lpips" is LPIPS-VGG (`metrics/lpips.py`, needs its converted weights) on
images box-downsampled to at most 256 px, as the StyleGAN2 projector; "probe" is LPIPS's formula on the
factor probe's three conv stages (unit weights, as `metrics/ppl.py`'s offline distance) plus the pixel
mean squared error; None ("auto") takes LPIPS when its weights are installed, else the probe. A callable
`d(images, targets) -> [N]` (TensorFlow ops, images in [-1, 1]) is used as given.

Paper: Karras et al. 2020 (StyleGAN2), Sec. 5 and the official `projector.py` (NVlabs/stylegan2);
Abdal et al. 2019 (Image2StyleGAN) for W+. `python -m stylegan_tf project` is the command line.
"""

import dataclasses

import numpy as np

__all__ = ["RECIPE", "Projection", "project", "noise_regularization", "learning_rate", "w_noise_scale",
           "w_statistics", "resolve_distance"]

# the StyleGAN2 projector's constants (NVlabs/stylegan2 projector.py, Projector.__init__)
RECIPE = dict(initial_learning_rate=0.1, lr_rampdown_length=0.25, lr_rampup_length=0.05, initial_noise_factor=0.05,
              noise_ramp_length=0.75, regularize_noise_weight=1e5, dlatent_avg_samples=10000)


@dataclasses.dataclass
class Projection:
    """What `project` returns. `ws` [N, num_ws, w_dim] drives `G.synthesis(ws, noise=noise)`; in W every
    layer holds the same w. `noise`: per layer [N, H, W, 1] (None where G has no noise input). `loss`
    [steps, N]: the distance (without the regulariser) at each step. `frames`: uint8 images [T, N, H, W, C]
    every `frames_every` steps, with `frame_steps` [T]."""
    ws: np.ndarray
    noise: list
    images: np.ndarray
    loss: np.ndarray
    distance: str
    space: str
    steps: int
    seed: int
    frames: np.ndarray = None
    frame_steps: np.ndarray = None

    @property
    def w(self):
        """[N, w_dim]: the projected w (in W+, the first layer's)."""
        return self.ws[:, 0]


def learning_rate(t, recipe=RECIPE):
    """The learning-rate ramp of the StyleGAN2 projector at t = step / steps in [0, 1)."""
    ramp = min(1.0, (1.0 - t) / recipe["lr_rampdown_length"])
    ramp = 0.5 - 0.5 * np.cos(ramp * np.pi)
    ramp = ramp * min(1.0, t / recipe["lr_rampup_length"])
    return recipe["initial_learning_rate"] * ramp


def w_noise_scale(t, w_std, recipe=RECIPE):
    """Standard deviation of the Gaussian perturbation of w at t: decays to zero at t = noise_ramp_length."""
    return w_std * recipe["initial_noise_factor"] * max(0.0, 1.0 - t / recipe["noise_ramp_length"]) ** 2


def noise_regularization(noise_maps):
    """R(noise) per image [N]: squared autocorrelations at shift 1 in x and y, over a pyramid to 8x8.

    `noise_maps`: list of [N, H, W, 1] tensors. The official projector computes the mean over one image's
    map; here the mean runs per image, so R of a batch is the per-image values side by side."""
    import tensorflow as tf

    total = 0.0
    for v in noise_maps:
        v = v[..., 0]  # [N, H, W]
        while True:
            total += (tf.reduce_mean(v * tf.roll(v, 1, axis=2), axis=[1, 2]) ** 2
                      + tf.reduce_mean(v * tf.roll(v, 1, axis=1), axis=[1, 2]) ** 2)
            size = v.shape[1]
            if size <= 8:
                break
            v = tf.reduce_mean(tf.reshape(v, [-1, size // 2, 2, size // 2, 2]), axis=[2, 4])  # 2x2 box average
    return total


def w_statistics(G, num_samples=RECIPE["dlatent_avg_samples"], batch_size=1000):
    """(w_avg [w_dim], w_std scalar) over f(z) for z of RandomState(123), as the official projector."""
    z = np.random.RandomState(123).randn(num_samples, G.z_dim).astype(np.float32)
    w = np.concatenate([np.asarray(G.mapping(z[i:i + batch_size])[:, 0], np.float64)
                        for i in range(0, num_samples, batch_size)])  # [num_samples, w_dim]
    w_avg = w.mean(axis=0)
    return w_avg.astype(np.float32), float(np.sqrt(np.sum((w - w_avg) ** 2) / num_samples))


def _box_resize(x, size):
    """[N, R, R, C] -> [N, size, size, C]: box average down, pixel repetition up (powers of two)."""
    import tensorflow as tf

    r = x.shape[1]
    if r > size:
        k = r // size
        return tf.reduce_mean(tf.reshape(x, [-1, size, k, size, k, x.shape[-1]]), axis=[2, 4])
    if r < size:
        k = size // r
        return tf.repeat(tf.repeat(x, k, axis=1), k, axis=2)
    return x


def _unit(f):
    import tensorflow as tf

    return f / (tf.sqrt(tf.reduce_sum(f**2, axis=-1, keepdims=True)) + 1e-10)


def _probe_features(x):
    """The probe's three conv stages of images [N, R, R, C] in [-1, 1], unit-normalised along channels."""
    import tensorflow as tf

    from stylegan_tf.metrics.probe import PROBE_RESOLUTION, load_probe

    if x.shape[-1] == 1:
        x = tf.tile(x, [1, 1, 1, 3])
    out = load_probe()(_box_resize(x, PROBE_RESOLUTION), training=False)
    return [_unit(out[key]) for key in ("stage1", "stage2", "stage3")]


def probe_mse_distance(images, targets, target_features=None):
    """LPIPS's formula on the probe's conv stages (unit weights) + pixel MSE, per image -> [N] (TensorFlow).

    `target_features`: `probe_mse_distance.features(targets)`, computed once; `project` passes them, so the
    fixed targets do not go through the probe at every step (the official projector recomputes them)."""
    import tensorflow as tf

    feats = target_features if target_features is not None else _probe_features(targets)
    total = tf.reduce_mean(tf.square(images - targets), axis=[1, 2, 3])
    for f, g in zip(_probe_features(images), feats):
        total += tf.reduce_mean(tf.reduce_sum(tf.square(f - g), axis=-1), axis=[1, 2])
    return total


probe_mse_distance.features = _probe_features


def _lpips_features(x):
    """LPIPS-VGG's five taps of images in [-1, 1] (at most 256 px), unit-normalised along channels."""
    import tensorflow as tf

    from stylegan_tf.metrics import lpips

    convs, _ = lpips._load(lpips.weights_path())
    if x.shape[-1] == 1:
        x = tf.tile(x, [1, 1, 1, 3])
    if x.shape[1] > 256:
        x = _box_resize(x, 256)
    return [_unit(f) for f in lpips._vgg_taps((x - lpips._SHIFT) / lpips._SCALE, convs)]


def lpips_tf_distance(images, targets, target_features=None):
    """LPIPS-VGG (metrics/lpips.py's weights and formula, no face crop) on images at most 256 px -> [N].

    `target_features`: `lpips_tf_distance.features(targets)`, computed once (see `probe_mse_distance`)."""
    import tensorflow as tf

    from stylegan_tf.metrics import lpips

    _, lins = lpips._load(lpips.weights_path())
    feats = target_features if target_features is not None else _lpips_features(targets)
    total = 0.0
    for f, g, w in zip(_lpips_features(images), feats, lins):
        total += tf.reduce_mean(tf.reduce_sum(w * tf.square(f - g), axis=-1), axis=[1, 2])
    return total


lpips_tf_distance.features = _lpips_features


def resolve_distance(distance=None):
    """(name, d) for None / "auto", "lpips", "probe" or a callable."""
    from stylegan_tf.metrics import lpips

    if callable(distance):
        return getattr(distance, "__name__", "custom"), distance
    if distance in (None, "auto"):
        distance = "lpips" if lpips.available() else "probe"
    if distance == "lpips":
        if not lpips.available():
            raise FileNotFoundError(lpips.MISSING)
        return "lpips", lpips_tf_distance
    if distance == "probe":
        return "probe+mse", probe_mse_distance
    raise ValueError(f"distance must be None, 'auto', 'lpips', 'probe' or a callable, got {distance!r}")


def project(G, targets, *, space="w", steps=1000, seed=0, distance=None, frames_every=None, callback=None,
            recipe=RECIPE):
    """Projects target images [N, R, R, C] in [-1, 1] (R, C those of G) into W ("w") or W+ ("w+").

    Returns a `Projection`. `callback(step, loss [N])` is called after each step (progress bars);
    `frames_every=k` keeps the image every k steps and the last one, for an animation of the optimisation.
    """
    import keras
    import tensorflow as tf

    if space not in ("w", "w+"):
        raise ValueError(f"space must be 'w' or 'w+', got {space!r}")
    if int(steps) < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    targets = np.asarray(targets, np.float32)
    want = (G.resolution, G.resolution, G.num_channels)
    if targets.ndim != 4 or targets.shape[1:] != want:
        raise ValueError(f"targets must be [N, {want[0]}, {want[1]}, {want[2]}] for this generator, got "
                         f"{targets.shape}; resize them first (the command line does)")
    name, dist = resolve_distance(distance)
    n, steps = len(targets), int(steps)
    w_avg, w_std = w_statistics(G, recipe["dlatent_avg_samples"])
    rng = np.random.RandomState(seed)  # one stream shared by every image: a batch equals single calls
    layers = 1 if space == "w" else G.num_ws
    w_var = tf.Variable(np.tile(w_avg[None, None], (n, layers, 1)), name="w")  # [N, 1 or num_ws, w_dim]
    shapes = G.noise_shapes(1)
    noise_vars = [None if s is None else tf.Variable(np.tile(rng.randn(*s).astype(np.float32), (n, 1, 1, 1)))
                  for s in shapes]
    trained = [v for v in noise_vars if v is not None]
    for v in trained:
        v.assign(_renormalised(v))
    opt = keras.optimizers.Adam(learning_rate=0.0, beta_1=0.9, beta_2=0.999, epsilon=1e-8)
    variables = [w_var] + trained
    opt.build(variables)
    target_t = tf.constant(targets)
    weight = float(recipe["regularize_noise_weight"])
    features = getattr(dist, "features", None)
    if features is not None:  # the targets' features, once
        target_features = [tf.constant(f) for f in features(target_t)]
        distance_to_targets = lambda images: dist(images, target_t, target_features=target_features)  # noqa: E731
    else:
        distance_to_targets = lambda images: dist(images, target_t)  # noqa: E731

    def synth(w_delta):
        ws = tf.broadcast_to(w_var + w_delta, (n, G.num_ws, G.w_dim))  # [N, num_ws, w_dim]
        return G.synthesis(ws, noise=noise_vars, noise_mode="const")

    @tf.function
    def step(lr, w_delta):
        opt.learning_rate.assign(lr)
        with tf.GradientTape() as tape:
            images = synth(w_delta)
            d = distance_to_targets(images)  # [N]
            loss = tf.reduce_sum(d) + weight * tf.reduce_sum(noise_regularization(trained)) if trained \
                else tf.reduce_sum(d)
        opt.apply_gradients(zip(tape.gradient(loss, variables), variables))
        for v in trained:
            v.assign(_renormalised(v))
        return d, images

    history, frames, frame_steps = [], [], []
    for i in range(steps):
        t = i / steps
        delta = rng.randn(1, layers, G.w_dim).astype(np.float32) * w_noise_scale(t, w_std, recipe)
        d, images = step(tf.constant(learning_rate(t, recipe), tf.float32), tf.constant(delta))
        history.append(d.numpy())
        if frames_every and (i % frames_every == 0):
            frames.append(_to_uint8(images.numpy()))
            frame_steps.append(i)
        if callback is not None:
            callback(i, history[-1])
    images = synth(tf.zeros_like(w_var)).numpy()
    if frames_every:
        frames.append(_to_uint8(images))
        frame_steps.append(steps)
    ws = np.broadcast_to(w_var.numpy(), (n, G.num_ws, G.w_dim)).astype(np.float32)
    return Projection(ws=ws, noise=[None if v is None else v.numpy() for v in noise_vars], images=images,
                      loss=np.stack(history), distance=name, space=space, steps=steps, seed=int(seed),
                      frames=np.stack(frames) if frames else None,
                      frame_steps=np.asarray(frame_steps) if frames else None)


def _renormalised(v):
    """Each image's map to zero mean and unit variance (the official projector's normalize_noise_op)."""
    import tensorflow as tf

    mean = tf.reduce_mean(v, axis=[1, 2, 3], keepdims=True)
    return (v - mean) / tf.sqrt(tf.reduce_mean(tf.square(v - mean), axis=[1, 2, 3], keepdims=True))


def _to_uint8(images):
    return np.clip(np.rint(images * 127.5 + 127.5), 0, 255).astype(np.uint8)
