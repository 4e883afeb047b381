"""A trained generator as a TF Serving SavedModel (`python -m stylegan_tf export RUN_DIR OUT`).

Writes `OUT/<version>/` (default `OUT/1/`, the TF Serving layout) with `keras.export.ExportArchive`.
The SavedModel needs only TensorFlow to run (`tf.saved_model.load`, TF Serving, `saved_model_cli`),
never `stylegan_tf`. Four signatures, with fixed input specs (name, dtype, shape):

    generate(z: float32 [N, z_dim], psi: float32 [])           -> images: uint8 [N, R, R, C]
    mapping(z: float32 [N, z_dim])                             -> ws: float32 [N, num_ws, w_dim]
    synthesis(ws: float32 [N, num_ws, w_dim])                  -> images: float32 [N, R, R, C] in [-1, 1]
    style_mix(z_a, z_b: float32 [N, z_dim], crossover: int32 []) -> images: uint8 [N, R, R, C]

Keras also adds `serving_default`, the same function as `generate`. `generate` truncates layers
below the model's `truncation_cutoff` with the given psi (1 = off); `mapping` returns the
untruncated ws; `style_mix` takes layers < crossover from z_a and the rest from z_b, then applies
the model's default truncation (psi, cutoff), as `G(z)` does. uint8 is round(x * 127.5 + 127.5)
clipped to [0, 255], the same as `stylegan_tf.viz.to_uint8`.

Noise: the exported graph uses each layer's stored constant noise map (`noise_mode="const"`, the
official `randomize_noise=False`), which is saved with the weights. The SavedModel is therefore
deterministic, and `generate(z, psi)` equals `to_uint8(G(z, truncation_psi=psi, noise_mode="const"))`
of the Keras model for the same inputs (that is what tests/test_export.py checks in a process where
`stylegan_tf` cannot be imported), up to float rounding: a traced graph may round differently from
eager ops, which instance norm magnifies where a feature map is nearly constant (early in training);
compare with the Keras model under `tf.function` for a tight match. Fresh noise per call is not exported.

Inputs of another dtype or shape are refused by TensorFlow before the graph runs, with a message that
lists the expected `TensorSpec`s. Values are checked too, as TF Serving clients expect (an
InvalidArgument error, HTTP 400, naming the input, instead of silently black images): every input
must be finite (no NaN or Inf), and `psi` must lie in PSI_RANGE = [-1, 1], the range of the paper's
truncation figure (Fig. 8: psi = 1 is no truncation, 0 the mean face, -1 its "anti-face"); values
beyond extrapolate past W's training distribution (the Keras model still accepts them). With `--onnx` (needs the optional `tf2onnx`), `generate` is also
written as `OUT/<version>/generate.onnx`.
"""

import os
import shutil

import tensorflow as tf

__all__ = ["export_saved_model", "export_onnx", "SIGNATURES"]

SIGNATURES = ("generate", "mapping", "synthesis", "style_mix")
PSI_RANGE = (-1.0, 1.0)


def _uint8(images):
    # round half to even, like np.rint in viz.to_uint8
    return tf.cast(tf.clip_by_value(tf.round(images * 127.5 + 127.5), 0.0, 255.0), tf.uint8)


def _checked(x, shape, name=None):
    # signature calls skip the TensorSpec shape check; this refuses a wrong shape with a message naming the
    # expected one ("Shape of tensor z [2,5] is not compatible with expected shape [?,16]") before any op runs;
    # float inputs must also be finite
    x = tf.ensure_shape(x, shape)
    if name is not None:
        x = tf.debugging.assert_all_finite(x, f"{name} must be finite (no NaN or Inf)")
    return x


def _checked_psi(psi):
    psi = _checked(psi, [], "psi")
    lo, hi = PSI_RANGE
    message = f"psi must be in [{lo:g}, {hi:g}] (1 = no truncation, 0 = the average image)"
    with tf.control_dependencies([tf.debugging.assert_greater_equal(psi, lo, message=message),
                                  tf.debugging.assert_less_equal(psi, hi, message=message)]):
        return tf.identity(psi)


def _endpoints(G):
    """The four functions and their input signatures, built on the Keras model `G`."""
    z_spec = lambda name: tf.TensorSpec([None, G.z_dim], tf.float32, name=name)  # noqa: E731
    ws_spec = tf.TensorSpec([None, G.num_ws, G.w_dim], tf.float32, name="ws")
    cutoff = G.truncation_cutoff

    def generate(z, psi):
        z, psi = _checked(z, [None, G.z_dim], "z"), _checked_psi(psi)
        ws = G.truncate(G.mapping(z), psi, cutoff)  # [N, num_ws, w_dim]
        return {"images": _uint8(G.synthesis(ws, noise_mode="const"))}

    def mapping(z):
        z = _checked(z, [None, G.z_dim], "z")
        return {"ws": tf.cast(G.mapping(z), tf.float32)}

    def synthesis(ws):
        ws = _checked(ws, [None, G.num_ws, G.w_dim], "ws")
        return {"images": G.synthesis(ws, noise_mode="const")}

    def style_mix(z_a, z_b, crossover):
        z_a, z_b = _checked(z_a, [None, G.z_dim], "z_a"), _checked(z_b, [None, G.z_dim], "z_b")
        crossover = _checked(crossover, [])
        tf.debugging.assert_equal(tf.shape(z_a)[0], tf.shape(z_b)[0],
                                  message="z_a and z_b must have the same batch size")
        tf.debugging.assert_less_equal(crossover, G.num_ws, message=f"crossover must be in [0, {G.num_ws}]")
        tf.debugging.assert_greater_equal(crossover, 0, message=f"crossover must be in [0, {G.num_ws}]")
        ws = G.style_mix(G.mapping(z_a), G.mapping(z_b), crossover)  # [N, num_ws, w_dim]
        ws = G.truncate(ws, G.truncation_psi, cutoff)
        return {"images": _uint8(G.synthesis(ws, noise_mode="const"))}

    return {
        "generate": (generate, [z_spec("z"), tf.TensorSpec([], tf.float32, name="psi")]),
        "mapping": (mapping, [z_spec("z")]),
        "synthesis": (synthesis, [ws_spec]),
        "style_mix": (style_mix, [z_spec("z_a"), z_spec("z_b"), tf.TensorSpec([], tf.int32, name="crossover")]),
    }


def export_saved_model(G, out_dir, version=1, overwrite=False):
    """Writes `G`'s four signatures as a SavedModel in `out_dir/<version>/`; returns that folder.

    The folder appears only when complete (written to a temporary name, then renamed).
    """
    import keras

    final = os.path.join(os.fspath(out_dir), str(int(version)))
    if os.path.exists(final) and not overwrite:
        raise ValueError(f"{final} already exists: pick another --version or OUT, or pass --overwrite")
    os.makedirs(os.path.dirname(final) or ".", exist_ok=True)
    tmp = f"{final}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    archive = keras.export.ExportArchive()
    archive.track(G)
    for name, (fn, signature) in _endpoints(G).items():
        archive.add_endpoint(name, fn, input_signature=signature)
    logger, level = tf.get_logger(), tf.get_logger().level
    logger.setLevel("ERROR")  # TF logs "Assets written to ..." at INFO even with verbose=False
    try:
        archive.write_out(tmp, verbose=False)
    finally:
        logger.setLevel(level)
    if os.path.exists(final):
        shutil.rmtree(final)
    os.rename(tmp, final)
    return final


def export_onnx(G, path, opset=18):
    """Converts the `generate` signature to ONNX at `path` (needs the optional `tf2onnx` package)."""
    try:
        import tf2onnx
    except ImportError as e:
        raise ValueError("ONNX export needs tf2onnx: pip install tf2onnx onnxruntime") from e
    fn, signature = _endpoints(G)["generate"]
    tmp = f"{path}.tmp-{os.getpid()}"
    tf2onnx.convert.from_function(tf.function(fn, input_signature=signature), input_signature=signature,
                                  opset=opset, output_path=tmp)
    os.replace(tmp, path)
    return path
