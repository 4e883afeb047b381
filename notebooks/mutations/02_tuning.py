"""Chapter 02: wrong answers that pass each exercise's visible check; the hidden tests must fail every one. Instructor material."""

_R1 = ("def r1_penalty_scratch(D, reals, gamma=10.0):\n"
       "    reals = tf.convert_to_tensor(np.asarray(reals, np.float32))\n"
       "    with tf.GradientTape() as tape:\n"
       "        tape.watch(reals)\n"
       "        total = tf.reduce_{reduce}(D(reals))\n"
       "    grads = tape.gradient(total, reals).numpy()\n"
       "    return {value}\n")

_ALIAS = ("def alias_and_keep(taps):\n"
          "{body}")

MUTATIONS = {
    "ex1_blur_kernel": [
        ("outer sum of the taps instead of the outer product",
         "def blur_kernel_2d(taps):\n"
         "    f = np.asarray(taps, np.float32)\n"
         "    k = np.add.outer(f, f)\n"
         "    return (k / k.sum()).astype(np.float32)\n"),
        ("the 1-D filter along the rows only (not separable in both directions)",
         "def blur_kernel_2d(taps):\n"
         "    f = np.asarray(taps, np.float32)\n"
         "    k = np.outer(np.ones_like(f), f)\n"
         "    return (k / k.sum()).astype(np.float32)\n"),
        ("a box filter of the right size, ignoring the taps' values",
         "def blur_kernel_2d(taps):\n"
         "    n = len(taps)\n"
         "    return np.full((n, n), 1.0 / n ** 2, np.float32)\n"),
    ],
    "ex2_r1_penalty": [
        ("gamma instead of gamma / 2", _R1.format(reduce="sum", value="gamma * np.sum(grads ** 2, axis=(1, 2, 3))")),
        ("the gradient norm, not its square",
         _R1.format(reduce="sum", value="gamma / 2 * np.sqrt(np.sum(grads ** 2, axis=(1, 2, 3)))")),
        ("the gradient of the mean of the logits (each gradient divided by N)",
         _R1.format(reduce="mean", value="gamma / 2 * np.sum(grads ** 2, axis=(1, 2, 3))")),
        ("the mean over the pixels instead of the sum",
         _R1.format(reduce="sum", value="gamma / 2 * np.mean(grads ** 2, axis=(1, 2, 3))")),
    ],
    "ex3_d_logistic": [
        ("log1p(exp(.)): overflows for large logits",
         "def d_logistic_scratch(real_logits, fake_logits):\n"
         "    real_logits, fake_logits = np.asarray(real_logits, np.float32), np.asarray(fake_logits, np.float32)\n"
         "    return np.log1p(np.exp(fake_logits)) + np.log1p(np.exp(-real_logits))\n"),
        ("logits clipped to +-50 to avoid the overflow",
         "def d_logistic_scratch(real_logits, fake_logits):\n"
         "    real_logits, fake_logits = np.clip(real_logits, -50, 50), np.clip(fake_logits, -50, 50)\n"
         "    return np.log1p(np.exp(fake_logits)) + np.log1p(np.exp(-real_logits))\n"),
        ("the batch mean repeated for every example",
         "def d_logistic_scratch(real_logits, fake_logits):\n"
         "    out = np.logaddexp(0.0, np.asarray(fake_logits, np.float64)) + np.logaddexp(0.0, -np.asarray(real_logits, np.float64))\n"
         "    return np.full(out.shape, out.mean())\n"),
    ],
    "ex4_schedule_figure": [
        ("the start of the last fade-in, not its end", "FULL_RES_KIMG = 7800\nFIRST_RES_AT_SMALLEST_BATCH = 64\n"),
        ("the end of the plotted axis", "FULL_RES_KIMG = 10000\nFIRST_RES_AT_SMALLEST_BATCH = 64\n"),
        ("the resolution before the batch reaches its smallest value", "FULL_RES_KIMG = 8400\nFIRST_RES_AT_SMALLEST_BATCH = 32\n"),
    ],
    "ex5_alias_and_keep": [
        ("the blur applied after the downsampling instead of before",
         _ALIAS.format(body="    down = downsample_2x(zone)\n"
                            "    down = np.asarray(Blur(taps)(down) if len(taps) else down)[0, :, :, 0]\n"
                            "    return float(np.sqrt(np.mean(down[too_fine] ** 2))), float(np.sqrt(np.mean(down[fine_enough] ** 2)))\n")),
        ("keep measured over the whole image",
         _ALIAS.format(body="    x = Blur(taps)(zone) if len(taps) else zone\n"
                            "    down = np.asarray(downsample_2x(x))[0, :, :, 0]\n"
                            "    return float(np.sqrt(np.mean(down[too_fine] ** 2))), float(np.sqrt(np.mean(down ** 2)))\n")),
        ("keep measured everywhere the source is not too fine (includes the band just below the Nyquist frequency)",
         _ALIAS.format(body="    x = Blur(taps)(zone) if len(taps) else zone\n"
                            "    down = np.asarray(downsample_2x(x))[0, :, :, 0]\n"
                            "    return float(np.sqrt(np.mean(down[too_fine] ** 2))), float(np.sqrt(np.mean(down[~too_fine] ** 2)))\n")),
    ],
}
