// optimlab playground: the page draws; every number comes from the JSON API (/api/...), which runs optimlab.
// No optimizer, schedule or bound is computed here: the page keeps the state (also in the URL), sends it, and
// plots what comes back. Slider scales (log, 1 − γ on a log scale) only place the registry's values on a track.
"use strict";

const COLORS = ["#2458c6", "#d9480f", "#2b8a3e", "#862e9c", "#c2255c", "#0b7285", "#e67700", "#495057"];
const BATCHES = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000];
const SCHEDULES = ["constant", "lecture", "step", "exponential", "cosine"];
const PLOT_CONFIG = {displayModeBar: false, responsive: true};
const $ = (id) => document.getElementById(id);
const esc = (text) => String(text).replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));

let REG = null;      // GET /api/registry
let state = null;    // the whole page state; mirrored in the URL
let lastView = null; // the latest /api/view answer
let frame = null;    // animation frame (null: whole paths)
let timer = null;

// ---------------------------------------------------------------- talking to the API
async function api(name, body) {
  const r = await fetch("/api/" + name, {method: "POST", headers: {"Content-Type": "application/json"},
                                          body: JSON.stringify(body || {})});
  const data = await r.json();
  if (!r.ok) throw new Error(data.error || r.statusText);
  return data;
}

// One request at a time per endpoint; moves made meanwhile collapse into one more request with the latest state.
function updater(name, body, onData) {
  let busy = false, again = false, lastKey = null;
  const run = (force) => {
    const b = body();
    if (b === null) return;
    const key = JSON.stringify(b);
    if (!force && key === lastKey) return;
    if (busy) { again = true; return; }
    busy = true; again = false; lastKey = key;
    api(name, b).then((data) => { onData(data); clearError(name); })
      .catch((e) => showError(name, e.message))
      .finally(() => { busy = false; if (again) run(false); });
  };
  return run;
}

const errors = {};
function showError(source, message) { errors[source] = message; renderErrors(); }
function clearError(source) { delete errors[source]; renderErrors(); }
function renderErrors() {
  const msgs = [...new Set(Object.values(errors))]; // the view and the map often refuse the same value
  $("error").hidden = msgs.length === 0;
  $("error").textContent = msgs.join("\n");
}

// ---------------------------------------------------------------- number formatting and slider scales
function fmt(v, digits = 5) {
  if (v === null || v === undefined) return "–";
  if (typeof v !== "number") return String(v);
  if (v === 0) return "0";
  const a = Math.abs(v);
  return a < 1e-3 || a >= 1e5 ? v.toExponential(digits - 1) : String(Number(v.toPrecision(digits)));
}
function setNumber(id, v) { const el = $(id); el.textContent = fmt(v); el.dataset.value = v === null ? "" : String(v); }

function toPos(spec, v) {
  if (spec.scale === "log") return 1000 * Math.log(v / spec.min) / Math.log(spec.max / spec.min);
  if (spec.scale === "one-minus-log") return 1000 * (-Math.log10(Math.max(1 - v, 1e-3))) / 3;
  return 1000 * (v - spec.min) / (spec.max - spec.min);
}
function fromPos(spec, p) {
  const t = p / 1000;
  if (spec.scale === "log") return Number((spec.min * Math.pow(spec.max / spec.min, t)).toPrecision(3));
  if (spec.scale === "one-minus-log") return 1 - Number(Math.pow(10, -3 * t).toPrecision(2)) || 0;
  return Number((spec.min + t * (spec.max - spec.min)).toPrecision(3));
}

// A range input plus an editable text box. The text box takes any value; the server says if it is out of range.
function slider(id, spec, get, set) {
  const range = $(id), box = $(id + "-value");
  range.min = 0; range.max = 1000; range.step = 1;
  const show = () => { const v = get(); box.value = fmt(v, 4); box.dataset.value = String(v);
                       range.value = Math.max(0, Math.min(1000, toPos(spec, v))); };
  range.oninput = () => { set(fromPos(spec, Number(range.value))); show(); changed(); };
  box.onchange = () => { const v = Number(box.value); set(Number.isFinite(v) && box.value.trim() ? v : box.value);
                         show(); changed(); };
  show();
  return show;
}

// ---------------------------------------------------------------- state <-> URL
function defaultsOf(name) {
  const out = {};
  for (const [k, h] of Object.entries(REG.optimizers[name]?.hyperparameters ?? {})) out[k] = h.default;
  return out;
}
function initialState() {
  const r = REG.ravine;
  return {problem: "quadratic-2d", condition: 20, sel: 0, epochs: r.steps, batch_size: 10, seed: 1,
          schedule: "constant", map_y: "momentum", preset: null,
          runs: r.runs.map((x) => ({optimizer: x.optimizer, hyperparameters: {...defaultsOf(x.optimizer), ...x.hyperparameters}})),
          taylor: {function: "x2", lr: 0.4, start: 5}, ema: {gamma: 0.9, t: 20}};
}
function toURL() {
  const q = new URLSearchParams();
  q.set("problem", state.problem);
  if (state.problem === "quadratic") q.set("condition", state.condition);
  for (const r of state.runs)
    q.append("run", r.optimizer + ":" + Object.entries(r.hyperparameters).map(([k, v]) => k + "=" + v).join(","));
  q.set("sel", state.sel); q.set("epochs", state.epochs); q.set("seed", state.seed);
  if (isData()) q.set("batch", state.batch_size);
  q.set("schedule", state.schedule); q.set("map", state.map_y);
  if (state.preset) q.set("preset", state.preset);
  q.set("tf", state.taylor.function); q.set("tlr", state.taylor.lr); q.set("tx0", state.taylor.start);
  q.set("eg", state.ema.gamma); q.set("et", state.ema.t);
  history.replaceState(null, "", "?" + q.toString());
}
function fromURL() {
  const s = initialState();
  const q = new URLSearchParams(location.search);
  const num = (k, d) => (q.has(k) ? Number(q.get(k)) : d);
  if (q.has("problem")) s.problem = q.get("problem");
  s.condition = num("condition", s.condition);
  if (q.getAll("run").length) {
    s.runs = q.getAll("run").map((text) => {
      const [optimizer, rest] = text.split(":");
      const hyper = {};
      for (const pair of (rest || "").split(",").filter(Boolean)) { const [k, v] = pair.split("="); hyper[k] = Number(v); }
      return {optimizer, hyperparameters: hyper};
    });
  }
  s.sel = Math.min(num("sel", 0), s.runs.length - 1);
  s.epochs = num("epochs", s.problem === "linear-regression" ? REG.train_defaults.epochs : s.epochs);
  s.seed = num("seed", s.seed); s.batch_size = num("batch", s.batch_size);
  s.schedule = q.get("schedule") || s.schedule; s.map_y = q.get("map") || s.map_y; s.preset = q.get("preset");
  s.taylor = {function: q.get("tf") || "x2", lr: num("tlr", s.taylor.lr), start: num("tx0", s.taylor.start)};
  s.ema = {gamma: num("eg", s.ema.gamma), t: num("et", s.ema.t)};
  return s;
}
const isData = () => state.problem === "linear-regression";
const selected = () => state.runs[state.sel];

// ---------------------------------------------------------------- requests built from the state
function viewBody() {
  const b = {problem: state.problem, runs: state.runs, epochs: state.epochs, seed: state.seed,
             schedule: state.schedule === "constant" ? null : {name: state.schedule}};
  if (state.problem === "quadratic") b.condition = state.condition;
  if (isData()) b.batch_size = state.batch_size;
  return b;
}
function mapOptimizer() {
  const name = selected().optimizer;
  if (state.map_y === "momentum") return ["momentum", "nesterov"].includes(name) ? name : "momentum";
  return ["sgd", "momentum"].includes(name) ? name : "sgd";
}
function mapBody() {
  if (state.map_y === "batch_size" && !isData()) return null;
  const name = mapOptimizer();
  const spec = REG.optimizers[name].sliders.lr;
  const lrs = Array.from({length: 40}, (_, i) => spec.min * Math.pow(spec.max / spec.min, i / 39));
  const ys = state.map_y === "momentum" ? Array.from({length: 25}, (_, i) => 1 - Math.pow(10, -3 * i / 24))
                                        : BATCHES.filter((b) => b <= (REG.problems[state.problem]?.n_examples ?? 1000));
  const fixed = {...defaultsOf(name)};
  for (const [k, v] of Object.entries(selected().hyperparameters)) if (k in fixed) fixed[k] = v;
  delete fixed.lr; delete fixed[state.map_y];
  const b = {...viewBody(), optimizer: name, hyperparameters: fixed, x: {name: "lr", values: lrs},
             y: {name: state.map_y, values: ys}};
  delete b.runs;
  if (state.map_y === "batch_size") delete b.batch_size;
  return b;
}
function verdictBody() {
  if (!state.preset || !isData()) return null;
  const r = selected();
  return {experiment: state.preset, optimizer: r.optimizer, hyperparameters: r.hyperparameters, seed: state.seed,
          batch_size: state.batch_size, epochs: state.epochs,
          schedule: state.schedule === "constant" ? null : {name: state.schedule}};
}

// ---------------------------------------------------------------- controls
let sliderShows = [];
function buildControls() {
  const p = $("problem");
  p.innerHTML = Object.keys(REG.problems).map((n) => `<option value="${n}">${n}</option>`).join("");
  p.value = state.problem;
  p.onchange = () => {
    state.problem = p.value; state.preset = null;
    state.epochs = isData() ? REG.train_defaults.epochs : REG.ravine.steps;
    buildControls(); changed();
  };
  // an unknown name (from a hand-edited URL) stays in the state: the server's answer names what is allowed
  $("problem-description").textContent = REG.problems[state.problem]?.description ?? "";
  $("condition-row").hidden = state.problem !== "quadratic";
  slider("condition", {scale: "log", min: 1, max: 1000}, () => state.condition, (v) => { state.condition = v; });

  $("runs").innerHTML = "";
  state.runs.forEach((r, i) => {
    const li = document.createElement("li");
    li.id = "run-" + i;
    li.className = i === state.sel ? "selected" : "";
    li.title = r.optimizer + " " + JSON.stringify(r.hyperparameters);
    const label = r.optimizer + " " + Object.entries(r.hyperparameters)
      .filter(([k]) => ["lr", "momentum", "gamma", "rho", "beta1"].includes(k)).map(([k, v]) => `${k}=${fmt(v, 3)}`).join(" ");
    li.innerHTML = `<span class="swatch" style="background:${COLORS[i]}"></span><span class="name">${esc(label)}</span>` +
                   `<span class="final" id="final-loss-${i}"></span>` +
                   (state.runs.length > 1 ? `<button type="button" id="remove-run-${i}" title="remove">×</button>` : "");
    li.onclick = (ev) => {
      if (ev.target.tagName === "BUTTON") { state.runs.splice(i, 1); state.sel = Math.min(state.sel, state.runs.length - 1); }
      else state.sel = i;
      buildControls(); changed();
    };
    $("runs").appendChild(li);
  });
  $("add-run").disabled = state.runs.length >= REG.limits.lines;
  $("add-run").onclick = () => {
    state.runs.push(JSON.parse(JSON.stringify(selected()))); state.sel = state.runs.length - 1;
    buildControls(); changed();
  };

  const o = $("optimizer");
  o.innerHTML = Object.keys(REG.optimizers).map((n) => `<option value="${n}">${n}</option>`).join("");
  o.value = selected().optimizer;
  o.onchange = () => {
    const old = selected().hyperparameters, fresh = defaultsOf(o.value);
    if ("lr" in fresh && "lr" in old) fresh.lr = old.lr; // keep η when both take one
    state.runs[state.sel] = {optimizer: o.value, hyperparameters: fresh};
    buildControls(); changed();
  };
  const d = REG.optimizers[selected().optimizer] ?? {rule: "", hyperparameters: {}, sliders: {}};
  $("rule").textContent = d.rule;
  const box = $("sliders");
  box.innerHTML = "";
  sliderShows = [];
  for (const [k, h] of Object.entries(d.hyperparameters)) {
    const row = document.createElement("div");
    row.className = "slider-row";
    row.innerHTML = `<label for="${k}" title="${esc(h.meaning + ", " + h.range)}">${esc(h.symbol)} ${k}</label>` +
                    `<input type="range" id="${k}"><input type="text" id="${k}-value" class="value">`;
    box.appendChild(row);
    sliderShows.push(slider(k, d.sliders[k], () => selected().hyperparameters[k],
                            (v) => { selected().hyperparameters[k] = v; labelRuns(); }));
  }

  $("epochs-label").textContent = isData() ? "epochs" : "steps";
  const maxE = isData() ? 20 : 500;
  slider("epochs", {scale: "linear", min: 1, max: maxE}, () => state.epochs,
         (v) => { state.epochs = typeof v === "number" ? Math.round(v) : v; });
  $("batch-row").hidden = !isData();
  const bs = {scale: "linear", min: 0, max: BATCHES.length - 1};
  const bshow = slider("batch-size", bs, () => BATCHES.indexOf(state.batch_size) >= 0 ? BATCHES.indexOf(state.batch_size) : 3,
                       (v) => { state.batch_size = BATCHES[Math.round(v)] ?? v; });
  $("batch-size").oninput = () => { state.batch_size = BATCHES[Math.round(Number($("batch-size").value) / 1000 * (BATCHES.length - 1))];
                                    $("batch-size-value").value = state.batch_size; changed(); };
  $("batch-size-value").value = state.batch_size;
  $("batch-size-value").onchange = () => { state.batch_size = Number($("batch-size-value").value); changed(); };
  void bshow;
  slider("seed", {scale: "linear", min: 0, max: 20}, () => state.seed, (v) => { state.seed = typeof v === "number" ? Math.round(v) : v; });
  const s = $("schedule");
  s.innerHTML = SCHEDULES.map((n) => `<option value="${n}">${n}</option>`).join("");
  s.value = state.schedule;
  s.onchange = () => { state.schedule = s.value; changed(); };
  $("map-y").value = state.map_y;
  $("map-y").onchange = () => { state.map_y = $("map-y").value; changed(); };
}
function labelRuns() {
  state.runs.forEach((r, i) => {
    const el = document.querySelector(`#run-${i} .name`);
    if (el) el.textContent = r.optimizer + " " + Object.entries(r.hyperparameters)
      .filter(([k]) => ["lr", "momentum", "gamma", "rho", "beta1"].includes(k)).map(([k, v]) => `${k}=${fmt(v, 3)}`).join(" ");
  });
}
function buildPresets() {
  $("presets").innerHTML = REG.experiments.map((e) =>
    `<button type="button" id="preset-${esc(e.name)}" title="${esc(e.claim)}">${esc(e.name)}</button>`).join("");
  for (const e of REG.experiments) {
    $("preset-" + e.name).onclick = () => {
      state.problem = "linear-regression"; state.preset = e.name; state.sel = 0;
      state.runs = [{optimizer: e.optimizer, hyperparameters: {...defaultsOf(e.optimizer), ...e.hyperparameters}}];
      state.batch_size = e.batch_size; state.epochs = e.epochs; state.schedule = e.decay ? "lecture" : "constant";
      buildControls(); changed();
    };
  }
}
function buildTheory() {
  const f = $("taylor-function");
  f.value = state.taylor.function;
  f.onchange = () => { state.taylor.function = f.value; changed(); };
  slider("taylor-lr", REG.optimizers.sgd.sliders.lr, () => state.taylor.lr, (v) => { state.taylor.lr = v; });
  slider("taylor-start", {scale: "linear", min: -6, max: 6}, () => state.taylor.start, (v) => { state.taylor.start = v; });
  slider("ema-gamma", REG.optimizers.momentum.sliders.momentum, () => state.ema.gamma, (v) => { state.ema.gamma = v; });
  slider("ema-t", {scale: "linear", min: 1, max: 100}, () => state.ema.t, (v) => { state.ema.t = typeof v === "number" ? Math.round(v) : v; });
}

// ---------------------------------------------------------------- drawing
function renderView(v) {
  lastView = v;
  const sel = v.runs[state.sel] || v.runs[0];
  setNumber("final-loss", sel.final_loss);
  setNumber("optimal-loss", v.problem.optimal_loss);
  const unit = isData() ? "examples" : "steps";
  $("status").textContent = sel.diverged ? `diverged after ${sel.diverged_at} ${unit}` : "finite";
  const lr = sel.hyperparameters.lr;
  $("bound").textContent = sel.bound.text + (sel.bound.lr !== null && lr !== undefined
    ? (lr > sel.bound.lr ? " — η is above it" : " — η is below it") : "");
  $("curvature").textContent = `λ_max ${fmt(v.problem.curvature.lambda_max, 4)}, κ ${fmt(v.problem.curvature.condition_number, 4)}`;
  $("command").textContent = (sel.command.cli ? sel.command.cli + "\n\n" : "") + sel.command.python;
  $("command-note").textContent = sel.command.note;
  v.runs.forEach((r, i) => {  // each line's end, beside its name
    const el = $("final-loss-" + i);
    if (el) { el.textContent = r.diverged ? "diverged" : fmt(r.final_loss, 3); el.dataset.value = String(r.final_loss); }
  });
  const longest = Math.max(...v.runs.map((r) => r.path.length)) - 1;
  $("step").max = longest;
  if (frame !== null && frame > longest) frame = longest;
  drawValley(); drawLoss();
}

function drawValley() {
  const v = lastView;
  if (!v) return;
  const c = v.contours;
  const traces = [{type: "contour", x: c.x, y: c.y, z: c.z, ncontours: 24, showscale: false, hoverinfo: "skip",
                   colorscale: [[0, "#dfe7f5"], [1, "#ffffff"]], line: {color: "#8795b0", width: 0.7}}];
  v.runs.forEach((r, i) => {
    const upto = frame === null ? r.path.length : Math.min(frame + 1, r.path.length);
    const pts = r.path.slice(0, upto);
    traces.push({type: "scatter", mode: "lines+markers", name: r.label, x: pts.map((p) => p[0]), y: pts.map((p) => p[1]),
                 line: {color: COLORS[i], width: i === state.sel ? 2.5 : 1.5}, marker: {size: i === state.sel ? 5 : 3}});
  });
  const opt = v.problem.optimum;
  traces.push({type: "scatter", mode: "markers", name: "optimum", x: [opt[0]], y: [opt[1]], showlegend: false,
               marker: {symbol: "star", size: 12, color: "#111"}});
  const ax = (title, r) => ({title: {text: title, standoff: 4}, range: [r[0], r[r.length - 1]], zeroline: false});
  Plotly.react("valley-plot", traces, {margin: {l: 44, r: 8, t: 8, b: 36}, xaxis: ax(c.axes[0], c.x), yaxis: ax(c.axes[1], c.y),
    legend: {orientation: "h", y: -0.2, font: {size: 10}}, showlegend: true,
    ...(isData() ? {annotations: [{text: "b at its optimum", showarrow: false, xref: "paper", yref: "paper", x: 1, y: 1, xanchor: "right", font: {size: 10, color: "#5b6475"}}]} : {})}, PLOT_CONFIG);
  $("step-value").textContent = frame === null ? "all" : `${frame}`;
}

function drawLoss() {
  const v = lastView;
  const traces = v.runs.map((r, i) => {
    const upto = frame === null ? r.losses.length : Math.min(Math.ceil((frame + 1) * r.losses.length / r.path.length), r.losses.length);
    return {type: "scatter", mode: "lines", name: r.label, x: r.epochs_axis.slice(0, upto), y: r.losses.slice(0, upto),
            line: {color: COLORS[i], width: i === state.sel ? 2.5 : 1.5}};
  });
  const f = v.problem.optimal_loss;
  const shapes = f > 0 ? [{type: "line", xref: "paper", x0: 0, x1: 1, y0: f, y1: f, line: {dash: "dash", color: "#111", width: 1}}] : [];
  const note = f > 0 ? `f* = ${fmt(f, 4)}` : "f* = 0 (below every log axis)";
  Plotly.react("loss-plot", traces, {margin: {l: 52, r: 8, t: 8, b: 36}, showlegend: false, shapes,
    xaxis: {title: {text: isData() ? "epoch" : "step", standoff: 4}}, yaxis: {type: "log", title: {text: "loss", standoff: 4}, exponentformat: "power"},
    annotations: [{text: note, showarrow: false, xref: "paper", yref: "paper", x: 1, y: 1, xanchor: "right", font: {size: 11}}]}, PLOT_CONFIG);
}

// The map's y axis shows γ through −log10(1 − γ), so 0, 0.9, 0.99 and 0.999 are evenly spaced; batch sizes and η
// on log10. Only the placement is transformed; the values are the server's.
const GAMMA_TICKS = [0, 0.5, 0.9, 0.99, 0.999];
const yPlace = (name, v) => (name === "momentum" ? -Math.log10(1 - v) : Math.log10(v));
let lastMap = null;
function renderMap(m) {
  lastMap = m;
  const xs = m.x.values.map(Math.log10), ys = m.y.values.map((v) => yPlace(m.y.name, v));
  const z = m.gap.map((row) => row.map((g) => (g === null ? null : Math.max(-16, Math.min(2, Math.log10(Math.max(g, 1e-300)))))));
  const div = m.diverged.map((row) => row.map((d) => (d ? 1 : null)));
  const traces = [
    {type: "heatmap", x: xs, y: ys, z, zmin: -16, zmax: 2, colorscale: "Viridis", reversescale: true,
     colorbar: {title: {text: "log₁₀ gap", side: "right"}, thickness: 10, len: 0.9}, hovertemplate: "η %{customdata}<br>log₁₀ gap %{z:.2f}<extra></extra>",
     customdata: m.gap.map((row) => row.map((_, j) => fmt(m.x.values[j], 3)))},
    {type: "heatmap", x: xs, y: ys, z: div, showscale: false, colorscale: [[0, "#7f1d1d"], [1, "#7f1d1d"]], hoverinfo: "skip", name: "diverged"},
  ];
  if (m.boundary.x) traces.push({type: "scatter", mode: "lines", name: "theory", x: m.boundary.x.map(Math.log10),
                                 y: m.boundary.y.map((v) => yPlace(m.y.name, v)), line: {color: "#fff", width: 2, dash: "dash"}});
  const r = selected();
  const yv = m.y.name === "batch_size" ? state.batch_size : r.hyperparameters.momentum;
  if (r.hyperparameters.lr && yv !== undefined)
    traces.push({type: "scatter", mode: "markers", name: "current", x: [Math.log10(r.hyperparameters.lr)], y: [yPlace(m.y.name, yv)],
                 marker: {symbol: "x", size: 12, color: "#ff3b30", line: {width: 2}}});
  const decades = [];
  for (let e = Math.ceil(xs[0]); e <= xs[xs.length - 1]; e++) decades.push(e);
  const yt = m.y.name === "momentum" ? GAMMA_TICKS : m.y.values;
  Plotly.react("map-plot", traces, {margin: {l: 52, r: 8, t: 8, b: 40}, showlegend: false,
    xaxis: {title: {text: "η (learning rate)", standoff: 4}, tickvals: decades, ticktext: decades.map((e) => "1e" + e), range: [xs[0], xs[xs.length - 1]]},
    yaxis: {title: {text: m.y.name === "momentum" ? "γ (momentum)" : "batch size", standoff: 4},
            tickvals: yt.map((v) => yPlace(m.y.name, v)), ticktext: yt.map(String), range: [ys[0], ys[ys.length - 1]]}}, PLOT_CONFIG);
  $("map-note").textContent = `${m.optimizer}, ${m.x.values.length}×${m.y.values.length} runs in ${fmt(m.seconds * 1000, 3)} ms. ` +
    `Colour: log₁₀ of the gap left, (f_final − f*)/(f₀ − f*); dark red: diverged. Dashed: ${m.boundary.text}.`;
  const plot = $("map-plot");
  plot.removeAllListeners?.("plotly_click");
  plot.on("plotly_click", (ev) => {
    const pt = ev.points.find((p) => p.data.type === "heatmap");
    if (!pt) return;
    const [row, col] = pt.pointIndex;
    const sel = selected();
    if (sel.optimizer !== lastMap.optimizer) state.runs[state.sel] = sel = {optimizer: lastMap.optimizer, hyperparameters: defaultsOf(lastMap.optimizer)};
    sel.hyperparameters.lr = Number(lastMap.x.values[col].toPrecision(3));
    if (lastMap.y.name === "batch_size") state.batch_size = lastMap.y.values[row];
    else sel.hyperparameters[lastMap.y.name] = Number(lastMap.y.values[row].toPrecision(4));
    buildControls(); changed();
  });
}

function renderVerdict(v) {
  $("verdict").innerHTML = `<div><b>${esc(v.section)}</b>: ${esc(v.claim)}</div>` +
    `<div>At the current settings: <span id="verdict-mark" class="mark ${v.passed ? "pass" : "fail"}">${v.passed ? "holds" : "does not hold"}</span></div>` +
    `<div class="hint">${esc(v.measured)}</div><div class="hint">${esc(v.note)}</div>`;
}

function renderTaylor(t) {
  const reach = t.curve_x[t.curve_x.length - 1], top = Math.max(...t.curve_f);
  const traces = [{type: "scatter", mode: "lines", x: t.curve_x, y: t.curve_f, line: {color: "#9aa6bd"}, name: "f"},
                  {type: "scatter", mode: "lines+markers", x: t.x, y: t.f, line: {color: COLORS[1], width: 1.5}, marker: {size: 6}, name: "iterates"}];
  Plotly.react("taylor-plot", traces, {margin: {l: 44, r: 8, t: 8, b: 36}, showlegend: false,
    xaxis: {range: [-reach, reach], title: {text: "x", standoff: 4}}, yaxis: {range: [0, top * 1.05], title: {text: "f(x)", standoff: 4}}}, PLOT_CONFIG);
  const end = t.diverged ? "the run diverges" : `after ${t.x.length - 1} steps x = ${fmt(t.x[t.x.length - 1], 4)}`;
  let text = `f''(x₀) = ${fmt(t.curvature_at_start, 4)}: by Taylor a step helps while η < 2/f''(x₀) = ${fmt(t.taylor_max_lr, 4)}; η = ${fmt(t.lr, 4)}, ${end}.`;
  if (t.function === "x4") text += ` On x⁴ the curvature grows with |x|: with this η the run converges from |x₀| < 1/√(2η) = ${fmt(t.boundary, 4)} (measured over 599 starts: ${fmt(t.measured_boundary, 4)}); the start matters.`;
  $("taylor-bound").textContent = text;
}

function renderEma(e) {
  const i = e.weights.map((_, k) => k + 1);
  const traces = [{type: "bar", x: i, y: e.weights, marker: {color: COLORS[0]}, name: "weights", xaxis: "x", yaxis: "y"},
                  {type: "scatter", mode: "lines", x: e.ratio.map((_, k) => k + 1), y: e.ratio, line: {color: COLORS[2]}, xaxis: "x2", yaxis: "y2", name: "v/(ηg)"},
                  {type: "scatter", mode: "lines", x: [1, e.ratio.length], y: [e.factor, e.factor], line: {dash: "dash", color: "#111", width: 1}, xaxis: "x2", yaxis: "y2", name: "1/(1−γ)"}];
  Plotly.react("ema-plot", traces, {margin: {l: 44, r: 8, t: 8, b: 36}, showlegend: false,
    grid: {rows: 2, columns: 1, pattern: "independent", roworder: "top to bottom"},
    xaxis: {title: {text: "i (weight of the gradient of step i, at t)", standoff: 2}}, yaxis: {title: {text: "(1−γ)γ^(t−i)", standoff: 2}},
    xaxis2: {title: {text: "update", standoff: 2}}, yaxis2: {title: {text: "v/(ηg)", standoff: 2}}}, PLOT_CONFIG);
  $("ema-note").textContent = `The weights sum to ${fmt(e.weights_sum, 4)} = 1 − γ^t. Under a steady gradient v/(ηg) climbs to ` +
    `${fmt(e.factor_measured, 5)} (1/(1−γ) = ${fmt(e.factor, 5)}): momentum multiplies the step by 1/(1−γ).`;
}

// ---------------------------------------------------------------- wiring
const updateView = updater("view", viewBody, renderView);
const updateMap = updater("map", mapBody, renderMap);
const updateVerdict = updater("verdict", verdictBody, renderVerdict);
const updateTaylor = updater("taylor", () => ({function: state.taylor.function, lr: state.taylor.lr, start: state.taylor.start}), renderTaylor);
const updateEma = updater("ema", () => ({gamma: state.ema.gamma, t: state.ema.t}), renderEma);

function changed() {
  toURL();
  for (const p of document.querySelectorAll("#presets button")) p.classList.toggle("active", p.id === "preset-" + state.preset);
  if (!state.preset || !isData()) $("verdict").innerHTML = `<span class="hint">Pick an experiment: it loads the lecture's settings on its linear regression, shows its claim, and checks it again whenever you change a setting.</span>`;
  if (state.map_y === "batch_size" && !isData()) { clearError("map"); $("map-note").textContent = "η × batch size needs a problem with examples: choose linear-regression."; Plotly.purge("map-plot"); lastMap = null; }
  updateView(); updateMap(); updateVerdict(); updateTaylor(); updateEma();
  if (lastMap) renderMap(lastMap); // move the current-point marker at once
}

function animate() {
  if (timer) { clearInterval(timer); timer = null; $("play").textContent = "▶ animate"; return; }
  frame = 0;
  $("play").textContent = "❚❚ pause";
  timer = setInterval(() => {
    if (!lastView) return;
    if (frame >= Number($("step").max)) { clearInterval(timer); timer = null; frame = null; $("play").textContent = "▶ animate"; }
    else frame += 1;
    $("step").value = frame === null ? $("step").max : frame;
    drawValley(); drawLoss();
  }, 60);
}

async function main() {
  REG = await api("registry");
  state = fromURL();
  buildControls(); buildPresets(); buildTheory();
  $("play").onclick = animate;
  $("step-next").onclick = () => {
    frame = frame === null ? 0 : Math.min(frame + 1, Number($("step").max));
    $("step").value = frame;
    if (lastView) { drawValley(); drawLoss(); }
  };
  $("step").oninput = () => { frame = Number($("step").value); if (lastView) { drawValley(); drawLoss(); } };
  $("copy-command").onclick = async () => {
    const text = $("command").textContent;
    try { await navigator.clipboard.writeText(text); $("copy-command").textContent = "copied"; }
    catch { window.getSelection().selectAllChildren($("command")); $("copy-command").textContent = "selected: press Ctrl-C"; }
    setTimeout(() => { $("copy-command").textContent = "copy as command"; }, 1500);
  };
  changed();
}
main().catch((e) => showError("start", e.message));
