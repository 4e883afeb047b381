"""Random draws that differ between tf.distribute replicas but stay reproducible for a seed.

`keras.random` with a `SeedGenerator` gives identical numbers on every replica (the generator
state is mirrored), which would make every GPU draw the same noise and latents. We draw the
seed from the layer's `SeedGenerator` and fold in the replica id, then use TF's stateless ops.
"""

import tensorflow as tf


def _replica_seed(seed_generator):
    seed = tf.cast(seed_generator.next(), tf.int32)  # [2]
    ctx = tf.distribute.get_replica_context()
    if ctx is not None and ctx.num_replicas_in_sync > 1:
        seed = seed + tf.stack([0, tf.cast(ctx.replica_id_in_sync_group, tf.int32) * 7919])
    return seed


def replica_normal(shape, seed_generator, dtype="float32"):
    """N(0, 1) of `shape`, different on each replica, deterministic for the generator's seed."""
    return tf.random.stateless_normal(shape, seed=_replica_seed(seed_generator), dtype=dtype)
