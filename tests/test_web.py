"""export --web: the folder, its graphs and noise maps give the Keras images, and the page does in headless Chromium.

The browser test needs Debian's `chromium` and `chromedriver` (`.ci/run` installs them) and onnxruntime-web in the
cache (`python -m stylegan_tf.export.ort_web`, which `.ci/run` runs before pytest); without them it is skipped,
with the reason. Nothing here downloads.
"""

import io
import json
import os
import shutil
import tarfile

import numpy as np
import pytest

from stylegan_tf import build_generator, cli, preset
from stylegan_tf.export import ort_web
from stylegan_tf.generation.figures import seeds_to_z, style_ranges
from stylegan_tf.generation.viz import to_uint8

pytest.importorskip("tf2onnx", reason="the web export needs tf2onnx (pip install -e \".[test]\")")
ort = pytest.importorskip("onnxruntime", reason="needs onnxruntime (pip install -e \".[test]\")")

TOL = 1e-3  # the bound on |page - Keras| for images in [-1, 1]; measured differences are ~1e-6


def _runtime():
    source = os.environ.get(ort_web.ENV) or (ort_web.cached_tarball() if ort_web.cached_tarball().is_file() else None)
    if source is None:
        pytest.skip(f"onnxruntime-web {ort_web.VERSION} is not in the cache ({ort_web.cached_tarball()}): run "
                    f"`python -m stylegan_tf.export.ort_web` once (.ci/run does)")
    return str(source)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A tiny 16 px G (non-zero w_avg and noise strengths) saved as a run folder and exported by the CLI."""
    runtime = _runtime()
    root = tmp_path_factory.mktemp("web")
    cfg = preset("F", resolution=16, fmap_base=64, fmap_max=32, z_dim=16, w_dim=16, mapping_layers=2, seed=3)
    G = build_generator(cfg)
    rng = np.random.default_rng(0)
    G.w_avg.assign(rng.normal(size=G.w_dim).astype(np.float32))
    for layer in G.synthesis.synthesis_layers:
        layer.noise.strength.assign(rng.uniform(0.3, 0.9, layer.noise.strength.shape).astype(np.float32))
    run_dir = root / "run"
    run_dir.mkdir()
    (run_dir / "config.json").write_text(cfg.to_json())
    G.save(run_dir / "G_ema.keras")
    out = root / "site"
    assert cli.main(["export", str(run_dir), str(out), "--web", "--runtime", runtime]) == 0
    return G, run_dir, out


def keras_images(G, seed=0, seed2=100, psi=0.7, cutoff=None, mix=None, noise_on=("coarse", "middle", "fine")):
    """What the page shows, from the Keras model: seeds seed ... seed + 7, then seed B alone ([9, R, R, C])."""
    seeds = [(seed + i) % 2**32 for i in range(8)] + [seed2]
    ws = G.mapping(seeds_to_z(seeds, G.z_dim))
    if mix is not None:  # layers [a, b) of the grid take seed B's styles
        a, b = mix
        ws_b = np.repeat(np.asarray(ws)[8:], 9, axis=0)
        mixed = G.style_mix(ws, G.style_mix(ws_b, ws, b), a)
        ws = np.concatenate([np.asarray(mixed)[:8], np.asarray(ws)[8:]])
    ws = G.truncate(ws, psi, G.num_ws if cutoff is None else cutoff)
    groups = style_ranges(G.num_ws)
    on = {i for g in noise_on for i in groups[g]}
    noise = [layer.noise.const_noise.numpy() * (i in on) for i, layer in enumerate(G.synthesis.synthesis_layers)]
    return np.asarray(G.synthesis(ws, noise=noise))


def test_folder_holds_page_graphs_noise_card_and_runtime(site):
    G, run_dir, out = site
    assert sorted(os.listdir(out)) == ["app.js", "index.html", "mapping.onnx", "model.json", "noise.bin", "ort",
                                       "synthesis.onnx"]
    assert sorted(os.listdir(out / "ort")) == sorted(ort_web.FILES)
    assert not [p for p in os.listdir(out.parent) if ".tmp-" in p]
    info = json.loads((out / "model.json").read_text())
    assert (info["resolution"], info["z_dim"], info["num_ws"], info["truncation_psi"]) == (16, 16, 6, 0.7)
    assert info["truncation_cutoff"] == 6  # the model's 8, clipped to its 6 layers
    np.testing.assert_array_equal(np.float32(info["w_avg"]), np.asarray(G.w_avg))
    assert info["groups"] == {"coarse": [0, 2], "middle": [2, 4], "fine": [4, 6]}
    assert info["card"]["row"] == "F" and info["card"]["seed"] == 3 and info["runtime"]["version"] == ort_web.VERSION
    noise = np.fromfile(out / "noise.bin", "<f4")
    for entry, layer in zip(info["noise"], G.synthesis.synthesis_layers):
        n = entry["size"] ** 2
        stored = layer.noise.const_noise.numpy().ravel()
        np.testing.assert_array_equal(noise[entry["offset"]:entry["offset"] + n], stored)
    assert info["noise"][-1]["offset"] + 16 * 16 == noise.size
    html = (out / "index.html").read_text()
    assert '<script src="ort/ort.wasm.min.js">' in html and "https://" not in html  # no network at view time


def test_folder_graphs_reproduce_keras_as_the_page_computes(site):
    """The page's computation in NumPy on the folder's files (onnxruntime in Python) equals Keras within 1e-3."""
    G, _, out = site
    info = json.loads((out / "model.json").read_text())
    mapping = ort.InferenceSession(str(out / "mapping.onnx"), providers=["CPUExecutionProvider"])
    synthesis = ort.InferenceSession(str(out / "synthesis.onnx"), providers=["CPUExecutionProvider"])
    noise_bin = np.fromfile(out / "noise.bin", "<f4")
    w_avg = np.float32(info["w_avg"])
    for seed, psi, cutoff, mix, noise_on in [(0, 0.7, 6, None, ("coarse", "middle", "fine")),
                                             (41, -0.5, 2, (2, 4), ("fine",)), (2**32 - 1, 1.0, 6, (0, 2), ())]:
        seeds = [(seed + i) % 2**32 for i in range(8)] + [100]
        (ws,) = mapping.run(None, {"z": seeds_to_z(seeds, G.z_dim)})
        if mix:
            ws[:8, mix[0]:mix[1]] = ws[8, mix[0]:mix[1]]
        ws[:, :cutoff] = w_avg + np.float32(psi) * (ws[:, :cutoff] - w_avg)
        feeds = {"ws": ws}
        for k, e in enumerate(info["noise"]):
            on = any(e["layer"] in range(*info["groups"][g]) for g in noise_on)
            n = noise_bin[e["offset"]:e["offset"] + e["size"] ** 2].reshape(1, e["size"], e["size"], 1)
            feeds[f"noise{k}"] = n if on else np.zeros_like(n)
        (images,) = synthesis.run(None, feeds)
        expected = keras_images(G, seed, 100, psi, cutoff, mix, noise_on)
        assert np.abs(images - expected).max() <= TOL, (seed, psi, mix, noise_on)
        assert np.abs(to_uint8(images).astype(int) - to_uint8(expected)).max() <= 1


def test_runtime_sources_are_checked(tmp_path, monkeypatch):
    monkeypatch.setenv("STYLEGAN_TF_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv(ort_web.ENV, raising=False)
    with pytest.raises(ValueError, match=r"is not in the cache \(.*\); run `python -m stylegan_tf.export.ort_web`"):
        ort_web.runtime_files(download=False)
    fake = tmp_path / "onnxruntime-web.tgz"
    with tarfile.open(fake, "w:gz") as tar:
        data = b"not the runtime"
        member = tarfile.TarInfo("package/dist/ort.wasm.min.js")
        member.size = len(data)
        tar.addfile(member, io.BytesIO(data))
    with pytest.raises(ValueError, match=f"is not onnxruntime-web {ort_web.VERSION} as the npm registry publishes"):
        ort_web.runtime_files(str(fake))
    folder = tmp_path / "package"
    (folder / "dist").mkdir(parents=True)
    (folder / "package.json").write_text('{"version": "1.0.0"}')
    with pytest.raises(ValueError, match=f"holds onnxruntime-web 1.0.0; this export needs {ort_web.VERSION}"):
        ort_web.runtime_files(str(folder))
    (folder / "package.json").write_text(json.dumps({"version": ort_web.VERSION}))
    with pytest.raises(ValueError, match="lacks ort.wasm.min.js"):
        ort_web.runtime_files(str(folder))
    for name in ort_web.FILES:
        (folder / "dist" / name).write_bytes(name.encode())
    assert ort_web.runtime_files(str(folder)) == {name: name.encode() for name in ort_web.FILES}


def test_cli_web_errors_are_one_line(site, tmp_path, capsys):
    _, run_dir, out = site
    cases = [(["export", str(run_dir), str(out), "--web"], "already exists"),
             (["export", "--model", "F", str(run_dir), str(tmp_path / "o")], "give only OUT"),
             (["export", str(tmp_path / "o")], "give RUN_DIR and OUT"),
             (["export", "--model", "Q", str(tmp_path / "o"), "--web"], "no shipped model named 'Q'"),
             (["export", str(run_dir), str(tmp_path / "o"), "--web", "--onnx"], "are SavedModel options"),
             (["export", str(run_dir), str(tmp_path / "o"), "--runtime", "x.tgz"], "add --web"),
             (["export", str(run_dir), str(tmp_path / "o"), "--web", "--runtime", str(tmp_path / "no.tgz")],
              "no.tgz does not exist")]
    for argv, words in cases:
        assert cli.main(argv) == 2, argv
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and words in err[0], (argv, err)
    assert not (tmp_path / "o").exists()


def test_shipped_model_card_comes_from_the_manifest():
    from stylegan_tf import pretrained
    from stylegan_tf.export.web import shipped_card

    card = shipped_card("F")
    assert (card["row"], card["seed"], card["kimg"]) == ("F", 0, pretrained.entry("F")["kimg"])
    values = {m["name"]: m["value"] for m in card["metrics"]}
    assert values == pretrained.metrics("F") and values["fd_probe"] > 0


# --- the page in headless Chromium -------------------------------------------------------------------------

CHROMIUM = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
CHROMEDRIVER = ("/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver")


def _browser():
    webdriver = pytest.importorskip("selenium.webdriver", reason="the browser test needs selenium "
                                    "(pip install -e \".[test]\")")
    from selenium.webdriver.chrome.service import Service

    binary = os.environ.get("CHROMIUM") or next((p for p in CHROMIUM if os.path.exists(p)), None)
    driver = os.environ.get("CHROMEDRIVER") or next((p for p in CHROMEDRIVER if os.path.exists(p)),
                                                    shutil.which("chromedriver"))
    for name, path in (("CHROMIUM", binary), ("CHROMEDRIVER", driver)):
        if path is not None and not os.path.exists(path):
            pytest.skip(f"{name}={path} does not exist")
    if binary is None or driver is None:
        pytest.skip("no Chromium and chromedriver found (Debian: apt-get install chromium chromium-driver, "
                    "as .ci/run does; or set CHROMIUM and CHROMEDRIVER)")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1200,1000", "--disable-background-networking", "--no-first-run"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    browser = webdriver.Chrome(options=options, service=Service(driver))  # a given driver: Selenium downloads nothing
    browser.set_script_timeout(180)
    return browser


def serve(folder):
    """A static file server for `folder` on 127.0.0.1 (a free port) in a thread; returns (server, url)."""
    import functools
    import http.server
    import threading

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}/"


IDLE = ("const done = arguments[arguments.length - 1];"
        "window.stylegan.ready.then(() => window.stylegan.idle()).then(() => done(null), (e) => done(String(e)));")
READ = """const s = window.stylegan, st = document.getElementById('status');
const canvases = [...document.querySelectorAll('#grid canvas'), document.getElementById('source-b')];
return {images: Array.from(s.images), errors: s.errors, status: st.textContent, error: st.className === 'error',
        pixels: canvases.map((c) => Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data)),
        seed: document.getElementById('seed').value};"""


class Page:
    def __init__(self, browser, G):
        self.browser, self.G = browser, G

    def wait(self):
        assert self.browser.execute_async_script(IDLE) is None

    def read(self):
        state = self.browser.execute_script(READ)
        R, C = self.G.resolution, self.G.num_channels
        state["images"] = np.float32(state["images"]).reshape(9, R, R, C)
        state["pixels"] = np.uint8(state["pixels"]).reshape(9, R, R, 4)
        return state

    def set_range(self, element_id, value):  # what dragging a slider does: a new value, then an input event
        self.browser.execute_script("const el = document.getElementById(arguments[0]); el.value = arguments[1];"
                                    "el.dispatchEvent(new Event('input'));", element_id, str(value))
        self.wait()

    def type(self, element_id, text):  # select all, then type: one input event per key, as a user's typing
        from selenium.webdriver.common.by import By
        from selenium.webdriver.common.keys import Keys

        field = self.browser.find_element(By.ID, element_id)
        field.send_keys(Keys.CONTROL, "a")
        field.send_keys(text if text else Keys.DELETE)
        self.wait()

    def paste(self, element_id, text):  # the whole text at once, as pasting it does
        self.browser.execute_script("const el = document.getElementById(arguments[0]); el.value = arguments[1];"
                                    "el.dispatchEvent(new Event('input'));", element_id, text)
        self.wait()

    def click(self, selector):
        from selenium.webdriver.common.by import By

        self.browser.find_element(By.CSS_SELECTOR, selector).click()
        self.wait()


def test_page_controls_give_the_keras_images_in_headless_chromium(site, tmp_path):
    G, _, out = site
    browser = _browser()
    server, url = serve(out)
    diffs = {}
    try:
        browser.get(url)
        page = Page(browser, G)
        page.wait()
        controls = dict(seed=0, seed2=100, psi=0.7, cutoff=6, mix=None, noise_on=["coarse", "middle", "fine"])

        def check(name):
            state = page.read()
            assert not state["error"] and state["errors"] == 0, (name, state["status"])
            expected = keras_images(G, **controls)
            diffs[name] = float(np.abs(state["images"] - expected).max())
            assert diffs[name] <= TOL, (name, diffs[name])
            rgb = state["pixels"][..., :3].astype(int)
            assert np.abs(rgb - to_uint8(expected)).max() <= 1, name  # the canvas shows those images
            assert (state["pixels"][..., 3] == 255).all()
            return state

        first = check("initial (seed 0, psi 0.7, cutoff 6)")
        page.type("seed", "12345")
        controls["seed"] = 12345
        check("seed 12345")
        page.click("#random")
        controls["seed"] = int(page.read()["seed"])
        check("random seed")
        page.set_range("psi", -0.5)
        controls["psi"] = -0.5
        check("psi -0.5")
        page.set_range("cutoff", 2)
        controls["cutoff"] = 2
        check("cutoff 2")
        page.type("seed2", "77")
        controls["seed2"] = 77
        check("seed B 77")
        page.set_range("crossover", 3)
        controls["mix"] = (3, 6)
        check("crossover 3")
        for group, layers in style_ranges(G.num_ws).items():
            page.click(f"button[data-mix={group}]")
            controls["mix"] = (layers.start, layers.stop)
            check(f"mix {group}")
        page.click("button[data-mix=off]")
        controls["mix"] = None
        check("mix none")
        for group in ("coarse", "fine", "middle"):
            page.click(f"#noise-{group}")
            controls["noise_on"].remove(group)
            check(f"noise {group} off")
        page.type("seed", str(2**32 - 1))  # the grid wraps round to seeds 0 ... 6
        controls["seed"] = 2**32 - 1
        good = check("seed 4294967295")

        for text in ("abc", "", "-1", "4294967296", "1e3", "12.5", " 7 7"):  # refused in a line; the images stay
            page.paste("seed", text)
            state = page.read()
            assert state["error"] and "Seed: give a whole number from 0 to 4294967295" in state["status"], text
            assert state["errors"] == 0 and (state["pixels"] == good["pixels"]).all(), text
        page.type("seed", "0")
        controls["seed"] = 0
        back = check("seed 0 after bad input")
        page.paste("seed2", "")
        state = page.read()
        assert state["error"] and "Second seed B: give a whole number" in state["status"]
        assert (state["pixels"] == back["pixels"]).all()
        page.paste("seed2", "77")
        check("seed B 77 again")
        assert (back["pixels"] != first["pixels"]).any()  # psi, cutoff and noise moved since the first images

        page.set_range("psi", 0.7)
        page.set_range("cutoff", 6)
        for group in ("coarse", "middle", "fine"):
            page.click(f"#noise-{group}")
        browser.save_screenshot(str(tmp_path / "web_page.png"))
        if os.environ.get("STYLEGAN_TF_WEB_SCREENSHOT"):
            shutil.copy(tmp_path / "web_page.png", os.environ["STYLEGAN_TF_WEB_SCREENSHOT"])
        assert (tmp_path / "web_page.png").stat().st_size > 10_000
        logs = browser.get_log("browser")
        errors = [e for e in logs if e["level"] in ("SEVERE", "ERROR")]
        assert not errors, errors  # console errors and uncaught page errors (Chromium logs them as SEVERE)
        browser.get((out / "index.html").as_uri())  # opened as a file: a one-line hint instead of broken images
        status = browser.execute_script("return document.getElementById('status').textContent;")
        assert "serve this folder" in status and "python -m http.server" in status, status
        assert not [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
    finally:
        browser.quit()
        server.shutdown()
    print("largest |page - Keras| per control:", json.dumps(diffs, indent=1))
