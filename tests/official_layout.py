"""Official StyleGAN v1 network pickles written from known arrays, and the official forward pass in NumPy.

`write_official_pickle` writes what NVIDIA's training code writes (`misc.save_pkl((G, D, Gs))`, pickle protocol
4): a tuple of `dnnlib.tflib.network.Network` objects whose state (`Network.__getstate__`, version 3) holds the
official variable names and NCHW shapes, with NumPy arrays named by the NumPy 1.x module
`numpy.core.multiarray` as in the 2019 files. No dnnlib is needed: a pure-Python pickler writes the names.

`G_style`, `G_synthesis` and `D_basic` below transcribe NVlabs/stylegan `training/networks_stylegan.py` ('linear'
structure, `randomize_noise=False`) on those variables, NCHW where the layout matters (const, noise maps,
the dense input of rows A-C, D's Dense0 flatten, the fused 4x4 transposed / strided convs), using the
primitives of `reference.py`. Nothing here imports stylegan_tf.
"""

import math
import pickle
import types

import numpy as np

import reference as ref

SQRT2 = math.sqrt(2.0)


class Network:
    """Pickles as dnnlib.tflib.network.Network with the given state."""

    def __init__(self, state):
        self.state = state

    def __getstate__(self):
        return self.state


def _multiarray():
    try:
        from numpy._core import multiarray
    except ImportError:
        from numpy.core import multiarray
    return multiarray


class OfficialPickler(pickle._Pickler):
    """Protocol-4 pickler that writes chosen objects under other global names (what the 2019 files name)."""

    dispatch = {**pickle._Pickler.dispatch, types.FunctionType: lambda self, obj: self.save_global(obj)}

    def __init__(self, file, aliases):
        super().__init__(file, protocol=4)
        self.aliases = aliases

    def save_global(self, obj, name=None):
        try:
            alias = self.aliases.get(obj)
        except TypeError:
            alias = None
        if alias is None:
            return super().save_global(obj, name)
        self.save(alias[0])
        self.save(alias[1])
        self.write(pickle.STACK_GLOBAL)
        self.memoize(obj)


def write_pickle(path, obj, legacy_numpy=True, aliases=None):
    ma = _multiarray()
    names = {Network: ("dnnlib.tflib.network", "Network"), **(aliases or {})}
    if legacy_numpy:
        names.update({ma._reconstruct: ("numpy.core.multiarray", "_reconstruct"),
                      ma.scalar: ("numpy.core.multiarray", "scalar")})
    with open(path, "wb") as f:
        OfficialPickler(f, names).dump(obj)
    return path


def nf(stage, spec):
    return min(int(spec["fmap_base"] / 2.0 ** (stage * spec["fmap_decay"])), spec["fmap_max"])


SPEC = dict(resolution=16, num_channels=3, fmap_base=64, fmap_decay=1.0, fmap_max=16, latent_size=10, dlatent_size=8,
            mapping_layers=2, mapping_fmaps=12, const_input_layer=True, use_noise=True, use_styles=True,
            use_pixel_norm=False, use_instance_norm=True, fused_scale="auto", truncation_psi=0.7, truncation_cutoff=8)


def official_variables(spec, rng):
    """{"mapping", "synthesis", "D"}: local name -> array, official names and shapes, known random values."""
    L, s = int(math.log2(spec["resolution"])), spec
    normal = lambda *shape, scale=1.0: (scale * rng.standard_normal(shape)).astype(np.float32)  # noqa: E731
    mv, sv, dv = {}, {}, {}

    def weight_and_bias(v, scope, *shape):  # official get_weight + apply_bias: weight [..., out], bias [out]
        v[f"{scope}/weight"], v[f"{scope}/bias"] = normal(*shape), normal(shape[-1], scale=0.2)

    fan_in = s["latent_size"]
    for i in range(s["mapping_layers"]):
        out = s["dlatent_size"] if i == s["mapping_layers"] - 1 else s["mapping_fmaps"]
        mv[f"Dense{i}/weight"], mv[f"Dense{i}/bias"] = normal(fan_in, out, scale=100.0), normal(out, scale=20.0)
        fan_in = out
    sv["lod"] = np.float32(0.0)
    num_layers = 2 * L - 2
    if s["use_noise"]:
        for i in range(num_layers):
            sv[f"noise{i}"] = normal(1, 1, 2 ** (i // 2 + 2), 2 ** (i // 2 + 2))

    def epilogue(scope, c):
        if s["use_noise"]:
            sv[f"{scope}/Noise/weight"] = normal(c, scale=0.3)
        sv[f"{scope}/bias"] = normal(c, scale=0.2)
        if s["use_styles"]:
            weight_and_bias(sv, f"{scope}/StyleMod", s["dlatent_size"], 2 * c)

    if s["const_input_layer"]:
        sv["4x4/Const/const"] = normal(1, nf(1, s), 4, 4)
        epilogue("4x4/Const", nf(1, s))
    else:
        sv["4x4/Dense/weight"] = normal(s["dlatent_size"], nf(1, s) * 16)
        epilogue("4x4/Dense", nf(1, s))
    sv["4x4/Conv/weight"] = normal(3, 3, nf(1, s), nf(1, s))
    epilogue("4x4/Conv", nf(1, s))
    for r in range(3, L + 1):
        sv[f"{2**r}x{2**r}/Conv0_up/weight"] = normal(3, 3, nf(r - 2, s), nf(r - 1, s))
        epilogue(f"{2**r}x{2**r}/Conv0_up", nf(r - 1, s))
        sv[f"{2**r}x{2**r}/Conv1/weight"] = normal(3, 3, nf(r - 1, s), nf(r - 1, s))
        epilogue(f"{2**r}x{2**r}/Conv1", nf(r - 1, s))
    for r in range(2, L + 1):
        weight_and_bias(sv, f"ToRGB_lod{L - r}", 1, 1, nf(r - 1, s), s["num_channels"])
    dv["lod"] = np.float32(0.0)
    for r in range(2, L + 1):
        weight_and_bias(dv, f"FromRGB_lod{L - r}", 1, 1, s["num_channels"], nf(r - 1, s))
    for r in range(3, L + 1):
        weight_and_bias(dv, f"{2**r}x{2**r}/Conv0", 3, 3, nf(r - 1, s), nf(r - 1, s))
        weight_and_bias(dv, f"{2**r}x{2**r}/Conv1_down", 3, 3, nf(r - 1, s), nf(r - 2, s))
    weight_and_bias(dv, "4x4/Conv", 3, 3, nf(1, s) + 1, nf(1, s))  # + the minibatch stddev channel
    weight_and_bias(dv, "4x4/Dense0", nf(1, s) * 16, nf(0, s))
    weight_and_bias(dv, "4x4/Dense1", nf(0, s), 1)
    return {"mapping": mv, "synthesis": sv, "D": dv}


def official_networks(spec, variables, lods=(0.0, 0.0, 0.0), dlatent_avg=None, g_kwargs=None, version=3,
                      with_kwargs=True, build_module_src="raise SystemExit('build_module_src must never run')\n"):
    """The pickled tuple (G, D, Gs) for `variables`, with the lod of G, D and Gs.

    With `with_kwargs=False` the networks carry only the kwargs the official FFHQ files carry (num_channels,
    resolution, label_size), so widths and switches must be read from the variables."""
    base = dict(num_channels=spec["num_channels"], resolution=spec["resolution"], label_size=0)
    arch = {k: spec[k] for k in ("fmap_base", "fmap_max", "latent_size", "dlatent_size", "mapping_layers",
                                 "mapping_fmaps", "use_noise", "use_styles", "use_pixel_norm", "use_instance_norm",
                                 "const_input_layer", "fused_scale")} if with_kwargs else {}
    L = int(math.log2(spec["resolution"]))

    def state(name, func, kwargs, own, components=None):
        return Network({"version": version, "name": name, "static_kwargs": kwargs, "components": components or {},
                        "build_module_src": build_module_src,
                        "build_func_name": func, "variables": list(own.items())})

    def g_style(name, lod):
        kwargs = {**base, **arch}
        own_copy = lambda d: {k: np.array(v) if isinstance(v, np.ndarray) else v for k, v in d.items()}  # noqa: E731
        syn = state("G_synthesis", "G_synthesis", kwargs, own_copy(variables["synthesis"]))  # G, Gs: own arrays
        mapping = state("G_mapping", "G_mapping", {**kwargs, "dlatent_broadcast": 2 * L - 2},
                        own_copy(variables["mapping"]))
        own = {"lod": np.float32(lod), "dlatent_avg": dlatent_avg}
        return state(name, "G_style", {**kwargs, **(g_kwargs or {})}, own, {"synthesis": syn, "mapping": mapping})

    d_kwargs = {k: spec[k] for k in ("fmap_base", "fmap_max", "fused_scale")} if with_kwargs else {}
    D = state("D", "D_basic", {**base, **d_kwargs}, {**variables["D"], "lod": np.float32(lods[1])})
    return g_style("G", lods[0]), D, g_style("Gs", lods[2])


# -- the official forward pass (networks_stylegan.py), NumPy -----------------------------------------------------

def _fused(res, fused_scale):
    return fused_scale is True or (fused_scale == "auto" and res >= 128)


def upscale2d_conv2d_fused(x, w):
    """Official fused path: conv2d_transpose(x, 4x4 kernel = sum of the four shifted 3x3), stride 2, 'SAME'."""
    w = np.pad(w.transpose(0, 1, 3, 2), [(1, 1), (1, 1), (0, 0), (0, 0)])
    w = w[1:, 1:] + w[:-1, 1:] + w[1:, :-1] + w[:-1, :-1]  # [4, 4, out, in]
    n, h, wd, _ = x.shape
    out = np.zeros((n, 2 * h + 2, 2 * wd + 2, w.shape[2]))
    for i in range(4):
        for j in range(4):  # input pixel (a, b) lands on output (2a + i - 1, 2b + j - 1)
            out[:, i:i + 2 * h:2, j:j + 2 * wd:2] += np.einsum("nhwc,oc->nhwo", x, w[i, j])
    return out[:, 1:2 * h + 1, 1:2 * wd + 1]


def conv2d_downscale2d_fused(x, w):
    """Official fused path: conv2d(x, 4x4 kernel = mean of the four shifted 3x3), stride 2, 'SAME'."""
    w = np.pad(w, [(1, 1), (1, 1), (0, 0), (0, 0)])
    w = (w[1:, 1:] + w[:-1, 1:] + w[1:, :-1] + w[:-1, :-1]) * 0.25
    n, h, wd, _ = x.shape
    xp = np.pad(x, [(0, 0), (1, 1), (1, 1), (0, 0)])
    return sum(np.einsum("nhwc,co->nhwo", xp[:, i:i + h:2, j:j + wd:2], w[i, j]) for i in range(4) for j in range(4))


def _scaled(w, gain=SQRT2):
    return w * gain / np.sqrt(np.prod(w.shape[:-1]))  # get_weight with use_wscale


def G_mapping(mv, z, lrmul=0.01):
    x, i = ref.pixel_norm(z.astype(np.float64)), 0
    while f"Dense{i}/weight" in mv:
        x, i = ref.lrelu(ref.dense(x, mv[f"Dense{i}/weight"], mv[f"Dense{i}/bias"], SQRT2, lrmul)), i + 1
    return x


def G_synthesis(sv, dlatents, lod, spec):
    s, n = spec, dlatents.shape[0]
    L = int(math.log2(s["resolution"]))

    def epilogue(x, i, scope):
        if s["use_noise"]:
            x = x + sv[f"noise{i}"].transpose(0, 2, 3, 1) * sv[f"{scope}/Noise/weight"]
        x = ref.lrelu(x + sv[f"{scope}/bias"])
        x = ref.pixel_norm(x) if s["use_pixel_norm"] else x
        x = ref.instance_norm(x) if s["use_instance_norm"] else x
        if s["use_styles"]:
            x = ref.style_mod(x, dlatents[:, i], sv[f"{scope}/StyleMod/weight"], sv[f"{scope}/StyleMod/bias"])
        return x

    def torgb(x, r):
        return ref.conv2d_same(x, _scaled(sv[f"ToRGB_lod{L - r}/weight"], 1.0)) + sv[f"ToRGB_lod{L - r}/bias"]

    if s["const_input_layer"]:
        x = epilogue(np.tile(sv["4x4/Const/const"], (n, 1, 1, 1)).transpose(0, 2, 3, 1), 0, "4x4/Const")
    else:  # dense(w[:, 0]) reshaped to [N, C, 4, 4]: channel-first
        x = ref.dense(dlatents[:, 0], sv["4x4/Dense/weight"], None, SQRT2 / 4, 1.0).reshape(n, -1, 4, 4)
        x = epilogue(x.transpose(0, 2, 3, 1), 0, "4x4/Dense")
    x = epilogue(ref.conv2d_same(x, _scaled(sv["4x4/Conv/weight"])), 1, "4x4/Conv")
    images = torgb(x, 2)
    for r in range(3, L + 1):
        scope, w = f"{2**r}x{2**r}", _scaled(sv[f"{2**r}x{2**r}/Conv0_up/weight"])
        x = upscale2d_conv2d_fused(x, w) if _fused(2**r, s["fused_scale"]) else ref.conv2d_same(ref.upscale2d(x), w)
        x = epilogue(ref.blur2d(x), 2 * r - 4, f"{scope}/Conv0_up")
        x = epilogue(ref.conv2d_same(x, _scaled(sv[f"{scope}/Conv1/weight"])), 2 * r - 3, f"{scope}/Conv1")
        images = ref.lerp_clip(torgb(x, r), ref.upscale2d(images), lod - (L - r))
    return images.transpose(0, 3, 1, 2)  # [N, C, H, W], as the official images_out


def G_style(variables, dlatent_avg, z, lod, spec, truncation_psi=0.7, truncation_cutoff=8):
    """Gs.run(z, None, truncation_psi, truncation_cutoff, randomize_noise=False) in NCHW."""
    L = int(math.log2(spec["resolution"]))
    w = G_mapping(variables["mapping"], z) if spec["mapping_layers"] else ref.pixel_norm(z.astype(np.float64))
    dlatents = np.repeat(w[:, None], 2 * L - 2, axis=1)
    if truncation_psi is not None and truncation_cutoff is not None:
        coefs = np.where(np.arange(2 * L - 2)[None, :, None] < truncation_cutoff, truncation_psi, 1.0)
        dlatents = dlatent_avg + (dlatents - dlatent_avg) * coefs
    return G_synthesis(variables["synthesis"], dlatents, lod, spec)


def D_basic(dv, images_nchw, lod, spec, mbstd_group_size=4):
    """D.run(images) in the 'linear' structure; images `[N, C, H, W]`."""
    L, s = int(math.log2(spec["resolution"])), spec
    def conv(x, name):  # conv2d + apply_bias + lrelu, gain sqrt(2)
        return ref.lrelu(ref.conv2d_same(x, _scaled(dv[f"{name}/weight"])) + dv[f"{name}/bias"])

    def block(x, r):
        if r >= 3:
            scope = f"{2**r}x{2**r}"
            x = ref.blur2d(conv(x, f"{scope}/Conv0"))
            w = _scaled(dv[f"{scope}/Conv1_down/weight"])
            fused = _fused(2**r, s["fused_scale"])
            x = conv2d_downscale2d_fused(x, w) if fused else ref.downscale2d(ref.conv2d_same(x, w))
            return ref.lrelu(x + dv[f"{scope}/Conv1_down/bias"])
        x = conv(ref.minibatch_stddev(x, mbstd_group_size), "4x4/Conv")
        x = x.transpose(0, 3, 1, 2).reshape(x.shape[0], -1)  # dense() flattens NCHW
        x = ref.lrelu(ref.dense(x, dv["4x4/Dense0/weight"], dv["4x4/Dense0/bias"], SQRT2, 1.0))
        return ref.dense(x, dv["4x4/Dense1/weight"], dv["4x4/Dense1/bias"], 1.0, 1.0)

    img = images_nchw.transpose(0, 2, 3, 1).astype(np.float64)
    x = conv(img, "FromRGB_lod0")
    for r in range(L, 2, -1):
        x = block(x, r)
        img = ref.downscale2d(img)
        x = ref.lerp_clip(x, conv(img, f"FromRGB_lod{L - r + 1}"), lod - (L - r))
    return block(x, 2)
