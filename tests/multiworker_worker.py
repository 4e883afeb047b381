"""One worker of the MultiWorkerMirroredStrategy test (run by tests/test_distributed.py, not by pytest).

Usage: TF_CONFIG=... python tests/multiworker_worker.py OUT.npz
Trains a tiny config for a few steps and saves every checkpointed variable to OUT.npz.
"""

import os
import sys

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from stylegan_tf import preset  # noqa: E402
from stylegan_tf.training.checkpoint import flatten_objects  # noqa
from stylegan_tf.training.trainer import Trainer  # noqa: E402

CFG = preset("F", resolution=8, fmap_base=32, fmap_max=16, z_dim=16, w_dim=16, mapping_layers=2,
             lod_initial_resolution=8, minibatch_base=4, minibatch_dict={}, tick_kimg=1.0)


def reals(resolution, batch_size):
    def image(i):
        return tf.random.stateless_uniform([resolution, resolution, 3], tf.stack([i, 0]), -1.0, 1.0)

    ds = tf.data.Dataset.range(10**6).map(image).batch(batch_size, drop_remainder=True)
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return ds.with_options(options)


def main(out_path):
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    trainer = Trainer(CFG, strategy=strategy, dataset_fn=reals)
    trainer.train(total_kimg=0.012, progress=False)  # 3 steps of global batch 4 (2 per worker)
    arrays = {}
    for name, v in flatten_objects(trainer.checkpoint_objects()).items():
        arrays[name] = np.array(v.numpy())
    arrays["G_loss"] = np.array(trainer.last_stats["G_loss"])
    np.savez(out_path + ".tmp.npz", **arrays)
    os.replace(out_path + ".tmp.npz", out_path)


if __name__ == "__main__":
    main(sys.argv[1])
