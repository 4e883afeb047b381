"""NVIDIA's StyleGAN v1 network pickles as our Keras models (`python -m stylegan_tf convert NETWORK.pkl OUT`).

    converted = convert_official_pickle("karras2019stylegan-ffhq-1024x1024.pkl")   # in memory, for notebooks
    save_converted(converted, "ffhq")  # ffhq/G_ema.keras (official Gs), G.keras, D.keras, config.json, source.json

The pickle is read by `official_pickle.load_official_pickle`, which runs nothing from it. The config is derived
from the pickle, not assumed: resolution, widths, mapping depth and width and the Table 1 switches visible in the
variables (styles, constant input, noise) come from the variables' names and shapes; what only the build
kwargs record (pixel/instance norm, blur, fused resampling, mapping lrmul, truncation, minibatch-stddev group)
comes from `static_kwargs`, else from the literal defaults of the build function in the pickle's embedded source
(parsed, never run), else from the official defaults of `networks_stylegan.py`. Training options (loss, learning
rates, schedule) are not in a network pickle; config.json keeps our defaults for them.

Layout: conv kernels are `[k, k, in, out]` in both codes and are copied as they are (the fused up/down
convs from 128 px run the same 4x4 transposed / strided op as the official ones, so no flip). The official code
is channel-first, so three things are permuted: `4x4/Const/const` and the `noise{i}` maps (NCHW -> NHWC), the
4x4 `Dense` input layer of rows A-C (its output is reshaped to `[C, 4, 4]`, ours to `[4, 4, C]`) and D's
`4x4/Dense0` (its input is flattened from `[C, 4, 4]`, ours from `[4, 4, C]`).

Truncation: the official `Gs` defaults (`G_style`: psi 0.7 on layers below 8) become the model's
`truncation_psi` / `truncation_cutoff`. An official psi of None or 1, or cutoff of None or <= 0, means "off" and
becomes `truncation_psi=None`; at call time our `G(z, truncation_psi=None)` means "the model's default".
"""

import dataclasses
import hashlib
import json
import os
import re
import shutil

import numpy as np

from stylegan_tf.config import StyleGANConfig
from stylegan_tf.export.official_pickle import UnsupportedPickleError, load_official_pickle
from stylegan_tf.geometry import feature_maps, resolution_log2
from stylegan_tf.networks import build_discriminator, build_generator

__all__ = ["ConvertedNetworks", "convert_official_pickle", "official_config", "save_converted"]

# Official kwargs whose other values this port does not implement (networks_stylegan.py defaults).
ONLY_VALUES = {"nonlinearity": "lrelu", "mapping_nonlinearity": "lrelu", "use_wscale": True,
               "normalize_latents": True, "label_size": 0, "dtype": "float32"}


@dataclasses.dataclass
class ConvertedNetworks:
    """The three networks of an official pickle as Keras models, with the config they were built from."""

    cfg: StyleGANConfig
    G_ema: object  # official Gs, the long-term average: use it for sampling
    G: object  # official G, the instantaneous generator (fine-tuning)
    D: object  # official D (fine-tuning)
    source: dict  # provenance written to source.json: file, sha256, names, static_kwargs, notes


def convert_official_pickle(path):
    """Reads an official StyleGAN v1 `(G, D, Gs)` pickle and returns the converted Keras models."""
    nets = load_official_pickle(path)
    cfg = official_config(nets, path)
    G_ema, G = build_generator(cfg, name="G_ema"), build_generator(cfg, name="G")
    D = build_discriminator(cfg, name="D")
    for model, role in ((G_ema, "Gs"), (G, "G")):
        _assign(_generator_pairs(model, nets[role]), nets[role].variables, f"{path}: {role}")
    _assign(_discriminator_pairs(D), nets["D"].variables, f"{path}: D")
    return ConvertedNetworks(cfg, G_ema, G, D, _source(path, nets, cfg))


def official_config(nets, where="pickle"):
    """The StyleGANConfig of the networks `load_official_pickle` returned (derived, not assumed)."""
    Gs, D = nets["Gs"], nets["D"]
    syn, mapping = Gs.components["synthesis"], Gs.components["mapping"]
    kw = {**mapping.kwargs, **syn.kwargs}  # G_style hands its kwargs to both components
    for name, net_kw in (("Gs", {**Gs.kwargs, **kw}), ("D", D.kwargs)):
        for key, value in ONLY_VALUES.items():
            if key in net_kw and net_kw[key] != value:
                raise UnsupportedPickleError(f"{where}: {name} was built with {key}={net_kw[key]!r}; this port "
                                             f"implements {key}={value!r} only")
    sv, mv, dv = syn.variables, mapping.variables, D.variables
    get = lambda v, name, net: _get(v, name, f"{where}: {net}")  # noqa: E731
    blocks = [int(m.group(1)) for m in (re.match(r"(\d+)x\1/", n) for n in sv) if m]
    if not blocks:
        raise UnsupportedPickleError(f"{where}: G_synthesis has no 4x4, 8x8, ... blocks; not a StyleGAN v1 generator")
    resolution = max(blocks)
    L = resolution_log2(resolution)
    const_input = "4x4/Const/const" in sv
    first = "4x4/Const" if const_input else "4x4/Dense"
    w_dim = get(Gs.variables, "dlatent_avg", "Gs").shape[0]
    mapping_layers = sum(bool(re.fullmatch(r"Dense\d+/weight", n)) for n in mv)
    if "LabelConcat/weight" in mv:
        raise UnsupportedPickleError(f"{where}: a conditional network (labels); this port has no label input")
    z_dim = get(mv, "Dense0/weight", "G_mapping").shape[0] if mapping_layers else kw.get("latent_size", w_dim)
    hidden = get(mv, "Dense0/weight", "G_mapping").shape[1] if mapping_layers > 1 else w_dim
    channels = {0: get(dv, "4x4/Dense0/weight", "D").shape[1], 1: get(sv, "4x4/Conv/weight", "G_synthesis").shape[3]}
    channels.update({r - 1: get(sv, f"{2**r}x{2**r}/Conv1/weight", "G_synthesis").shape[3] for r in range(3, L + 1)})
    fmap_base, fmap_decay, fmap_max = _widths(channels, kw, where)
    blur = _same_in_G_and_D("blur_filter", [1, 2, 1], kw, D.kwargs, where)
    fused = _same_in_G_and_D("fused_scale", "auto", kw, D.kwargs, where)
    mbstd_group, mbstd_features = D.kwargs.get("mbstd_group_size", 4), D.kwargs.get("mbstd_num_features", 1)
    if mbstd_group <= 1:
        raise UnsupportedPickleError(f"{where}: D was built without minibatch stddev (mbstd_group_size="
                                     f"{mbstd_group}); this port always has it")
    psi, cutoff = Gs.kwargs.get("truncation_psi", 0.7), Gs.kwargs.get("truncation_cutoff", 8)
    if psi is None or psi == 1 or cutoff is None or cutoff <= 0:  # official G_style: truncation off
        psi = None
    return dataclasses.replace(
        StyleGANConfig(), resolution=resolution, num_channels=get(sv, "ToRGB_lod0/weight", "G_synthesis").shape[3],
        fmap_base=fmap_base, fmap_decay=fmap_decay, fmap_max=fmap_max, z_dim=z_dim, w_dim=w_dim,
        mapping_fmaps=None if hidden == w_dim else hidden, mapping_layers=mapping_layers,
        mapping_lrmul=float(kw.get("mapping_lrmul", 0.01)), use_styles=f"{first}/StyleMod/weight" in sv,
        use_pixel_norm=bool(kw.get("use_pixel_norm", False)), use_instance_norm=bool(kw.get("use_instance_norm", True)),
        const_input=const_input, use_noise="noise0" in sv,
        style_mixing_prob=float(nets["G"].kwargs.get("style_mixing_prob", 0.9) or 0.0),
        blur_filter=tuple(int(t) for t in (blur or ())), fused_scale=fused,
        truncation_psi=None if psi is None else float(psi),
        truncation_cutoff=cutoff if isinstance(cutoff, int) and cutoff > 0 else None,
        w_avg_beta=float(Gs.kwargs.get("dlatent_avg_beta", 0.995)),
        mbstd_group_size=int(mbstd_group), mbstd_num_features=int(mbstd_features),
        lod_initial_resolution=min(8, resolution),
    )


def save_converted(converted, out_dir, overwrite=False):
    """Writes G_ema.keras, G.keras, D.keras, config.json and source.json into `out_dir`; returns their paths.

    Everything is written into a temporary sibling folder that is renamed to `out_dir` at the end, so an
    interrupted conversion never leaves a half-written `out_dir`.
    """
    out_dir = os.path.abspath(os.fspath(out_dir))
    if os.path.exists(out_dir) and not overwrite:
        raise ValueError(f"{out_dir} already exists: pass --overwrite (overwrite=True) or choose another folder")
    tmp = f"{out_dir}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    try:
        for model, name in ((converted.G_ema, "G_ema.keras"), (converted.G, "G.keras"), (converted.D, "D.keras")):
            model.save(os.path.join(tmp, name))
        with open(os.path.join(tmp, "config.json"), "w") as f:
            f.write(converted.cfg.to_json())
        with open(os.path.join(tmp, "source.json"), "w") as f:
            json.dump(converted.source, f, indent=2, sort_keys=True, default=_json_default)
        if os.path.exists(out_dir):
            old = f"{out_dir}.old-{os.getpid()}"
            os.rename(out_dir, old)
            os.rename(tmp, out_dir)
            shutil.rmtree(old)
        else:
            os.rename(tmp, out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return [os.path.join(out_dir, n) for n in ("G_ema.keras", "G.keras", "D.keras", "config.json", "source.json")]


# -- variables: official name -> Keras variable ----------------------------------------------------------------

def _nchw_to_nhwc(a):
    return np.transpose(a, (0, 2, 3, 1))  # [1, C, H, W] -> [1, H, W, C]


def _dense_outputs_to_nhwc(w, c):
    # official reshape(x, [-1, C, 4, 4]) of the output; ours reshape(x, [-1, 4, 4, C])
    return w.reshape(w.shape[0], c, 4, 4).transpose(0, 2, 3, 1).reshape(w.shape[0], 16 * c)  # [in, 16C]


def _dense_inputs_from_nhwc(w, c):
    # official flattens [N, C, 4, 4]; ours flattens [N, 4, 4, C]
    return w.reshape(c, 4, 4, w.shape[1]).transpose(1, 2, 0, 3).reshape(16 * c, w.shape[1])  # [16C, out]


def _conv_pairs(layer, scope):
    return [(layer.kernel, f"{scope}/weight", None), (layer.bias, f"{scope}/bias", None)]


def _generator_pairs(G, net):
    """(Keras variable or None, official name, transform) for every variable of a G_style network."""
    s, sp, mp = G.synthesis, net.components["synthesis"].name + "/", net.components["mapping"].name + "/"
    L = s.resolution_log2
    pairs = [(G.w_avg, "dlatent_avg", None), (s.lod, "lod", None), (None, sp + "lod", None)]  # G_style's lod wins
    for i, dense in enumerate(G.mapping.dense):
        pairs += _conv_pairs(dense, f"{mp}Dense{i}")
    if s.const_input:
        pairs.append((s.const, sp + "4x4/Const/const", _nchw_to_nhwc))
    else:
        pairs.append((s.dense_input.kernel, sp + "4x4/Dense/weight", lambda w: _dense_outputs_to_nhwc(w, s.nf(1))))
    scopes = ["4x4/Const" if s.const_input else "4x4/Dense", "4x4/Conv"]
    scopes += [f"{2**r}x{2**r}/{name}" for r in range(3, L + 1) for name in ("Conv0_up", "Conv1")]
    for i, (layer, scope) in enumerate(zip(s.synthesis_layers, scopes)):
        p = sp + scope
        if layer.conv is not None:
            pairs.append((layer.conv.kernel, f"{p}/weight", None))
        if layer.noise is not None:
            pairs += [(layer.noise.strength, f"{p}/Noise/weight", None),
                      (layer.noise.const_noise, f"{sp}noise{i}", _nchw_to_nhwc)]
        pairs.append((layer.bias, f"{p}/bias", None))
        if layer.style is not None:
            pairs += _conv_pairs(layer.style.affine, f"{p}/StyleMod")
    for r, to_rgb in zip(range(2, L + 1), s.to_rgb):
        pairs += _conv_pairs(to_rgb, f"{sp}ToRGB_lod{L - r}")
    return pairs


def _discriminator_pairs(D):
    """(Keras variable, official name, transform) for every variable of a D_basic network."""
    L = D.resolution_log2
    pairs = [(D.lod, "lod", None)]
    for r in range(2, L + 1):
        pairs += _conv_pairs(D.from_rgb[r - 2], f"FromRGB_lod{L - r}")
    for r in range(3, L + 1):
        pairs += _conv_pairs(D.conv0[r - 3], f"{2**r}x{2**r}/Conv0")
        pairs += _conv_pairs(D.conv1_down[r - 3], f"{2**r}x{2**r}/Conv1_down")
    pairs += _conv_pairs(D.conv, "4x4/Conv")
    pairs += [(D.dense0.kernel, "4x4/Dense0/weight", lambda w: _dense_inputs_from_nhwc(w, D.nf(1))),
              (D.dense0.bias, "4x4/Dense0/bias", None)]
    return pairs + _conv_pairs(D.dense1, "4x4/Dense1")


def _assign(pairs, variables, where):
    """Copies every official variable into its Keras variable; any missing, extra or misshapen one is an error."""
    for var, name, transform in pairs:
        value = _get(variables, name, where)
        if var is None:
            continue
        try:
            value = transform(value) if transform is not None else value
        except ValueError:  # a reshape that does not fit
            value = None
        if value is None or tuple(value.shape) != tuple(var.shape):
            raise UnsupportedPickleError(f"{where}: {name} has shape {list(variables[name].shape)}, which does not "
                                         f"fit the derived config (the Keras variable is {list(var.shape)})")
        var.assign(value.astype(np.float32))
    extra = sorted(set(variables) - {name for _, name, _ in pairs})
    if extra:
        raise UnsupportedPickleError(f"{where}: {len(extra)} variable(s) that a StyleGAN v1 network of the derived "
                                     f"config does not have, e.g. {extra[:3]}")


def _get(variables, name, where):
    if name not in variables:
        raise UnsupportedPickleError(f"{where}: no variable {name!r}; the official StyleGAN v1 networks have one")
    return variables[name]


def _widths(channels, kw, where):
    """(fmap_base, fmap_decay, fmap_max) giving `channels` ({stage: count}): the pickle's kwargs if they do, else
    the official defaults, else inferred with fmap_decay 1 from the first stage below the maximum."""
    def fits(base, decay, fmax):
        return all(feature_maps(s, base, decay, fmax) == c for s, c in channels.items())

    fmax = max(channels.values())
    below = [s for s in sorted(channels) if channels[s] < fmax]
    base = channels[below[0]] * 2 ** below[0] if below else fmax * 2 ** max(channels)
    for candidate in ((kw.get("fmap_base", 8192), float(kw.get("fmap_decay", 1.0)), kw.get("fmap_max", 512)),
                      (base, 1.0, fmax)):
        if fits(*candidate):
            return candidate
    raise UnsupportedPickleError(f"{where}: the channel counts per stage {channels} do not follow the official "
                                 f"nf(stage) = min(fmap_base / 2^(stage * fmap_decay), fmap_max)")


def _same_in_G_and_D(key, default, g_kw, d_kw, where):
    g, d = g_kw.get(key, default), d_kw.get(key, default)
    if (list(g) if isinstance(g, (list, tuple)) else g) != (list(d) if isinstance(d, (list, tuple)) else d):
        raise UnsupportedPickleError(f"{where}: G and D were built with different {key} ({g!r} and {d!r}); this "
                                     f"port has one {key} for both")
    return g


def _source(path, nets, cfg):
    """Provenance for source.json, with the one fact about the output size a user needs (LSUN cars)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 24), b""):
            digest.update(block)
    source = {"file": os.path.basename(path), "sha256": digest.hexdigest(), "notes": [],
              "networks": {role: _describe(n) for role, n in nets.items()}}
    m = re.search(r"(\d+)x(\d+)", os.path.basename(path))
    if m and int(m.group(1)) == cfg.resolution and int(m.group(2)) < cfg.resolution:  # karras2019stylegan-cars-512x384
        width, height = int(m.group(1)), int(m.group(2))
        top = (width - height) // 2
        source["crop"] = {"top": top, "left": 0, "height": height, "width": width}
        source["notes"].append(
            f"the generator draws {width}x{width} images whose {width}x{height} picture fills rows {top} to "
            f"{top + height - 1} (the training images were padded so); crop with images[:, {top}:{top + height}] "
            f"as the official generate_figures.py does (cy={top}, ch={height})")
    return source


def _describe(net):
    return {"name": net.name, "build_func_name": net.build_func_name, "static_kwargs": net.static_kwargs,
            "source_defaults": net.source_defaults,
            **({"components": {k: _describe(c) for k, c in net.components.items()}} if net.components else {})}


def _json_default(obj):
    return obj.item() if isinstance(obj, np.generic) else obj.tolist() if isinstance(obj, np.ndarray) else str(obj)
