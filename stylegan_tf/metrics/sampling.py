"""The images metrics compare: batches of generated and of real images, seeded and of a fixed count.

Both yield float32 NHWC batches in [-1, 1] (convert with `stylegan_tf.generation.viz.to_uint8` where
a metric works on uint8, as the official metrics do) and stop after exactly `num_images`.
"""

import contextlib

import numpy as np

__all__ = ["latents", "seeded_noise", "generated_images", "real_images"]


def latents(num_images, z_dim, seed=0):
    """z [num_images, z_dim] float32 from `RandomState(seed)`: the same latents for the same seed."""
    return np.random.RandomState(seed).randn(num_images, z_dim).astype(np.float32)


@contextlib.contextmanager
def seeded_noise(G, seed):
    """Within the block, G's "random" noise inputs draw from generators seeded by `seed`; restored after.

    Each noise layer keeps a Keras `SeedGenerator` whose state advances with every call, so without this a
    metric's noise (and its last digits) would depend on what the session generated before. Layer i starts
    from state [seed * 1000 + i + 1, 0]; the layers' previous states come back when the block ends.
    """
    synthesis_layers = getattr(getattr(G, "synthesis", None), "synthesis_layers", [])  # any callable G is measurable
    layers = [layer.noise for layer in synthesis_layers if getattr(layer, "noise", None) is not None]
    saved = [layer.seed_generator.state.numpy() for layer in layers]
    for i, layer in enumerate(layers):
        state = layer.seed_generator.state
        state.assign(np.array([seed * 1000 + i + 1, 0], dtype=saved[i].dtype))
    try:
        yield
    finally:
        for layer, state in zip(layers, saved):
            layer.seed_generator.state.assign(state)


def generated_images(G, num_images, batch_size=64, seed=0, psi=1.0, noise_mode="random"):
    """Yields G's images for `num_images` seeded latents, in batches, without truncation by default.

    The official metrics sample `Gs` with psi = 1 and random noise; so do we, with the noise seeded by `seed`
    too (`seeded_noise`), so that a metric gives the same value whatever ran before it. Batches run through
    one `tf.function`, so the graph is traced once per batch shape.
    """
    import tensorflow as tf

    run = tf.function(lambda z: G(z, truncation_psi=psi, noise_mode=noise_mode))
    z = latents(num_images, G.z_dim, seed)
    with seeded_noise(G, seed):
        for i in range(0, num_images, batch_size):
            yield run(tf.constant(z[i:i + batch_size])).numpy()


def real_images(data, resolution, num_images, batch_size=64, seed=0, mirror_augment=False):
    """Yields `num_images` real images at `resolution` from `data`, shuffled with `seed`, in batches.

    Raises ValueError if the source holds fewer than `num_images` images (a metric must say how many
    images it compared, so it never silently repeats or truncates).
    """
    from stylegan_tf.data import dataset_info, make_dataset

    info = dataset_info(data)
    if info.get("num_images") is not None and info["num_images"] < num_images:
        raise ValueError(f"{data} holds {info['num_images']} images, fewer than the {num_images} asked for; "
                         f"lower num_images")
    ds = make_dataset(data, resolution, 1, mirror_augment=mirror_augment, seed=seed, shuffle=True, repeat=False)
    ds = ds.unbatch().batch(batch_size).take(-(-num_images // batch_size))
    left = num_images
    for batch in ds:
        batch = batch.numpy()[:left]
        left -= len(batch)
        yield batch
        if left <= 0:
            break
