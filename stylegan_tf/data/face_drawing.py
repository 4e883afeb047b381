"""Drawing for synthetic-faces: signed distance fields painted with anti-aliased coverage, in NumPy.

Every part of a face is a signed distance field d (negative inside), painted onto colour planes
with the coverage clip(0.5 - d / pixel, 0, 1). `stylegan_tf.data.faces` supersamples and box-filters the
result. Many faces are drawn at once: large parts are evaluated only on the rows they can cover, and
the small facial features only in a window round each face. Used only by stylegan_tf.faces.
"""

import numpy as np

_SKIN = np.array([[255, 224, 196], [234, 192, 134], [198, 134, 66], [141, 85, 36], [90, 56, 37]]) / 255
_HAIR = np.array([[35, 28, 25], [95, 60, 35], [150, 70, 40], [225, 195, 120]]) / 255
_SHIRT = np.array([70, 90, 120]) / 255
_INK = np.array([35, 30, 30]) / 255
_TEXTURE_CELLS = 64  # background texture lattice: one cell per pixel at 64x64, averages out at 8x8


def head_ellipse(factors):
    """Centre (hx, hy) and semi-axes (a, b) of the head, in image coordinates [-1, 1] (x right, y down).

    Every part of a face is placed relative to this ellipse; tests use it to locate the parts.
    """
    a = 0.44 * factors["head_size"]
    return factors["head_x"], 0.02 + factors["head_y"], a, a * factors["head_shape"]


def _palette(colors, t):  # piecewise-linear colour ramp, t in [0, 1] -> [N, 3]
    x = np.clip(t, 0, 1) * (len(colors) - 1)
    i = np.minimum(x.astype(int), len(colors) - 2)
    w = (x - i)[:, None]
    return colors[i] * (1 - w) + colors[i + 1] * w


def _hsv(h, s, v):  # vectorised HSV -> RGB for hue arrays [N]
    k = (np.array([5.0, 3.0, 1.0]) + h[:, None] * 6) % 6
    return v - v * s * np.clip(np.minimum(k, 4 - k), 0, 1)


def _ellipse(u, v, cx, cy, a, b):  # first-order signed distance to an ellipse boundary
    x, y = (u - cx) / a, (v - cy) / b
    k = np.sqrt(x * x + y * y)
    return (k - 1) * k / (np.sqrt((x / a) ** 2 + (y / b) ** 2) + 1e-6)


def _circle(u, v, cx, cy, r):
    return np.sqrt((u - cx) ** 2 + (v - cy) ** 2) - r


def _capsule(u, v, x0, y0, x1, y1, r):  # thick segment from (x0, y0) to (x1, y1)
    dx, dy = x1 - x0, y1 - y0
    t = np.clip(((u - x0) * dx + (v - y0) * dy) / (dx * dx + dy * dy + 1e-9), 0, 1)
    return np.sqrt((u - x0 - t * dx) ** 2 + (v - y0 - t * dy) ** 2) - r


def _lattice(coords, table):
    """Bilinear value noise: table [N, L, L] on a lattice over [-1, 1], sampled at coords x coords.

    The sample grid is the same for every image, so interpolation is two small matrix products.
    """
    cells = table.shape[1] - 1
    x = np.clip((coords + 1) * 0.5 * cells, 0, cells - 1e-4)
    i = x.astype(np.int32)
    weights = np.zeros((len(coords), cells + 1), np.float32)  # [S, L] interpolation matrix
    weights[np.arange(len(coords)), i] = 1 - (x - i)
    weights[np.arange(len(coords)), i + 1] = x - i
    n, size = len(table), len(coords)
    # two plain 2-D products (batched small matmuls are slow with multi-threaded BLAS)
    rows = (table.reshape(n * (cells + 1), cells + 1) @ weights.T).reshape(n, cells + 1, size)  # [N, L, S]
    out = weights @ rows.transpose(1, 0, 2).reshape(cells + 1, n * size)  # [S, N * S]
    return out.reshape(size, n, size).transpose(1, 0, 2)  # [N, S, S]


class _Canvas:
    """Float RGB images, stored as colour planes [3, N, H, W], with an anti-aliased painter.

    Painting touches only the samples a shape covers, which keeps small parts (eyes, freckles) cheap;
    planes make those scattered reads and writes contiguous per channel.
    """

    def __init__(self, u, v, px, background):
        self.u, self.v, self.px = u, v, px
        self.shape = (len(background), v.shape[1], u.shape[2])
        self.rgb = np.empty((3,) + self.shape, np.float32)
        self.rgb[...] = np.asarray(background, np.float32).T.reshape(3, -1, 1, 1)
        self._flat = self.rgb.reshape(3, -1)  # a view: writes go to rgb

    def paint(self, d, color, opacity=1.0, rows=None, dense=False):
        """Paints the shape with signed distance d, given on all rows or on rows [r0, r1) only.

        `dense=True` suits large plain-coloured shapes: plain array arithmetic, no index bookkeeping.
        """
        n, h, w = self.shape
        r0, r1 = rows or (0, h)
        if dense:
            return self._paint_dense(np.broadcast_to(d, (n, r1 - r0, w)), color, opacity, r0, r1)
        d = np.broadcast_to(d, (n, r1 - r0, w))
        idx = np.flatnonzero(d < 0.5 * self.px)  # samples with non-zero coverage
        image = idx // ((r1 - r0) * w)
        c = np.minimum(0.5 - d.reshape(-1)[idx] / self.px, 1.0)
        idx += image * (h - (r1 - r0)) * w + r0 * w  # index into the full canvas
        if np.ndim(opacity):  # per-image opacity: skip the images where it is 0
            opacity = np.asarray(opacity, np.float32).reshape(-1)[image]
            keep = opacity > 0
            idx, image, c = idx[keep], image[keep], c[keep] * opacity[keep]
        else:
            c *= opacity
        if callable(color):  # a texture, evaluated only where the shape is
            h, w = self.shape[1:]
            u_idx = idx % w + (image * w if self.u.shape[0] > 1 else 0)  # coordinates may be per image
            v_idx = idx // w % h + (image * h if self.v.shape[0] > 1 else 0)
            channels = color(image, self.u.reshape(-1)[u_idx], self.v.reshape(-1)[v_idx]).T  # [3, K]
        else:
            color = np.asarray(color, np.float32)
            channels = color.T[:, image] if color.ndim == 2 else color.reshape(3, 1)  # [3, K] or [3, 1]
        edge = c < 1.0  # inside the shape the colour is simply set
        inside, idx, c = idx[~edge], idx[edge], c[edge]
        for plane, value in zip(self._flat, channels):
            plane[inside] = value[~edge] if value.size > 1 else value
            value = value[edge] if value.size > 1 else value
            old = plane[idx]
            plane[idx] = old + c * (value - old)


    def _paint_dense(self, d, color, opacity, r0, r1):
        c = np.clip(0.5 - d / self.px, 0.0, 1.0)  # [N, r1 - r0, W]
        if np.ndim(opacity):
            c *= np.asarray(opacity, np.float32).reshape(-1, 1, 1)
        elif opacity != 1.0:
            c *= opacity
        color = np.asarray(color, np.float32).reshape(-1, 3)  # [N or 1, 3]
        for plane, value in zip(self.rgb[:, :, r0:r1], color.T.reshape(3, -1, 1, 1)):
            plane += c * (value - plane)


def draw_faces(f, size):
    """Float RGB planes [3, N, size, size] in [0, 1] of the factor records `f` (no supersampling)."""
    n, px = len(f), 2.0 / size
    g = lambda name: f[name].astype(np.float32).reshape(n, 1, 1)  # noqa: E731  [N] -> [N, 1, 1]
    coords = (np.arange(size, dtype=np.float32) + 0.5) * px - 1
    u, v = coords.reshape(1, 1, size), coords.reshape(1, size, 1)
    skin = _palette(_SKIN, f["skin_tone"]).astype(np.float32)
    hair = _palette(_HAIR, f["hair_color"]).astype(np.float32)
    bg = _hsv(f["background_hue"].astype(np.float64), 0.35, 0.9).astype(np.float32)
    # stochastic detail: one generator per image, seeded by detail_seed only
    t = _TEXTURE_CELLS + 1
    detail = np.stack([np.random.default_rng([int(s), 7]).random(t * t + 2 + 3 * 12 * 12)
                       for s in f["detail_seed"]]).astype(np.float32)
    texture = (detail[:, : t * t].reshape(n, t, t) - 0.5) * 0.1  # uniform, std 0.029
    phases = detail[:, t * t : t * t + 2] * 2 * np.pi
    freckles = detail[:, t * t + 2 :].reshape(n, 3, 12, 12)

    cv = _Canvas(u, v, px, bg)
    cv.rgb *= 1 + _lattice(coords, texture)  # background texture, zero mean

    theta = 0.45 * g("head_turn")
    sin_t, cos_t = np.sin(theta), np.cos(theta)
    hx, hy, a, b = (np.reshape(x, (n, 1, 1)).astype(np.float32) for x in head_ellipse(f))
    hair_x = hx - 0.15 * a * sin_t  # the back of the head shows on the side turned away from
    strand_amp = np.clip((0.12 * a / px - 2.0) / 2.0, 0, 1) * 0.22  # fade strands that would alias
    strand_freq = 2 * np.pi * b / (0.12 * a)  # strands per radian: one every 0.12 head widths on the crown

    def hair_tex(image, us, vs):  # strands radiate from the crown; their placement is stochastic
        ang = np.arctan2(us - hair_x.reshape(-1)[image], (hy - b).reshape(-1)[image] - vs)
        wave = np.sin(strand_freq.reshape(-1)[image] * ang + phases[image, 0]
                      + 1.5 * np.sin(5 * ang + phases[image, 1]))
        return hair[image] * (1 - strand_amp.reshape(-1)[image] * (0.5 + 0.5 * wave))[:, None]

    def band(top, bottom):  # rows [r0, r1) that hold a part in every image of the chunk, and their v
        r0 = int(np.clip(np.floor((top.min() + 1) / px) - 1, 0, size))
        r1 = int(np.clip(np.ceil((bottom.max() + 1) / px) + 1, r0 + 1, size))
        return (r0, r1), v[:, r0:r1]

    rows, vb = band(hy + b - 0.1, np.ones(1))
    cv.paint(_ellipse(u, vb, hx, hy + b + 0.42, 2.2 * a, 0.5), _SHIRT, rows=rows, dense=True)
    rows, vb = band(hy - b, hy + 1.25 * b)
    long_hair = np.maximum(_ellipse(u, vb, hair_x, hy + 0.3 * b, 1.2 * a, 1.3 * b), vb - (hy + 1.25 * b))
    cv.paint(long_hair, hair_tex, opacity=g("long_hair")[..., None], rows=rows)
    rows, vb = band(hy + 0.5 * b - 0.36 * a, np.ones(1))
    cv.paint(_capsule(u, vb, hx, hy + 0.5 * b, hx, hy + b + 0.4, 0.36 * a), skin * 0.85, rows=rows, dense=True)
    rows, vb = band(hy + 0.02 * b - 0.22 * a, hy + 0.02 * b + 0.22 * a)
    for side in (-1, 1):  # ears, partly hidden behind the head when it turns
        ear_x = hx + side * a * (0.97 * cos_t) - 0.25 * a * sin_t
        cv.paint(_ellipse(u, vb, ear_x, hy + 0.02 * b, 0.13 * a, 0.22 * a), skin * 0.93, rows=rows)
    rows, vb = band(hy - b, hy + b)
    cv.paint(_ellipse(u, vb, hx, hy, a, b), skin, rows=rows, dense=True)
    # hair cap: a larger ellipse above the hairline, plus the sides of the head above the ears
    rows, vb = band(hy - 1.11 * b, hy)
    hairline = hy - b * np.where(g("bangs") > 0, 0.3 + 0.03 * np.sin((u - hx) * 40), 0.5)
    cap = np.maximum(_ellipse(u, vb, hair_x, hy - 0.05 * b, 1.1 * a, 1.06 * b),
                     np.minimum(vb - hairline, np.maximum(-_ellipse(u, vb, hx, hy, a, b), vb - hy)))
    cv.paint(cap, hair_tex, rows=rows)
    # the facial features are small: paint them in a window round the face, not the whole image
    x0 = hx - 1.05 * a
    y0 = hy - 0.03 * b - 0.4 * a
    width = int(np.ceil(2.1 * a.max() / px)) + 2
    height = int(np.ceil((0.55 * b + 0.65 * a).max() / px)) + 2
    ox = np.clip(np.floor((x0.reshape(-1) + 1) / px), 0, size - width).astype(np.int32)
    oy = np.clip(np.floor((y0.reshape(-1) + 1) / px), 0, size - height).astype(np.int32)
    cols = ox[:, None] + np.arange(width, dtype=np.int32)  # [N, width]
    rows = oy[:, None] + np.arange(height, dtype=np.int32)  # [N, height]
    window = (slice(None), np.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :])
    uw = ((cols + 0.5) * px - 1).astype(np.float32)[:, None, :]  # [N, 1, width]
    vw = ((rows + 0.5) * px - 1).astype(np.float32)[:, :, None]  # [N, height, 1]
    face = _Canvas(uw, vw, px, np.zeros((n, 3), np.float32))
    face.rgb[...] = cv.rgb[window]
    _paint_face(face, f, g, skin, hair, freckles, a, b, hx, hy, sin_t, cos_t)
    cv.rgb[window] = face.rgb
    return cv.rgb


def _paint_face(cv, f, g, skin, hair, freckles, a, b, hx, hy, sin_t, cos_t):
    u, v = cv.u, cv.v
    spacing, eye_y = g("eye_spacing"), hy - 0.03 * b
    eyes = []
    for side in (-1, 1):
        ex = hx + a * (side * spacing * cos_t + 0.55 * sin_t)
        fore = 1 - 0.35 * side * sin_t  # foreshortening of the eye nearer the silhouette
        eyes.append((side, ex, fore))
        ew, eh = 0.19 * a * fore, 0.1 * a
        white = _ellipse(u, v, ex, eye_y, ew, eh)
        lid = np.maximum(np.abs(_ellipse(u, v, ex, eye_y - 0.02 * a, ew, eh)) - 0.015 * a, eye_y - v)
        iris = np.maximum(_circle(u, v, ex + 0.06 * a * sin_t, eye_y, 0.065 * a), white)
        pupil = _circle(u, v, ex + 0.06 * a * sin_t, eye_y, 0.03 * a)
        is_open = g("eyes_open")[..., None]
        cv.paint(white, (0.96, 0.96, 0.96), opacity=is_open)
        cv.paint(iris, (0.3, 0.2, 0.15), opacity=is_open)
        cv.paint(pupil, _INK, opacity=is_open)
        cv.paint(np.abs(white) - 0.012 * a, _INK, opacity=is_open)
        cv.paint(lid, _INK, opacity=1 - is_open)
        brow_y = eye_y - 0.22 * a
        brow = _capsule(u, v, ex - 0.8 * ew, brow_y + 0.01 * a, ex + 0.8 * ew, brow_y - 0.01 * a, 0.03 * a)
        cv.paint(brow, hair * 0.75)
    # freckles (stochastic): one jittered dot per cell of a 12x12 lattice over the cheeks
    cheek = np.minimum(*[_ellipse(u, v, ex, hy + 0.18 * b, 0.2 * a, 0.12 * b) for _, ex, _ in eyes])
    cell = 0.04
    cx, cy = np.floor((u - hx) / cell), np.floor((v - hy) / cell)
    ix, iy = np.mod(cx, 12).astype(np.int32), np.mod(cy, 12).astype(np.int32)  # freckles [N, 3, 12, 12]
    n_idx = np.arange(len(f)).reshape(-1, 1, 1)
    jx, jy, on = (freckles[:, k][n_idx, iy, ix] for k in range(3))
    dot = _circle(u - hx, v - hy, (cx + 0.2 + 0.6 * jx) * cell, (cy + 0.2 + 0.6 * jy) * cell, 0.012)
    dot = np.maximum(np.where(on < 0.35, dot, 1.0), cheek)
    cv.paint(dot, skin * 0.72)
    # nose and mouth sit on the face's midline, which moves with the turn
    nose_x = hx + 0.9 * a * sin_t
    cv.paint(_ellipse(u, v, nose_x, hy + 0.22 * b, 0.07 * a, 0.045 * a), skin * 0.78)
    mx, my, mw = hx + 0.7 * a * sin_t, hy + 0.52 * b, 0.25 * a * cos_t
    smile = np.maximum(_ellipse(u, v, mx, my, mw, 0.2 * a), my - v)
    flat = _capsule(u, v, mx - 0.8 * mw, my + 0.05 * a, mx + 0.8 * mw, my + 0.05 * a, 0.025 * a)
    is_smiling = g("smiling")[..., None]
    cv.paint(smile, (0.55, 0.12, 0.16), opacity=is_smiling)
    cv.paint(np.maximum(smile, v - (my + 0.06 * a)), (0.97, 0.97, 0.95), opacity=is_smiling)  # teeth
    cv.paint(flat, (0.6, 0.22, 0.22), opacity=1 - is_smiling)
    # glasses: rings round the eyes, a bridge and the arms to the side of the head
    has_glasses = g("glasses")[..., None]
    (_, lx, lf), (_, rx, rf) = eyes
    rl, rr = 0.24 * a * lf, 0.24 * a * rf
    for ex, r, side in ((lx, rl, -1), (rx, rr, 1)):
        lens = _circle(u, v, ex, eye_y, r)
        cv.paint(lens, (0.75, 0.85, 0.95), opacity=0.25 * has_glasses)
        cv.paint(np.abs(lens) - 0.022 * a, _INK, opacity=has_glasses)
        arm_end = hx + side * a * cos_t * 0.97
        arm = _capsule(u, v, ex + side * r, eye_y - 0.03 * a, arm_end, eye_y - 0.06 * a, 0.02 * a)
        cv.paint(arm, _INK, opacity=has_glasses)
    bridge = _capsule(u, v, lx + rl, eye_y - 0.03 * a, rx - rr, eye_y - 0.03 * a, 0.02 * a)
    cv.paint(bridge, _INK, opacity=has_glasses)


