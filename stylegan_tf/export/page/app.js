// The page of `python -m stylegan_tf export ... --web` (stylegan_tf/export/web.py): seeds -> z as NumPy's
// RandomState(seed).randn (stylegan_tf.generation.figures.seeds_to_z), z -> ws with mapping.onnx, truncation and
// style mixing in W (Generator.truncate, Generator.style_mix), ws + noise maps -> images with synthesis.onnx.
"use strict";

const SEED_MAX = 4294967295;  // seeds are uint32, as NumPy's RandomState takes them
const GRID = 8;

// NumPy's legacy MT19937 (RandomState): init_genrand seeding, 53-bit doubles, polar Box-Muller gauss.
class RandomState {
  constructor(seed) {
    this.mt = new Uint32Array(624);
    this.mt[0] = seed >>> 0;
    for (let i = 1; i < 624; i++) {
      const p = this.mt[i - 1] ^ (this.mt[i - 1] >>> 30);
      this.mt[i] = (Math.imul(1812433253, p) + i) >>> 0;
    }
    this.pos = 624;
    this.gauss = null;
  }
  int32() {
    const mt = this.mt;
    if (this.pos >= 624) {
      for (let k = 0; k < 624; k++) {
        const y = (mt[k] & 0x80000000) | (mt[(k + 1) % 624] & 0x7fffffff);
        mt[k] = mt[(k + 397) % 624] ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
      }
      this.pos = 0;
    }
    let y = mt[this.pos++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }
  double() {
    const a = this.int32() >>> 5, b = this.int32() >>> 6;
    return (a * 67108864.0 + b) / 9007199254740992.0;
  }
  randn() {
    if (this.gauss !== null) { const g = this.gauss; this.gauss = null; return g; }
    let x1, x2, r2;
    do {
      x1 = 2.0 * this.double() - 1.0;
      x2 = 2.0 * this.double() - 1.0;
      r2 = x1 * x1 + x2 * x2;
    } while (r2 >= 1.0 || r2 === 0.0);
    const f = Math.sqrt(-2.0 * Math.log(r2) / r2);
    this.gauss = f * x1;
    return f * x2;
  }
}

function seedToZ(seed, zDim, out, offset) {  // float32 z = RandomState(seed).randn(z_dim)
  const rs = new RandomState(seed);
  for (let i = 0; i < zDim; i++) out[offset + i] = rs.randn();
}

const $ = (id) => document.getElementById(id);
const f32 = Math.fround;
const app = { model: null, mapping: null, synthesis: null, noise: null, images: null, ws: null, seeds: null,
              renders: 0, errors: 0, busy: false, pending: false, mix: null, lastMs: null, waiters: [] };
window.stylegan = app;

function status(text, isError) {
  const el = $("status");
  el.textContent = text;
  el.className = isError ? "error" : "";
}

function parseSeed(id, name) {  // a uint32 or a one-line message naming the problem and the fix
  const el = $(id), text = el.value.trim();
  const ok = /^\d{1,10}$/.test(text) && Number(text) <= SEED_MAX;
  el.setAttribute("aria-invalid", ok ? "false" : "true");
  if (ok) return { value: Number(text) };
  const got = text === "" ? "the field is empty" : `got "${text.slice(0, 20)}"`;
  return { error: `${name}: give a whole number from 0 to ${SEED_MAX} (${got}); ` +
                  "the images still show the last valid input." };
}

function groupOf(layer) {
  for (const [name, [a, b]] of Object.entries(app.model.groups)) if (layer >= a && layer < b) return name;
  return null;
}

function layersText(a, b) {
  if (a >= b) return "no layer";
  return b - a === 1 ? `layer ${a}` : `layers ${a}-${b - 1}`;
}

function readControls() {
  const seed = parseSeed("seed", "Seed"), seed2 = parseSeed("seed2", "Second seed B");
  const error = seed.error || seed2.error;
  if (error) return { error };
  const m = app.model, psi = Number($("psi").value), cutoff = Number($("cutoff").value);
  const [mixFrom, mixTo] = app.mix || [Number($("crossover").value), m.num_ws];
  const noiseOn = {};
  for (const g of Object.keys(m.groups)) noiseOn[g] = !$(`noise-${g}`) || $(`noise-${g}`).checked;
  return { seed: seed.value, seed2: seed2.value, psi, cutoff, mixFrom, mixTo, noiseOn };
}

function showControls(c) {
  $("psi-value").textContent = c.psi.toFixed(2);
  $("cutoff-value").textContent = String(c.cutoff);
  $("crossover-value").textContent = app.mix ? "(preset)" : String(c.mixFrom);
  $("mix-layers").textContent = layersText(c.mixFrom, c.mixTo);
  for (const b of document.querySelectorAll("button[data-mix]")) {
    const g = app.model.groups[b.dataset.mix];
    const on = b.dataset.mix === "off" ? c.mixFrom >= c.mixTo : g && g[0] === c.mixFrom && g[1] === c.mixTo;
    b.className = on ? "on" : "";
  }
}

async function renderOnce() {
  const m = app.model, c = readControls();
  if (c.error) { status(c.error, true); return; }
  showControls(c);
  const t0 = performance.now();
  const L = m.num_ws, D = m.w_dim, n = GRID + 1;  // the grid, then seed B alone
  const seeds = [];
  for (let i = 0; i < GRID; i++) seeds.push((c.seed + i) % (SEED_MAX + 1));
  seeds.push(c.seed2);
  const z = new Float32Array(n * m.z_dim);
  seeds.forEach((s, i) => seedToZ(s, m.z_dim, z, i * m.z_dim));
  const mapped = await app.mapping.run({ z: new ort.Tensor("float32", z, [n, m.z_dim]) });
  const wsIn = mapped[app.mapping.outputNames[0]].data;  // [n, L, D]
  const ws = new Float32Array(n * L * D);
  for (let k = 0; k < n; k++) {
    for (let i = 0; i < L; i++) {
      const fromB = k < GRID && i >= c.mixFrom && i < c.mixTo;  // Generator.style_mix
      const src = ((fromB ? GRID : k) * L + i) * D, dst = (k * L + i) * D;
      for (let j = 0; j < D; j++) {
        const w = wsIn[src + j], avg = f32(m.w_avg[j]);  // Generator.truncate, in float32 as TensorFlow
        ws[dst + j] = i < c.cutoff ? f32(avg + f32(f32(c.psi) * f32(w - avg))) : w;
      }
    }
  }
  const feeds = { ws: new ort.Tensor("float32", ws, [n, L, D]) };
  m.noise.forEach((entry, k) => {
    const size = entry.size * entry.size, on = c.noiseOn[groupOf(entry.layer)];
    const data = on ? app.noise.slice(entry.offset, entry.offset + size) : new Float32Array(size);
    feeds[`noise${k}`] = new ort.Tensor("float32", data, [1, entry.size, entry.size, 1]);
  });
  const out = await app.synthesis.run(feeds);
  const images = out[app.synthesis.outputNames[0]].data;  // [n, R, R, C] in [-1, 1]
  app.lastMs = performance.now() - t0;
  app.images = images; app.ws = ws; app.seeds = seeds; app.controls = c;
  draw(images, n);
  $("timing").textContent = `${n} images in ${app.lastMs.toFixed(0)} ms (mapping + synthesis, WebAssembly, 1 thread)` +
                            (app.renders === 0 ? "; the first draw includes the runtime's warm-up" : "");
  status(`Seeds ${seeds[0]}-${seeds[GRID - 1]}, psi ${c.psi.toFixed(2)} on ${layersText(0, c.cutoff)}` +
         (c.mixFrom < c.mixTo ? `, seed B's styles on ${layersText(c.mixFrom, c.mixTo)}` : ""), false);
}

function toByte(x) {  // stylegan_tf.generation.viz.to_uint8: rint(x * 127.5 + 127.5) in float32, clipped
  const v = f32(f32(x * 127.5) + 127.5), r = Math.round(v);
  const even = (r - v === 0.5 && r % 2 !== 0) ? r - 1 : r;  // round half to even, as np.rint
  return Math.min(255, Math.max(0, even));
}

function draw(images, n) {
  const m = app.model, R = m.resolution, C = m.num_channels;
  const canvases = [...document.querySelectorAll("#grid canvas"), $("source-b")];
  for (let k = 0; k < n; k++) {
    const ctx = canvases[k].getContext("2d"), img = ctx.createImageData(R, R);
    for (let p = 0; p < R * R; p++) {
      for (let ch = 0; ch < 3; ch++) img.data[4 * p + ch] = toByte(images[(k * R * R + p) * C + (C === 3 ? ch : 0)]);
      img.data[4 * p + 3] = 255;
    }
    ctx.putImageData(img, 0, 0);
    if (k < GRID) canvases[k].parentElement.querySelector("span").textContent = `seed ${app.seeds[k]}`;
  }
}

async function render() {  // one render at a time; moves made meanwhile are merged into one more render
  if (app.busy) { app.pending = true; return; }
  app.busy = true;
  try {
    do { app.pending = false; await renderOnce(); } while (app.pending);
  } catch (e) {
    app.errors += 1;
    status(`Could not run the model: ${String(e && e.message || e).split("\n")[0].slice(0, 200)}`, true);
  } finally {
    app.busy = false;
    app.renders += 1;
    app.waiters.splice(0).forEach((resolve) => resolve());
  }
}

app.idle = () => (app.busy ? new Promise((resolve) => app.waiters.push(resolve)) : Promise.resolve());

app.benchmark = async (reps, batch) => {  // ms per image of mapping + synthesis at this batch size (stored noise)
  const m = app.model, z = new Float32Array(batch * m.z_dim);
  for (let k = 0; k < batch; k++) seedToZ(k, m.z_dim, z, k * m.z_dim);
  const feeds = {};
  m.noise.forEach((e, k) => { feeds[`noise${k}`] = new ort.Tensor("float32",
    app.noise.slice(e.offset, e.offset + e.size * e.size), [1, e.size, e.size, 1]); });
  const once = async () => {
    const ws = await app.mapping.run({ z: new ort.Tensor("float32", z, [batch, m.z_dim]) });
    await app.synthesis.run({ ...feeds, ws: ws[app.mapping.outputNames[0]] });
  };
  await once();
  const t0 = performance.now();
  for (let r = 0; r < reps; r++) await once();
  return (performance.now() - t0) / reps / batch;
};

const METRIC_NAMES = { fd_probe: "FD_probe", swd: "SWD x 10^3", fid50k: "FID (50k)", ls: "separability" };

function showCard(card, m) {
  const rows = [["resolution", `${m.resolution} x ${m.resolution}`], ["z, w", `${m.z_dim}, ${m.w_dim}`],
                ["style layers", String(m.num_ws)]];
  const known = (v) => v !== null && v !== undefined;
  if (card.row) rows.unshift(["Table 1 row", card.row + (known(card.seed) ? `, seed ${card.seed}` : "")]);
  if (known(card.kimg)) rows.push(["trained", `${card.kimg} kimg` + (card.data ? ` on ${card.data}` : "")]);
  const table = document.createElement("table");
  const add = (a, b) => {
    const tr = table.insertRow();
    tr.insertCell().textContent = a;
    tr.insertCell().textContent = b;
  };
  rows.forEach(([a, b]) => add(a, b));
  for (const x of card.metrics || []) {
    const label = METRIC_NAMES[x.name] || x.name.replace(/^ppl_/, "PPL ").replace(/_/g, " ");
    add(label, Number(x.value).toFixed(2) + (x.num_images ? ` (${x.num_images.toLocaleString("en")} images)` : ""));
  }
  const h = document.createElement("h3");
  h.textContent = `Model card: ${card.name || "exported generator"}`;
  $("card").replaceChildren(h, table);
  if ((card.metrics || []).length) {
    const p = document.createElement("p");
    p.className = "note";
    p.textContent = "Metrics as measured when the model was installed (lower is better; see docs/metrics.md).";
    $("card").append(p);
  }
  $("model-name").textContent = card.name ? `Model: ${card.name}.` : "";
}

function setup() {
  const m = app.model, grid = $("grid");
  for (let k = 0; k < GRID; k++) {
    const fig = document.createElement("figure"), cv = document.createElement("canvas");
    const cap = document.createElement("span");
    cv.width = cv.height = m.resolution;
    fig.append(cv, cap);
    grid.append(fig);
  }
  $("source-b").width = $("source-b").height = m.resolution;
  Object.assign($("psi"), { value: String(m.truncation_psi) });
  Object.assign($("cutoff"), { max: String(m.num_ws), value: String(m.truncation_cutoff) });
  Object.assign($("crossover"), { max: String(m.num_ws), value: String(m.num_ws) });
  for (const [g, [a, b]] of Object.entries(m.groups)) {
    const note = document.querySelector(`span[data-layers=${g}]`);
    if (note) note.textContent = `(${layersText(a, b)})`;
    const box = $(`noise-${g}`), hasNoise = m.noise.some((e) => e.layer >= a && e.layer < b);
    if (box && !hasNoise) { box.checked = false; box.disabled = true; }
    const button = document.querySelector(`button[data-mix=${g}]`);
    if (button && a >= b) button.disabled = true;
  }
  if (!m.noise.length) $("noise-controls").hidden = true;
  for (const id of ["seed", "seed2", "psi", "cutoff"]) $(id).addEventListener("input", render);
  for (const id of ["noise-coarse", "noise-middle", "noise-fine"]) $(id).addEventListener("change", render);
  $("crossover").addEventListener("input", () => { app.mix = null; render(); });
  for (const b of document.querySelectorAll("button[data-mix]")) {
    b.addEventListener("click", () => {
      const g = m.groups[b.dataset.mix];
      app.mix = g ? g.slice() : [m.num_ws, m.num_ws];
      render();
    });
  }
  $("random").addEventListener("click", () => {
    $("seed").value = String(crypto.getRandomValues(new Uint32Array(1))[0]);
    render();
  });
}

async function main() {
  if (location.protocol === "file:") {
    status("Browsers do not run WebAssembly from file:// pages: serve this folder, e.g. " +
           "python -m http.server -d THIS_FOLDER, and open http://127.0.0.1:8000/", true);
    return;
  }
  try {
    if (typeof ort === "undefined") throw new Error("ort/ort.wasm.min.js did not load");
    ort.env.logLevel = "error";
    ort.env.wasm.numThreads = 1;
    ort.env.wasm.wasmPaths = new URL("ort/", location.href).href;
    const get = async (name) => {
      const r = await fetch(name);
      if (!r.ok) throw new Error(`${name}: HTTP ${r.status}`);
      return r;
    };
    app.model = await (await get("model.json")).json();
    app.noise = new Float32Array(await (await get("noise.bin")).arrayBuffer());
    const options = { executionProviders: ["wasm"], graphOptimizationLevel: "all" };
    app.mapping = await ort.InferenceSession.create("mapping.onnx", options);
    app.synthesis = await ort.InferenceSession.create("synthesis.onnx", options);
  } catch (e) {
    status(`Could not load the model (${String(e && e.message || e).split("\n")[0].slice(0, 200)}): ` +
           "serve the whole exported folder over HTTP", true);
    app.errors += 1;
    return;
  }
  showCard(app.model.card || {}, app.model);
  setup();
  await render();
}

app.ready = main();
