"""Export: a trained generator as a TF SavedModel (`savedmodel`), ONNX graphs (`onnx_graphs`) or a web page (`web`)."""

from stylegan_tf import _quiet  # noqa: F401,E402  (imports TensorFlow without its C++ start-up lines)

from stylegan_tf.export.savedmodel import SIGNATURES, export_onnx, export_saved_model

__all__ = ["SIGNATURES", "export_onnx", "export_saved_model"]  # the web page: stylegan_tf.export.web.export_web
