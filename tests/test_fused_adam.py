"""train_step.Adam (TensorFlow's fused ResourceApplyAdam kernel) against Keras' own Adam update."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from stylegan_tf.training.train_step import Adam


def run(cls, steps=20, **kwargs):
    rng = np.random.default_rng(0)
    v = keras.Variable(rng.standard_normal((5, 7)).astype(np.float32))
    opt = cls(learning_rate=0.002, **kwargs)
    opt.build([v])

    @tf.function
    def apply(g):
        opt.apply([g], [v])

    for i in range(steps):  # gradients of growing size, as a GAN's are not
        apply(tf.constant(rng.standard_normal((5, 7)).astype(np.float32) * (i + 1)))
    return [np.array(x.numpy()) for x in opt.variables], v.numpy()


@pytest.mark.parametrize("kwargs", [dict(beta_1=0.0, beta_2=0.99, epsilon=1e-8),  # the official StyleGAN Adam
                                    dict(beta_1=0.9, beta_2=0.999, epsilon=1e-7)])
def test_fused_adam_equals_keras_adam(kwargs):
    (it, lr, m, vel), w = run(keras.optimizers.Adam, **kwargs)
    (it2, lr2, m2, vel2), w2 = run(Adam, **kwargs)
    assert it == it2 == 20 and lr == lr2
    moved = np.abs(w - run(keras.optimizers.Adam, steps=0, **kwargs)[1]).max()
    assert moved > 0.01  # the weights did move
    # the kernel forms 1 - beta_2 in float32, Keras in Python floats: for 0.99, 0.00999999 against 0.01;
    # for 0.999, 0.00099999 against 0.001 (a relative 1.3e-5 in v's rate)
    np.testing.assert_allclose(w2, w, rtol=1e-5, atol=1e-6 * moved)
    np.testing.assert_allclose(m2, m, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(vel2, vel, rtol=3e-5, atol=1e-7)


def test_amsgrad_uses_keras_update():
    (_, _, m, vel, vhat), w = run(keras.optimizers.Adam, amsgrad=True)
    (_, _, m2, vel2, vhat2), w2 = run(Adam, amsgrad=True)
    np.testing.assert_array_equal(w2, w)
