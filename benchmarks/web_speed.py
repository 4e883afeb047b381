"""Time per 32 px image of the exported web page: in the browser (WebAssembly, one thread), beside onnxruntime
in Python and the Keras model, all on the shipped F (mapping + synthesis with the stored noise).

    python benchmarks/web_speed.py                                   # exports F to a temporary folder
    python benchmarks/web_speed.py --site site --screenshot docs/img/web_page.png

- browser: the page's own `stylegan.benchmark(reps, batch)` in headless Chromium (Debian's chromium and
  chromedriver, as tests/test_web.py), onnxruntime-web's wasm backend with `numThreads = 1`;
- onnxruntime: the same two .onnx files in Python, CPU provider, with 1 thread and with its default threads;
- Keras: `G.mapping` then `G.synthesis(noise_mode="const")`, eager, and both under one `tf.function`.

Each is the best (as `timeit` reports) of --repeats timed runs of --reps calls, after one warm-up call, at batch 1
and 8, in wall milliseconds per image: on a shared machine the best run is the one least slowed by other jobs.
Run it on an idle machine: the load average is printed; --screenshot saves the page at its first view (seeds
0 ... 7, the model's psi) after the timings. It also prints how far the page's first view is from Keras.
"""

import argparse
import functools
import http.server
import json
import os
import sys
import tempfile
import threading
import time

import numpy as np


def _serve(folder):
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}/"


def browser_times(site, batches, reps, repeats, screenshot=None):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1200,1000"):
        options.add_argument(arg)
    driver = Service(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver"))
    browser = webdriver.Chrome(options=options, service=driver)
    browser.set_script_timeout(600)
    server, url = _serve(site)
    try:
        browser.get(url)
        browser.execute_async_script("const done = arguments[arguments.length - 1];"
                                     "window.stylegan.ready.then(() => window.stylegan.idle()).then(done);")
        out = {"images": np.float32(browser.execute_script("return Array.from(window.stylegan.images);"))}
        for batch in batches:
            runs = [browser.execute_async_script("const done = arguments[arguments.length - 1];"
                                                 "window.stylegan.benchmark(arguments[0], arguments[1]).then(done);",
                                                 reps, batch) for _ in range(repeats)]
            out[batch] = min(runs)
        if screenshot:
            browser.save_screenshot(screenshot)
        return out
    finally:
        browser.quit()
        server.shutdown()


def _median_ms(fn, batch, reps, repeats):
    fn()
    runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(reps):
            fn()
        runs.append((time.perf_counter() - t0) * 1000 / reps / batch)
    return min(runs)


def onnxruntime_times(site, batches, reps, repeats, threads):
    import onnxruntime as ort

    info = json.load(open(os.path.join(site, "model.json")))
    noise_bin = np.fromfile(os.path.join(site, "noise.bin"), "<f4")
    noise = {f"noise{k}": noise_bin[e["offset"]:e["offset"] + e["size"] ** 2].reshape(1, e["size"], e["size"], 1)
             for k, e in enumerate(info["noise"])}
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = options.inter_op_num_threads = threads
    sessions = [ort.InferenceSession(os.path.join(site, f), options, providers=["CPUExecutionProvider"])
                for f in ("mapping.onnx", "synthesis.onnx")]
    out = {}
    for batch in batches:
        z = np.random.RandomState(0).randn(batch, info["z_dim"]).astype(np.float32)
        out[batch] = _median_ms(lambda: sessions[1].run(None, {"ws": sessions[0].run(None, {"z": z})[0], **noise}),
                                batch, reps, repeats)
    return out


def keras_times(G, batches, reps, repeats, graph):
    import tensorflow as tf

    def generate(z):
        return G.synthesis(G.mapping(z), noise_mode="const")

    fn = tf.function(generate) if graph else generate
    out = {}
    for batch in batches:
        z = tf.constant(np.random.RandomState(0).randn(batch, G.z_dim).astype(np.float32))
        out[batch] = _median_ms(lambda: np.asarray(fn(z)), batch, reps, repeats)
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="F", help="shipped model (default: F)")
    p.add_argument("--site", help="an exported folder of that model (default: export it to a temporary folder)")
    p.add_argument("--batches", default="1,8")
    p.add_argument("--reps", type=int, default=20)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--screenshot", help="save the page's screenshot here (PNG)")
    args = p.parse_args(argv)
    batches = [int(b) for b in args.batches.split(",")]
    from stylegan_tf import cli, pretrained

    site = args.site
    if site is None or not os.path.isdir(site):
        site = site or os.path.join(tempfile.mkdtemp(), "site")
        assert cli.main(["export", "--model", args.model, site, "--web"]) == 0
    size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(site) for f in fs)
    print(f"model {args.model}, folder {site}: {size / 1e6:.1f} MB; load average {os.getloadavg()[0]:.2f}, "
          f"{os.cpu_count()} CPUs")
    rows = {"browser, onnxruntime-web wasm, 1 thread": browser_times(site, batches, args.reps, args.repeats,
                                                                      args.screenshot)}
    page_images = rows["browser, onnxruntime-web wasm, 1 thread"].pop("images")
    rows["onnxruntime (Python), 1 thread"] = onnxruntime_times(site, batches, args.reps, args.repeats, 1)
    rows["onnxruntime (Python), default threads"] = onnxruntime_times(site, batches, args.reps, args.repeats, 0)
    G = pretrained.load(args.model)
    from stylegan_tf.generation.figures import mapping_ws, seeds_to_z

    ws = mapping_ws(G, seeds_to_z(list(range(8)) + [100], G.z_dim))  # the page's first view: seeds 0-7, B = 100
    expected = np.asarray(G.synthesis(ws, noise_mode="const"))
    diff = np.abs(page_images.reshape(expected.shape) - expected).max()
    print(f"page's first view vs Keras (9 images): max |difference| {diff:.2e}")
    rows["Keras, eager"] = keras_times(G, batches, args.reps, args.repeats, graph=False)
    rows["Keras, tf.function"] = keras_times(G, batches, args.reps, args.repeats, graph=True)
    print(f"{'ms per 32 px image':42s}" + "".join(f"{f'batch {b}':>10s}" for b in batches))
    for name, times in rows.items():
        print(f"{name:42s}" + "".join(f"{times[b]:10.2f}" for b in batches))
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
