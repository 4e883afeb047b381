"""A trained generator as a static web page that runs it in the browser (`python -m stylegan_tf export ... --web`).

The folder OUT holds:

    index.html, app.js        the page (package data, `stylegan_tf/export/page/`)
    mapping.onnx              f: z -> ws [N, num_ws, w_dim], untruncated (`onnx_graphs.export_mapping_onnx`)
    synthesis.onnx            g: ws, noise0, ... -> images [N, R, R, C] in [-1, 1] (`export_synthesis_onnx`)
    noise.bin                 the stored noise maps, float32 little-endian, one after the other
    model.json                sizes, w_avg, default psi and cutoff, the coarse / middle / fine layer groups,
                              the noise maps' offsets, the model card (row, kimg, metrics) and the runtime version
    ort/                      onnxruntime-web's wasm backend (`stylegan_tf.export.ort_web`)

It needs no network: any static file server works (`python -m http.server -d OUT`); browsers refuse to run
WebAssembly from `file://`, which the page says. The page turns a seed into z exactly as
`generation.figures.seeds_to_z` does (NumPy's `RandomState(seed).randn`, re-implemented in app.js), runs the
mapping graph, then truncates (w_avg + psi (w - w_avg) on layers < cutoff, appendix B) and mixes styles
(Sec. 3.1, Fig. 3) in W as `Generator.truncate` and `Generator.style_mix` do, and runs the synthesis graph with
the stored noise maps, zeroed on the layer groups switched off (Fig. 5, `figures.noise_components`). Its
images are therefore the Keras model's `G.synthesis(ws, noise=...)` for the same controls (tests/test_web.py
compares them in headless Chromium).
"""

import json
import os
import shutil
from importlib import resources
from pathlib import Path

import numpy as np

from stylegan_tf.export import ort_web
from stylegan_tf.export.onnx_graphs import export_mapping_onnx, export_synthesis_onnx, noise_layers, stored_noise

__all__ = ["export_web", "model_info", "shipped_card", "run_card", "PAGE_FILES"]

PAGE_FILES = ("index.html", "app.js")
TABLE1_SWITCHES = ("use_styles", "use_pixel_norm", "use_instance_norm", "const_input", "use_noise", "loss")


def model_info(G, card):
    """model.json's content: everything the page needs besides the two graphs and the noise maps."""
    from stylegan_tf.generation.figures import style_ranges

    layers, offset, noise = noise_layers(G), 0, []
    for i, n in zip(layers, stored_noise(G)):
        noise.append({"layer": i, "size": int(n.shape[1]), "offset": offset})
        offset += int(n.size)
    psi = 1.0 if G.truncation_psi is None else float(G.truncation_psi)
    cutoff = G.num_ws if G.truncation_cutoff is None else min(int(G.truncation_cutoff), G.num_ws)
    return {"format": 1, "resolution": G.resolution, "num_channels": G.num_channels, "z_dim": G.z_dim,
            "w_dim": G.w_dim, "num_ws": G.num_ws, "truncation_psi": psi, "truncation_cutoff": cutoff,
            "w_avg": [float(v) for v in np.asarray(G.w_avg, np.float32)],
            "groups": {name: [r.start, r.stop] for name, r in style_ranges(G.num_ws).items()},
            "noise": noise, "card": card, "runtime": {"name": "onnxruntime-web", "version": ort_web.VERSION}}


def shipped_card(name):
    """The model card of a shipped model (`stylegan_tf.pretrained`): name, row, seed, kimg, metrics."""
    from stylegan_tf import pretrained

    e = pretrained.entry(name)
    metrics = [{"name": key, "value": value, "num_images": e["metrics"][key].get("num_images")}
               for key, value in pretrained.metrics(name).items()]
    return {"name": name, "row": e["row"], "seed": e["seed"], "kimg": e["kimg"], "resolution": e["resolution"],
            "data": e["config"].get("data"), "metrics": metrics, "command": e["command"]}


def run_card(path, config=None):
    """A model card for a run folder or .keras file: its row when its Table 1 switches match one, kimg if known."""
    from stylegan_tf.config import StyleGANConfig, preset

    path = Path(path)
    folder = path if path.is_dir() else path.parent
    card = {"name": path.name, "row": None, "seed": None, "kimg": None, "metrics": []}
    config_file = folder / "config.json"
    if config is None and config_file.is_file():
        try:
            config = StyleGANConfig.from_json(config_file.read_text())
        except (ValueError, TypeError, KeyError):
            config = None
    if config is not None:
        card.update(seed=config.seed, kimg=config.total_kimg, resolution=config.resolution, data=config.data)
        for row in "FEDCBA":  # the first row whose switches and mapping/mixing/blur settings match
            ref = preset(row)
            same = all(getattr(config, k) == getattr(ref, k) for k in TABLE1_SWITCHES)
            same &= (config.mapping_layers > 0) == (ref.mapping_layers > 0)
            same &= (config.style_mixing_prob > 0) == (ref.style_mixing_prob > 0)
            same &= bool(config.blur_filter) == bool(ref.blur_filter)
            if same:
                card["row"] = row
                break
    return card


def _write(path, data):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def export_web(G, out_dir, card=None, runtime=None, overwrite=False, download=True):
    """Writes the web page folder for `G` to `out_dir` (complete or not at all); returns its path.

    Args:
        G: A `stylegan_tf.networks.Generator`.
        out_dir: The folder to write; it must not exist unless `overwrite`.
        card: The model card (`shipped_card`, `run_card`); None shows only the model's sizes.
        runtime: Where onnxruntime-web comes from (`ort_web.runtime_files`): a tarball, a folder or None.
        download: Whether a missing runtime may be fetched from the npm registry.
    """
    final = Path(out_dir)
    if final.exists() and not overwrite:
        raise ValueError(f"{final} already exists: choose another OUT or pass --overwrite")
    if final.exists() and not final.is_dir():
        raise ValueError(f"OUT {final} is an existing file; give a folder path")
    runtime_files = ort_web.runtime_files(runtime, download=download)  # fails early, before the slow export
    tmp = final.with_name(f"{final.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        export_mapping_onnx(G, str(tmp / "mapping.onnx"))
        export_synthesis_onnx(G, str(tmp / "synthesis.onnx"))
        noise = [n.ravel() for n in stored_noise(G)]
        _write(tmp / "noise.bin", np.concatenate(noise).astype("<f4").tobytes() if noise else b"")
        info = model_info(G, card or {"name": None, "metrics": []})
        _write(tmp / "model.json", json.dumps(info, indent=1).encode())
        page = resources.files("stylegan_tf.export").joinpath("page")
        for name in PAGE_FILES:
            _write(tmp / name, page.joinpath(name).read_bytes())
        for name, data in runtime_files.items():
            _write(tmp / "ort" / name, data)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
    return final


def folder_size(path):
    """Bytes of all files under `path`."""
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())
