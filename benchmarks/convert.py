"""Seconds to convert an official StyleGAN v1 pickle (`python -m stylegan_tf convert`) on the CPU.

    python benchmarks/convert.py                    # a synthetic FFHQ-layout 1024 px pickle (G, D, Gs)
    python benchmarks/convert.py --resolution 256   # bedrooms / cats size

Writes a pickle in the official layout and widths (tests/official_layout.py, random values, the same
variables and shapes as karras2019stylegan-ffhq-1024x1024.pkl: 26.2 M + 23.1 M + 26.2 M parameters, about
300 MB) into a temporary folder, then times the three steps of the command: reading the pickle with the
restricted unpickler, building the three Keras models and copying the weights, writing the .keras files.
Prints the seconds of each and the 1-minute load average before and after.

Measured on the project's 2-core AVX-512 CPU (oneDNN on), 1024 px, 324 MB pickle, while other jobs shared it
(1-minute load average 8.7-10.1): read 0.1-0.2 s, build + copy 7.8-9.6 s, write 5.2-5.9 s, total 13.0-15.7 s;
`python -m stylegan_tf convert` end to end (with the TensorFlow import) 30.3 s wall.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))

import numpy as np  # noqa: E402

import official_layout as official  # noqa: E402
from stylegan_tf.export.convert import ConvertedNetworks, official_config, save_converted  # noqa: E402
from stylegan_tf.export import convert as convert_module  # noqa: E402
from stylegan_tf.export.official_pickle import load_official_pickle  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--resolution", type=int, default=1024)
    parser.add_argument("--cli", action="store_true", help="also time `python -m stylegan_tf convert` end to end "
                                                           "(a fresh process: TensorFlow import included)")
    args = parser.parse_args()
    spec = {**official.SPEC, "resolution": args.resolution, "fmap_base": 8192, "fmap_max": 512, "latent_size": 512,
            "dlatent_size": 512, "mapping_layers": 8, "mapping_fmaps": 512}
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, f"synthetic-{args.resolution}x{args.resolution}.pkl")
        variables = official.official_variables(spec, np.random.default_rng(0))
        nets = official.official_networks(spec, variables, dlatent_avg=np.zeros(512, np.float32), with_kwargs=False)
        official.write_pickle(path, nets)
        del variables, nets
        print(f"pickle: {os.path.getsize(path) / 1e6:.0f} MB; load average before: {os.getloadavg()[0]:.2f}")

        t0 = time.perf_counter()
        loaded = load_official_pickle(path)
        t1 = time.perf_counter()
        cfg = official_config(loaded, path)
        models = {}
        for role, name in (("Gs", "G_ema"), ("G", "G")):
            models[name] = convert_module.build_generator(cfg, name=name)
            convert_module._assign(convert_module._generator_pairs(models[name], loaded[role]),
                                   loaded[role].variables, role)
        models["D"] = convert_module.build_discriminator(cfg, name="D")
        convert_module._assign(convert_module._discriminator_pairs(models["D"]), loaded["D"].variables, "D")
        converted = ConvertedNetworks(cfg, models["G_ema"], models["G"], models["D"],
                                      convert_module._source(path, loaded, cfg))
        t2 = time.perf_counter()
        save_converted(converted, os.path.join(tmp, "out"))
        t3 = time.perf_counter()
        if args.cli:
            cmd = [sys.executable, "-m", "stylegan_tf", "convert", path, os.path.join(tmp, "cli")]
            t4 = time.perf_counter()
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
            print(f"python -m stylegan_tf convert: {time.perf_counter() - t4:.1f} s wall, TensorFlow import included")
    print(f"read pickle {t1 - t0:.1f} s, build + copy weights {t2 - t1:.1f} s, write .keras files {t3 - t2:.1f} s, "
          f"total {t3 - t0:.1f} s; load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
