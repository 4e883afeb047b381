"""The generator's mapping and synthesis networks as two ONNX graphs (needs the optional `tf2onnx`).

    mapping.onnx:    z: float32 [N, z_dim]                                   -> ws: float32 [N, num_ws, w_dim]
    synthesis.onnx:  ws: float32 [N, num_ws, w_dim], noise{i}: float32 [N or 1, H_i, H_i, 1]
                                                                             -> images: float32 [N, R, R, C]

`mapping` returns the untruncated ws, so truncation (w' = w_avg + psi (w - w_avg) on layers < cutoff, appendix B)
and style mixing (layers >= crossover from a second latent, Sec. 3.1) are done on W by the caller, as
`Generator.truncate` and `Generator.style_mix` do, and as the official `G_style` does between its
`G_mapping` and `G_synthesis` components. `synthesis` takes one explicit noise map per layer that has a noise
input (`noise0` ... in layer order, missing for models without noise, rows A-D of Table 1): the stored maps
(`stored_noise(G)`) give the official `randomize_noise=False` images, zeros switch a layer's noise off (Fig. 5).

`stylegan_tf.export.savedmodel.export_onnx` writes the one-graph `generate(z, psi)` of the SavedModel instead.
"""

import os

import numpy as np
import tensorflow as tf

__all__ = ["export_mapping_onnx", "export_synthesis_onnx", "noise_layers", "stored_noise", "OPSET"]

OPSET = 18


def _tf2onnx():
    try:
        import tf2onnx
    except ImportError as e:
        raise ValueError("ONNX export needs tf2onnx: pip install tf2onnx onnxruntime "
                         "(or pip install -e \".[test]\")") from e
    return tf2onnx


def noise_layers(G):
    """Indices of the synthesis layers that have a noise input (all of them for rows E-F, none for A-D)."""
    return [i for i, layer in enumerate(G.synthesis.synthesis_layers) if layer.noise is not None]


def stored_noise(G):
    """The stored constant noise maps `[1, H, W, 1]` float32, one per layer in `noise_layers(G)`."""
    return [np.asarray(G.synthesis.synthesis_layers[i].noise.const_noise, np.float32) for i in noise_layers(G)]


def _convert(fn, signature, path, opset):
    tf2onnx = _tf2onnx()
    tmp = f"{path}.tmp-{os.getpid()}"
    logger, level = tf.get_logger(), tf.get_logger().level
    logger.setLevel("ERROR")  # tf2onnx logs its rewriting steps at INFO through TensorFlow's logger
    try:
        tf2onnx.convert.from_function(tf.function(fn, input_signature=signature), input_signature=signature,
                                      opset=opset, output_path=tmp)
    finally:
        logger.setLevel(level)
    os.replace(tmp, path)
    return path


def export_mapping_onnx(G, path, opset=OPSET):
    """Writes f: z -> ws `[N, num_ws, w_dim]` (untruncated) as ONNX at `path`; returns `path`."""
    signature = [tf.TensorSpec([None, G.z_dim], tf.float32, name="z")]

    def mapping(z):
        return {"ws": tf.cast(G.mapping(z), tf.float32)}

    return _convert(mapping, signature, path, opset)


def export_synthesis_onnx(G, path, opset=OPSET):
    """Writes g: (ws, noise0, noise1, ...) -> images float32 in [-1, 1] as ONNX at `path`; returns `path`.

    One noise input per layer of `noise_layers(G)`, `[N or 1, H, W, 1]` (a map of batch 1 is broadcast).
    """
    layers = noise_layers(G)
    shapes = G.noise_shapes(None)
    signature = [tf.TensorSpec([None, G.num_ws, G.w_dim], tf.float32, name="ws")]
    signature += [tf.TensorSpec(shapes[i], tf.float32, name=f"noise{k}") for k, i in enumerate(layers)]

    def synthesis(ws, *noise):
        per_layer = [None] * G.num_ws
        for i, n in zip(layers, noise):
            per_layer[i] = n
        return {"images": G.synthesis(ws, noise=per_layer, noise_mode="none")}

    return _convert(synthesis, signature, path, opset)
