"""Chapter 09: wrong answers that pass each exercise's visible check; the hidden tests must fail every one. Instructor material."""

_PENALTY = '''def noise_penalty(noise_maps):
    total = 0.0
    for v in noise_maps:
        v = np.asarray(v, np.float64)[..., 0]
        while True:
{body}
    return np.asarray(total, np.float64)'''

_SQUARED = '''            total = total + (np.mean(v * np.roll(v, 1, axis=2), axis=(1, 2)) ** 2
                             + np.mean(v * np.roll(v, 1, axis={axis}), axis=(1, 2)) ** 2)
            if v.shape[1] <= {stop}:
                break
            half = v.shape[1] // 2
            v = {down}'''
_AVERAGE = "v.reshape(-1, half, 2, half, 2).mean(axis=(2, 4))"

_PSNR = '''def psnr_db(images, targets):
    mse = np.mean((np.asarray(images, np.float64) - np.asarray(targets, np.float64)) ** 2, axis={axes})
    return {formula}


gain_db = {gain}'''
_GAIN = 'float(np.mean(psnr_db(proj["w+"].images, reals)) - np.mean(psnr_db(proj["w"].images, reals)))'

_ABLATION = '''def noise_carried_db(G, result, targets):
    reference = {reference}
    return float(np.mean(psnr_db(result.images, targets) - psnr_db(reference, targets)))


ABLATED_RECIPE = dict(RECIPE, {change})
ablated = project(G_F, reals, space="w", steps=STEPS, seed=0, recipe=ABLATED_RECIPE)
carried = {{"on": noise_carried_db(G_F, proj["w"], reals), "off": noise_carried_db(G_F, ablated, reals)}}'''
_CONSTANT = "figures.synthesize(G, result.ws)"

MUTATIONS = {
    "ex1_noise_penalty": [
        ("absolute autocorrelations instead of squared ones", _PENALTY.format(body='''\
            total = total + (np.abs(np.mean(v * np.roll(v, 1, axis=2), axis=(1, 2)))
                             + np.abs(np.mean(v * np.roll(v, 1, axis=1), axis=(1, 2))))
            if v.shape[1] <= 8:
                break
            half = v.shape[1] // 2
            v = v.reshape(-1, half, 2, half, 2).mean(axis=(2, 4))''')),
        ("the pyramid stops at 16x16, one level short of 8x8",
         _PENALTY.format(body=_SQUARED.format(axis=1, stop=16, down=_AVERAGE))),
        ("every other pixel (subsampling) instead of the 2x2 average",
         _PENALTY.format(body=_SQUARED.format(axis=1, stop=8, down="v[:, ::2, ::2]"))),
        ("both shifts along x (the y shift forgotten)",
         _PENALTY.format(body=_SQUARED.format(axis=2, stop=8, down=_AVERAGE))),
        ("the means taken over the whole batch, not per image", '''def noise_penalty(noise_maps):
    total = 0.0
    for v in noise_maps:
        v = np.asarray(v, np.float64)[..., 0]
        while True:
            total = total + np.mean(v * np.roll(v, 1, axis=2)) ** 2 + np.mean(v * np.roll(v, 1, axis=1)) ** 2
            if v.shape[1] <= 8:
                break
            half = v.shape[1] // 2
            v = v.reshape(-1, half, 2, half, 2).mean(axis=(2, 4))
    return np.full(len(noise_maps[0]), total, np.float64)'''),
    ],
    "ex2_psnr": [
        ("a peak of 1 instead of the range's 2 (images taken as [0, 1])",
         _PSNR.format(axes="(1, 2, 3)", formula="10.0 * np.log10(1.0 / mse)", gain=_GAIN)),
        ("20 log10 of the MSE ratio (the amplitude form applied to a power)",
         _PSNR.format(axes="(1, 2, 3)", formula="20.0 * np.log10(4.0 / mse)", gain=_GAIN)),
        ("one MSE over the whole batch, repeated per image",
         _PSNR.format(axes="None", formula="np.full(len(images), 10.0 * np.log10(4.0 / mse))", gain=_GAIN)),
        ("the gain from the batch's pooled MSE instead of the mean of the per-image PSNRs", _PSNR.format(
            axes="(1, 2, 3)", formula="10.0 * np.log10(4.0 / mse)",
            gain='float(10 * np.log10(4 / np.mean((proj["w+"].images - reals) ** 2))\n'
                 '                - 10 * np.log10(4 / np.mean((proj["w"].images - reals) ** 2)))')),
    ],
    "ex3_ablation": [
        ("the w noise switched off instead of the noise regulariser",
         _ABLATION.format(reference=_CONSTANT, change="initial_noise_factor=0.0")),
        ("the regulariser turned down tenfold, not off",
         _ABLATION.format(reference=_CONSTANT, change="regularize_noise_weight=1e4")),
        ("G's random noise as the reference instead of its stored constant noise", _ABLATION.format(
            reference='np.asarray(G.synthesis(result.ws, noise_mode="random"))', change="regularize_noise_weight=0.0")),
    ],
    "ex4_read_recovery": [
        ("head shape, the coarse factor whose W bar is longest",
         'answers = {"worst_factor_in_w": "head_shape", "better_space_for_coarse": "w+"}'),
        ("W for the coarse factors (the literature's 'W edits better' read as 'W recovers better')",
         'answers = {"worst_factor_in_w": "eye_spacing", "better_space_for_coarse": "w"}'),
    ],
}
