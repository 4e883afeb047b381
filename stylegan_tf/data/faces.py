"""synthetic-faces: procedural illustrated faces whose generative factors are known.

Real face datasets cannot be downloaded here and none has ground-truth factors, so the project ships
this generator. Every image is drawn from a record of factors, grouped by the scale at which the
paper (Sec. 3.1: coarse 4-8 px styles control pose and shape, middle 16-32 px facial features, fine
64 px+ colour; Sec. 3.2: noise controls stochastic detail) expects a generator to control them:

    coarse      head_x, head_y, head_turn, head_size, head_shape
    middle      eyes_open, smiling, glasses, long_hair, bangs (binary), eye_spacing
    fine        skin_tone, hair_color, background_hue
    stochastic  detail_seed: hair strand placement, freckles, background texture

Drawing (stylegan_tf/face_drawing.py) is vectorised over many faces at once with NumPy. Each part
is a signed distance field d (negative inside), painted with coverage clip(0.5 - d / pixel, 0, 1);
that analytic coverage plus `supersample`x supersampling and a box filter gives anti-aliased edges.
Images depend only on (seed, index), never on how many are drawn together.

Paper: Karras et al. 2019, Sec. 3.1 (styles by scale) and Sec. 3.2 (stochastic variation).
See data/README.md for the factor table and a picture grid.
"""

import numpy as np

from stylegan_tf.data.face_drawing import draw_faces, head_ellipse  # noqa: F401  (head_ellipse is public here)

# name, kind, low, high, scale, meaning
FACTORS = (
    ("head_x", "continuous", -0.12, 0.12, "coarse", "horizontal head position, in half image widths"),
    ("head_y", "continuous", -0.08, 0.08, "coarse", "vertical head position, in half image heights"),
    ("head_turn", "continuous", -1.0, 1.0, "coarse", "yaw, -1 = turned to image left, +1 = to image right"),
    ("head_size", "continuous", 0.85, 1.1, "coarse", "head half-width / 0.44 half image widths"),
    ("head_shape", "continuous", 1.15, 1.4, "coarse", "head height / head width (round to long)"),
    ("eyes_open", "binary", 0, 1, "middle", "1 = open eyes, 0 = closed lids"),
    ("smiling", "binary", 0, 1, "middle", "1 = open smile, 0 = straight mouth"),
    ("glasses", "binary", 0, 1, "middle", "1 = round glasses"),
    ("long_hair", "binary", 0, 1, "middle", "1 = hair down to the shoulders"),
    ("bangs", "binary", 0, 1, "middle", "1 = fringe over the forehead"),
    ("eye_spacing", "continuous", 0.48, 0.72, "middle", "eye distance from the midline, in head half-widths"),
    ("skin_tone", "continuous", 0.0, 1.0, "fine", "light to dark along a skin palette"),
    ("hair_color", "continuous", 0.0, 1.0, "fine", "black, brown, auburn, blond along a palette"),
    ("background_hue", "continuous", 0.0, 1.0, "fine", "hue of the background (HSV, s=0.35, v=0.9)"),
    ("detail_seed", "stochastic", 0, 2**24 - 1, "stochastic", "seeds strands, freckles, texture"),
)
FACTOR_NAMES = tuple(f[0] for f in FACTORS)
BINARY_ATTRIBUTES = tuple(f[0] for f in FACTORS if f[1] == "binary")
MIRROR_NEGATE = ("head_x", "head_turn")  # labels that change sign when an image is mirrored
# float32 holds detail_seed exactly (< 2^24), so one dtype serves labels and tensors
LABEL_DTYPE = np.dtype([(name, np.float32) for name in FACTOR_NAMES])


def sample_factors(num_images, seed=0, start=0):
    """Draws the factor records of images start .. start + num_images - 1 of the dataset `seed`.

    Each record comes from its own generator seeded with (seed, index), so image i is the same
    whatever the count or the chunk it is drawn in. Binary attributes are fair coins.

    Returns:
        A structured array of dtype LABEL_DTYPE, shape [num_images].
    """
    u = np.stack([np.random.default_rng([seed, start + i]).random(len(FACTORS)) for i in range(num_images)])
    out = np.zeros(num_images, LABEL_DTYPE)
    for k, (name, kind, low, high, _, _) in enumerate(FACTORS):
        if kind == "binary":
            out[name] = u[:, k] < 0.5
        elif kind == "stochastic":
            out[name] = np.floor(u[:, k] * (high + 1))
        else:
            out[name] = low + u[:, k] * (high - low)
    return out


def generate_faces(num_images, resolution, seed=0, start=0, supersample=2):
    """Factors and uint8 images [N, R, R, 3] of images start .. start + num_images - 1."""
    factors = sample_factors(num_images, seed, start)
    return render_faces(factors, resolution, supersample=supersample), factors


def render_faces(factors, resolution, supersample=2):
    """Draws one face per factor record.

    Args:
        factors: structured array of dtype LABEL_DTYPE (see `sample_factors`).
        resolution: output side length in pixels (any power of two from 8 to 256 is supported).
        supersample: each output pixel averages supersample^2 samples.

    Returns:
        uint8 array [N, resolution, resolution, 3].
    """
    missing = sorted(set(FACTOR_NAMES) - set(getattr(factors, "dtype", np.dtype([])).names or ()))
    if missing:
        raise ValueError(f"factors lack the field(s) {missing}: pass records from sample_factors (LABEL_DTYPE)")
    out = np.empty((len(factors), resolution, resolution, 3), np.uint8)
    chunk = max(1, 2**20 // (resolution * supersample) ** 2)  # ~1M samples per pass keeps arrays in cache
    for s in range(0, len(factors), chunk):
        rgb = draw_faces(factors[s : s + chunk], resolution * supersample)
        ss = supersample
        # box filter: [3, N, R*s, R*s] -> [3, N, R, R]
        rgb = sum(rgb[:, :, i::ss, j::ss] for i in range(ss) for j in range(ss)) / (ss * ss)
        out[s : s + chunk] = np.moveaxis(np.rint(np.clip(rgb, 0, 1) * 255), 0, -1)
    return out


def factor_edits(record):
    """(caption, record) pairs: `record` with one factor changed at a time, for figures and tests."""
    edits = [("original", {})] + [(f"{name} {1 - int(record[name])}", {name: 1 - record[name]})
                                   for name in BINARY_ATTRIBUTES]
    edits += [("head_turn", {"head_turn": -0.8 if record["head_turn"] > 0 else 0.8}),
              ("colours", {"skin_tone": 1 - record["skin_tone"], "hair_color": 1 - record["hair_color"],
                           "background_hue": (record["background_hue"] + 0.5) % 1.0}),
              ("detail_seed", {"detail_seed": (record["detail_seed"] + 1) % 2**24})]
    out = []
    for caption, changes in edits:
        edited = record.copy()
        for name, value in changes.items():
            edited[name] = value
        out.append((caption, edited))
    return out


def save_grid(path="docs/img/synthetic_faces.png", resolution=80, columns=9, rows=3, seed=0):
    """Writes the README figure: `rows` rows of random faces, then the first face under factor_edits
    (which has 9 entries, so `columns` should be 9)."""
    from PIL import Image

    factors = sample_factors(rows * columns, seed)
    edited = np.array([rec for _, rec in factor_edits(factors[0])][:columns], LABEL_DTYPE)
    images = render_faces(np.concatenate([factors, edited]), resolution)
    grid = images.reshape(rows + 1, columns, resolution, resolution, 3).transpose(0, 2, 1, 3, 4)
    Image.fromarray(grid.reshape((rows + 1) * resolution, columns * resolution, 3)).save(path, optimize=True)
    return path
