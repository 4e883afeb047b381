"""The networks of Fig. 1: mapping f, synthesis g, the generator G = g(f(z)) and the discriminator D.

Networks take plain keyword arguments; `build_generator(cfg)` / `build_discriminator(cfg)` are the
only bridge from a `StyleGANConfig` to a model.
"""

from stylegan_tf import _quiet  # noqa: F401,E402  (imports TensorFlow without its C++ start-up lines)

from stylegan_tf.networks.discriminator import Discriminator, build_discriminator, discriminator_kwargs
from stylegan_tf.networks.generator import Generator, build_generator, generator_kwargs
from stylegan_tf.networks.mapping import MappingNetwork
from stylegan_tf.networks.synthesis import SynthesisLayer, SynthesisNetwork

__all__ = ["Discriminator", "Generator", "MappingNetwork", "SynthesisLayer", "SynthesisNetwork",
           "build_discriminator", "build_generator", "discriminator_kwargs", "generator_kwargs"]
