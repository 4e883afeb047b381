"""The factor probe: a small CNN, trained by our own code on the embedded dataset, that reads its factors.

No StyleGAN implementation has ground truth to measure a generator against; `synthetic-faces` does,
because every real image comes from a record of factors. The probe learns to read them back from 32 px
images (the CPU demo's resolution; larger images are box-downsampled as the dataset's levels are,
smaller ones upsampled by pixel repetition, where its accuracy is not measured):

    binary heads      eyes_open, smiling, glasses, long_hair, bangs         p = sigmoid(logit)
    regression heads  the continuous factors scaled to [-1, 1]; background_hue, which is circular,
                      as (cos 2 pi h, sin 2 pi h)
    left out          detail_seed (stochastic detail, not a factor an image can be read for)

Its 128-d penultimate layer is the feature space of FD_probe (`fd_probe.py`); its conv stages give the
offline path-length distance (`ppl.py`); its binary heads label images for linear separability.

The shipped weights (`weights/probe.weights.h5`, about 1 MB) are retrained, deterministically for one
machine and oneDNN setting, by

    nice -n 5 python -m stylegan_tf.metrics.probe --retrain     # a few CPU-minutes; prints held-out scores

Paper: none (our addition); it plays the role of the paper's 40 CelebA attribute classifiers
(Sec. 4.2) and of Inception-v3 in FID, for a dataset where the true factors are known.
"""

import argparse
import functools
import os
import time

import numpy as np

from stylegan_tf.data import faces

__all__ = ["PROBE_RESOLUTION", "BINARY", "CONTINUOUS", "CIRCULAR", "PROBE_FACTORS", "WEIGHTS_PATH", "build_probe",
           "load_probe", "to_probe_resolution", "probe_outputs", "decode", "predict_factors", "training_images",
           "train_probe", "evaluate_probe"]

PROBE_RESOLUTION = 32
BINARY = faces.BINARY_ATTRIBUTES
CONTINUOUS = tuple(f[0] for f in faces.FACTORS if f[1] == "continuous")
PROBE_FACTORS = tuple(n for n in faces.FACTOR_NAMES if n in BINARY + CONTINUOUS)  # the dataset's order
CIRCULAR = ("background_hue",)
_RANGES = {f[0]: (f[2], f[3]) for f in faces.FACTORS}
WEIGHTS_PATH = os.path.join(os.path.dirname(__file__), "weights", "probe.weights.h5")
TRAIN_SEED, HELD_OUT_SEED = 101, 202  # dataset seeds disjoint from the training data's seed 0


def build_probe(width=32, feature_dim=128):
    """The probe: three stride-2 conv stages (32 -> 16 -> 8 -> 4 px), a 128-d feature layer, two heads.

    Returns:
        A Keras functional model, images [N, 32, 32, 3] in [-1, 1] -> dict with "stage1" [N, 16, 16, w],
        "stage2" [N, 8, 8, 2w], "stage3" [N, 4, 4, 3w], "features" [N, feature_dim], "logits" [N, 5]
        (BINARY order) and "regression" [N, len(CONTINUOUS) + 1] (scaled factors, hue as cos and sin).
    """
    import keras

    x = inputs = keras.Input((PROBE_RESOLUTION, PROBE_RESOLUTION, 3))
    stages = {}
    for s, filters in enumerate((width, 2 * width, 3 * width), start=1):
        x = keras.layers.Conv2D(filters, 3, padding="same", activation="leaky_relu", name=f"conv{s}a")(x)
        x = keras.layers.Conv2D(filters, 3, strides=2, padding="same", activation="leaky_relu", name=f"conv{s}b")(x)
        stages[f"stage{s}"] = x
    x = keras.layers.Conv2D(32, 1, activation="leaky_relu", name="reduce")(x)  # [N, 4, 4, 32]
    x = keras.layers.Flatten()(x)  # [N, 512]: position stays readable (no global pooling)
    features = keras.layers.Dense(feature_dim, activation="leaky_relu", name="features")(x)
    logits = keras.layers.Dense(len(BINARY), name="logits")(features)
    regression = keras.layers.Dense(len(CONTINUOUS) + 1, name="regression")(features)
    return keras.Model(inputs, dict(stages, features=features, logits=logits, regression=regression), name="probe")


@functools.lru_cache(maxsize=1)
def load_probe(path=WEIGHTS_PATH):
    """The probe with the shipped weights (built once per process)."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no probe weights at {path}: run `python -m stylegan_tf.metrics.probe --retrain`")
    model = build_probe()
    model.load_weights(path)
    return model


def to_probe_resolution(images):
    """images [N, R, R, 3] in [-1, 1] (NumPy) -> [N, 32, 32, 3]: box average down, pixel repetition up."""
    images = np.asarray(images, np.float32)
    r = images.shape[1]
    if r > PROBE_RESOLUTION:
        k = r // PROBE_RESOLUTION
        images = images.reshape(len(images), PROBE_RESOLUTION, k, PROBE_RESOLUTION, k, 3).mean(axis=(2, 4))
    elif r < PROBE_RESOLUTION:
        k = PROBE_RESOLUTION // r
        images = images.repeat(k, axis=1).repeat(k, axis=2)
    return images


def probe_outputs(images, model=None, batch_size=256, keys=("features", "logits", "regression")):
    """Runs the probe on images [N, R, R, 3] in [-1, 1]; returns {key: NumPy array} for `keys`."""
    model = load_probe() if model is None else model
    images = to_probe_resolution(images)
    parts = {k: [] for k in keys}
    for i in range(0, len(images), batch_size):
        out = model(images[i:i + batch_size], training=False)
        for k in keys:
            parts[k].append(np.asarray(out[k]))
    return {k: np.concatenate(v) for k, v in parts.items()}


def decode(logits, regression):
    """Head outputs -> {factor: [N] float64}: probabilities for BINARY, factor units for CONTINUOUS."""
    out = {name: 1.0 / (1.0 + np.exp(-np.asarray(logits[:, k], np.float64))) for k, name in enumerate(BINARY)}
    for k, name in enumerate(CONTINUOUS):
        low, high = _RANGES[name]
        if name in CIRCULAR:
            c, s = regression[:, k], regression[:, k + 1]
            out[name] = (np.arctan2(s, c) / (2 * np.pi)) % 1.0
        else:
            out[name] = low + (np.asarray(regression[:, k], np.float64) + 1) / 2 * (high - low)
    return out


def predict_factors(images, model=None, batch_size=256):
    """{factor: [N]} read from images [N, R, R, 3] in [-1, 1] (see `decode`)."""
    out = probe_outputs(images, model, batch_size, keys=("logits", "regression"))
    return decode(out["logits"], out["regression"])


def _targets(labels):
    """Factor records -> (binary [N, 5], regression [N, len(CONTINUOUS) + 1]) training targets."""
    binary = np.stack([labels[name] for name in BINARY], axis=1).astype(np.float32)
    columns = []
    for name in CONTINUOUS:
        v = labels[name].astype(np.float64)
        if name in CIRCULAR:
            columns += [np.cos(2 * np.pi * v), np.sin(2 * np.pi * v)]
        else:
            low, high = _RANGES[name]
            columns.append(2 * (v - low) / (high - low) - 1)
    return binary, np.stack(columns, axis=1).astype(np.float32)


def training_images(num_images, seed, chunk=500):
    """(images [N, 32, 32, 3] in [-1, 1], factor records) drawn as the dataset's 32 px level is:
    rendered at 64 px, rounded to uint8, 2x2 box-averaged and rounded again."""
    images, labels = [], []
    for start in range(0, num_images, chunk):
        im64, factors = faces.generate_faces(min(chunk, num_images - start), 64, seed, start)
        im32 = np.rint(im64.reshape(-1, 32, 2, 32, 2, 3).astype(np.float32).mean(axis=(2, 4)))
        images.append(im32 / 127.5 - 1)
        labels.append(factors)
    return np.concatenate(images).astype(np.float32), np.concatenate(labels)


def train_probe(num_train=24000, epochs=10, batch_size=64, lr=2e-3, seed=0, width=32, log=print):
    """Trains a probe from scratch, deterministically for a given machine: seeded init, data and order.

    Mirror augmentation flips a seeded half of each epoch's images and negates head_x and head_turn.
    Loss: binary cross-entropy on the attribute logits + mean squared error on the scaled factors.
    """
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    images, labels = training_images(num_train, TRAIN_SEED)
    binary, regression = _targets(labels)
    negate = np.array([1.0 if name in faces.MIRROR_NEGATE else 0.0 for name in CONTINUOUS] + [0.0], np.float32)
    model = build_probe(width)
    steps = epochs * (num_train // batch_size)
    opt = keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(lr, steps))
    opt.build(model.trainable_variables)

    @tf.function
    def step(x, b, r):
        with tf.GradientTape() as tape:
            out = model(x, training=True)
            bce = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(b, out["logits"]))
            mse = tf.reduce_mean(tf.square(out["regression"] - r))
            loss = bce + mse
        opt.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
        return loss

    rng = np.random.RandomState(seed)
    for epoch in range(epochs):
        order = rng.permutation(num_train)
        flip = rng.rand(num_train) < 0.5
        losses = []
        for i in range(0, num_train - batch_size + 1, batch_size):
            idx = order[i:i + batch_size]
            x, r = images[idx], regression[idx].copy()
            x[flip[idx]] = x[flip[idx], :, ::-1]  # mirror: the image's x axis and the signed factors
            r[flip[idx]] *= np.where(negate > 0, -1.0, 1.0).astype(np.float32)
            losses.append(float(step(tf.constant(x), tf.constant(binary[idx]), tf.constant(r))))
        log(f"epoch {epoch + 1}/{epochs}: loss {np.mean(losses):.4f}")
    return model


def evaluate_probe(model=None, num_images=4000, seed=HELD_OUT_SEED):
    """Held-out scores: {factor: accuracy} for BINARY, {factor: R^2} for CONTINUOUS (circular R^2 for hue:
    1 - mean squared wrapped error / variance of a uniform hue, 1/12)."""
    images, labels = training_images(num_images, seed)
    pred = predict_factors(images, model)
    scores = {}
    for name in PROBE_FACTORS:
        truth = labels[name].astype(np.float64)
        if name in BINARY:
            scores[name] = float(np.mean((pred[name] > 0.5) == (truth > 0.5)))
        elif name in CIRCULAR:
            err = (pred[name] - truth + 0.5) % 1.0 - 0.5
            scores[name] = float(1 - np.mean(err**2) / (1 / 12))
        else:
            scores[name] = float(1 - np.mean((pred[name] - truth) ** 2) / np.var(truth))
    return scores


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m stylegan_tf.metrics.probe",
                                     description="Retrain the factor probe or report its held-out scores.")
    parser.add_argument("--retrain", action="store_true", help="train from scratch and write --out")
    parser.add_argument("--out", default=WEIGHTS_PATH, help="weights file to write (default: the shipped one)")
    parser.add_argument("--num-train", type=int, default=24000)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    model = None
    if args.retrain:
        start, cpu = time.perf_counter(), time.process_time()
        model = train_probe(args.num_train, args.epochs, seed=args.seed)
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        model.save_weights(args.out)
        print(f"wrote {args.out} ({os.path.getsize(args.out) / 1e6:.2f} MB) in {time.perf_counter() - start:.0f} s "
              f"({time.process_time() - cpu:.0f} CPU-s, load average {os.getloadavg()[0]:.1f})")
    for name, score in evaluate_probe(model or load_probe(args.out)).items():
        print(f"{name:15s} {'accuracy' if name in BINARY else 'R^2':8s} {score:.4f}")


if __name__ == "__main__":
    main()
