"""Linear separability: how well a linear hyperplane in Z or W splits images by each binary attribute.

    LS = exp(sum_i H(Y_i | X_i))  =  2^(sum_i H(Y_i | X_i) in bits)

For N generated images (psi = 1, random noise) the factor probe's attribute heads give
p_i = sigmoid(logit_i) for each binary attribute i (the paper used 40 CelebA classifiers; ours are
trained on the true factors). Per attribute: keep the N/2 images with the most confident prediction
max(p, 1 - p), label them Y = [p > 0.5], fit `sklearn.svm.LinearSVC()` on their latents, predict X on
the same latents, and take the conditional entropy H(Y | X) of the 2x2 joint table, in bits, clipped at 0.
Done once with z and once with w (the last style input, ws[:, -1]). The minimum is 1 (every attribute
exactly linear); each attribute that is a coin flip given the latent multiplies LS by up to 2.

Registered metric (see `stylegan_tf.metrics.calc_metric`):
    "ls" -> {"ls_z", "ls_w", "h_z/<attribute>", "h_w/<attribute>" (bits), "num_images", "num_keep"}
The default is the official 200,000 images when TensorFlow sees a GPU and 10,000 on a CPU
(about 12 CPU-s for the shipped 32 px row-F model, which gives ls_z 3.44 / 3.50 / 3.47 and ls_w 1.02 / 1.03 /
1.02 over seeds 0, 1, 2). The seed picks the latents and the noise inputs' draws (`sampling.seeded_noise`).
An attribute the probe reads as one class on every kept image cannot be fitted; as the official code, it then
counts as perfectly separable (H = 0).

Paper: Karras et al. 2019, Sec. 4.2; the official `metrics/linear_separability.py` (`LS._evaluate`,
`conditional_entropy`).
"""

import warnings

import numpy as np

from stylegan_tf.metrics import register_metric

__all__ = ["conditional_entropy", "separability", "ls"]


def _entropy_bits(p):
    p = p[p > 0]
    return float(-np.sum(p * np.log2(p)))


def conditional_entropy(predicted, labels):
    """H(Y | X) in bits from two binary arrays: X = `predicted`, Y = `labels` (H(Y) - I(X; Y), >= 0)."""
    predicted, labels = np.asarray(predicted).astype(bool), np.asarray(labels).astype(bool)
    p = np.array([[np.mean(~predicted & ~labels), np.mean(~predicted & labels)],
                  [np.mean(predicted & ~labels), np.mean(predicted & labels)]])  # [X, Y]
    # H(Y|X) = H(X, Y) - H(X); the official H(Y) - I(X; Y) is the same quantity
    return max(0.0, _entropy_bits(p.ravel()) - _entropy_bits(p.sum(axis=1)))


def separability(latents, probs, num_keep=None):
    """LS score and per-attribute H(Y|X) in bits for latents [N, D] and attribute probabilities [N, A].

    Returns:
        (2 ** sum of entropies, entropies [A]).
    """
    import sklearn.svm
    from sklearn.exceptions import ConvergenceWarning

    latents, probs = np.asarray(latents, np.float64), np.asarray(probs, np.float64)
    num_keep = len(latents) // 2 if num_keep is None else int(num_keep)
    if num_keep <= latents.shape[1] + 1:
        warnings.warn(f"linear separability of {num_keep} kept images in {latents.shape[1]} dimensions is 1 by "
                      f"construction (a hyperplane splits any labelling of up to {latents.shape[1] + 1} points); "
                      f"use more than {2 * (latents.shape[1] + 1)} images", stacklevel=2)
    entropies = []
    for a in range(probs.shape[1]):
        confidence = np.maximum(probs[:, a], 1 - probs[:, a])
        keep = np.argsort(-confidence, kind="stable")[:num_keep]  # the most confident half
        labels = (probs[keep, a] > 0.5).astype(int)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)  # the official code ignores it too
                svm = sklearn.svm.LinearSVC().fit(latents[keep], labels)
            predicted = svm.predict(latents[keep])
        except ValueError:  # one class only: the official code assumes a perfect prediction
            predicted = labels
        entropies.append(conditional_entropy(predicted, labels))
    entropies = np.array(entropies)
    return float(2.0 ** np.sum(entropies)), entropies


@register_metric("ls")
def ls(G, data=None, num_images=None, seed=0, batch_size=64):
    """Linear separability of G's Z and W for the probe's binary attributes; `data` is not used."""
    import tensorflow as tf

    from stylegan_tf.metrics.ppl import default_num_images
    from stylegan_tf.metrics.probe import BINARY, load_probe, probe_outputs

    num_images = default_num_images(200000, 10000) if num_images is None else int(num_images)
    from stylegan_tf.metrics.sampling import latents, seeded_noise

    z = latents(num_images, G.z_dim, seed)
    run = tf.function(lambda z: (lambda ws: (ws[:, -1], G.synthesis(ws, noise_mode="random")))(G.mapping(z)))
    w, logits = [], []
    with seeded_noise(G, seed):
        for i in range(0, num_images, batch_size):
            w_last, images = run(tf.constant(z[i:i + batch_size]))
            w.append(w_last.numpy())
            logits.append(probe_outputs(images.numpy(), load_probe(), keys=("logits",))["logits"])
    probs = 1.0 / (1.0 + np.exp(-np.concatenate(logits).astype(np.float64)))  # [N, A]
    result = {"num_images": int(num_images), "num_keep": int(num_images // 2)}
    for space, x in (("z", z), ("w", np.concatenate(w))):
        score, entropies = separability(x, probs)
        result[f"ls_{space}"] = score
        result.update({f"h_{space}/{name}": float(h) for name, h in zip(BINARY, entropies)})
    return result
