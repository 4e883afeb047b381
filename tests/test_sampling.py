"""The images metrics sample: the same `seed` gives the same images, whatever the session drew before."""

import numpy as np

from stylegan_tf import build_generator, preset
from stylegan_tf.metrics.sampling import generated_images, seeded_noise
from tolerance import assert_close


def _noisy_generator():
    G = build_generator(preset("F", "tiny"))
    for layer in G.synthesis.synthesis_layers:
        layer.noise.strength.assign(np.ones(layer.noise.strength.shape, np.float32))  # a fresh G ignores noise (b = 0)
    return G


def test_generated_images_follow_the_seed_not_the_session_history():
    G = _noisy_generator()
    first = np.concatenate(list(generated_images(G, 8, batch_size=4, seed=3)))
    G(np.zeros((2, G.z_dim), np.float32), noise_mode="random")  # advances every noise layer's generator
    again = np.concatenate(list(generated_images(G, 8, batch_size=4, seed=3)))
    assert_close(first, again)  # other noise would differ by about 1 (strength 1)
    other = np.concatenate(list(generated_images(G, 8, batch_size=4, seed=4)))
    assert np.abs(other - first).mean() > 1e-3  # another seed: other latents and other noise


def test_seeded_noise_restores_the_generators_and_separates_the_layers():
    G = _noisy_generator()
    generators = [layer.noise.seed_generator for layer in G.synthesis.synthesis_layers]
    before = [g.state.numpy().copy() for g in generators]
    with seeded_noise(G, 7):
        inside = [g.state.numpy().copy() for g in generators]
        z = np.random.RandomState(0).randn(2, G.z_dim).astype(np.float32)
        a = G(z, noise_mode="random").numpy()
    with seeded_noise(G, 7):
        b = G(z, noise_mode="random").numpy()
    assert_close(a, b)
    assert len({tuple(s) for s in inside}) == len(generators)  # no two layers share a noise stream
    for g, state in zip(generators, before):
        np.testing.assert_array_equal(g.state.numpy(), state)
