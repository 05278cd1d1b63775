// vescd dashboard: a read-only view of the board served by vescd's HTTP
// listener (docs/http.md).  The state comes from /api/board, /api/controllers
// and /api/jobs, then follows /api/events (Server-Sent Events named like the
// JSON socket's notifications).  No build step, no third-party code.
"use strict";

const HISTORY = 120;            // samples per sparkline
const RATE_HZ = 10;

const state = {
  board: null,
  controllers: new Map(),       // uuid -> snapshot (telemetry merged in)
  history: new Map(),           // uuid -> {field: [values]}
  samples: new Map(),           // uuid -> number of samples received
  jobs: new Map(),              // id -> job snapshot
  sets: new Map(),              // image set id -> name
  version: "",
  live: false,
  lostAt: null,                 // when the event stream broke (Date), null while live
  everLive: false,
  loadFailed: false,
};

const $ = (sel, root = document) => root.querySelector(sel);

function text(el, s) {
  if (el.textContent !== s) el.textContent = s;
}

function fmt(v, digits) {
  if (typeof v !== "number" || !isFinite(v)) return "–";
  return v.toFixed(digits);
}

// ------------------------------------------------------------------ gauges

const SVG = "http://www.w3.org/2000/svg";

function arcPath(frac) {
  // a half circle from the left (0) to the right (1), radius 40, centre 50,50
  const a = Math.PI * (1 - Math.max(0, Math.min(1, frac)));
  const x = 50 + 40 * Math.cos(a), y = 50 - 40 * Math.sin(a);
  return "M 10 50 A 40 40 0 0 1 " + x.toFixed(2) + " " + y.toFixed(2);
}

function buildGauge(fig) {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 100 58");
  const track = document.createElementNS(SVG, "path");
  track.setAttribute("d", arcPath(1));
  track.setAttribute("class", "track");
  const fill = document.createElementNS(SVG, "path");
  fill.setAttribute("class", "fill");
  const zero = document.createElementNS(SVG, "line");
  zero.setAttribute("class", "zero");
  svg.append(track, fill, zero);
  const value = document.createElement("div");
  value.className = "gauge-value";
  value.textContent = "–";
  const cap = document.createElement("figcaption");
  cap.textContent = fig.dataset.label;
  fig.append(svg, value, cap);
  const min = Number(fig.dataset.min), max = Number(fig.dataset.max);
  const z = (0 - min) / (max - min);
  const a = Math.PI * (1 - z);
  zero.setAttribute("x1", (50 + 32 * Math.cos(a)).toFixed(2));
  zero.setAttribute("y1", (50 - 32 * Math.sin(a)).toFixed(2));
  zero.setAttribute("x2", (50 + 46 * Math.cos(a)).toFixed(2));
  zero.setAttribute("y2", (50 - 46 * Math.sin(a)).toFixed(2));
}

function setGauge(fig, v) {
  const min = Number(fig.dataset.min), max = Number(fig.dataset.max);
  const scale = Number(fig.dataset.scale || 1);
  const fill = $(".fill", fig);
  if (typeof v !== "number") {
    fill.setAttribute("d", "M 10 50");
    text($(".gauge-value", fig), "–");
    return;
  }
  const z = (0 - min) / (max - min);
  const f = Math.max(0, Math.min(1, (v - min) / (max - min)));
  // the arc runs from zero to the value (either direction)
  const from = Math.min(z, f), to = Math.max(z, f);
  const a0 = Math.PI * (1 - from), a1 = Math.PI * (1 - to);
  const p = (a) => (50 + 40 * Math.cos(a)).toFixed(2) + " " + (50 - 40 * Math.sin(a)).toFixed(2);
  fill.setAttribute("d", "M " + p(a0) + " A 40 40 0 0 1 " + p(a1));
  fill.classList.toggle("neg", v < 0);
  const shown = v * scale;
  const digits = Math.abs(shown) >= 100 ? 0 : 1;
  text($(".gauge-value", fig), fmt(shown, digits) + " " + fig.dataset.unit);
}

// --------------------------------------------------------------- sparklines

// span: the smallest range drawn full height, so that a drift of a tenth of
// a volt or a degree stays a small step instead of filling the sparkline
function drawSpark(canvas, values, span) {
  const ctx = canvas.getContext("2d");
  const w = canvas.width, h = canvas.height;
  ctx.clearRect(0, 0, w, h);
  const vs = values.filter((v) => typeof v === "number");
  if (vs.length < 2) return;
  let lo = Math.min(...vs), hi = Math.max(...vs);
  const min = Math.max(span || 0, 1e-6);
  if (hi - lo < min) { const mid = (hi + lo) / 2; lo = mid - min / 2; hi = mid + min / 2; }
  ctx.beginPath();
  values.forEach((v, i) => {
    const x = (i / (values.length - 1)) * w;
    const y = h - 3 - ((v - lo) / (hi - lo)) * (h - 6);
    if (i === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
  });
  ctx.strokeStyle = getComputedStyle(canvas).color;
  ctx.lineWidth = 1.5;
  ctx.stroke();
}

// -------------------------------------------------------------------- sides

// 14:03:07.250: local time of day, 24 h, with milliseconds
function clockTime(t) {
  const two = (x) => String(x).padStart(2, "0");
  return two(t.getHours()) + ":" + two(t.getMinutes()) + ":" + two(t.getSeconds()) + "." +
    String(t.getMilliseconds()).padStart(3, "0");
}

function sideElement(uuid) {
  let el = document.getElementById("side-" + uuid);
  if (el) return el;
  el = $("#side-template").content.firstElementChild.cloneNode(true);
  el.id = "side-" + uuid;
  el.dataset.uuid = uuid;
  el.querySelectorAll(".gauge").forEach(buildGauge);
  $("#sides").append(el);
  return el;
}

function sideName(c, index) {
  const letter = String.fromCharCode(65 + index);
  const kind = c.hw_type === 1 ? "BMS" : c.hw_type === 2 ? "Module" : "Side";
  return kind + " " + letter;
}

function renderSides() {
  const list = [...state.controllers.values()].sort((a, b) => (a.id ?? 0) - (b.id ?? 0));
  $("#empty").hidden = list.length > 0;
  const keep = new Set(list.map((c) => "side-" + c.uuid));
  document.querySelectorAll(".side").forEach((el) => { if (!keep.has(el.id)) el.remove(); });
  list.forEach((c, i) => {
    const el = sideElement(c.uuid);
    if (el.parentElement.lastElementChild !== el) el.parentElement.append(el); // keep the order
    text($(".side-name", el), sideName(c, i));
    el.title = c.uuid;
    const online = $(".online", el);
    // a controller a running job holds is silent, so vescd has it offline
    const updating = !c.online && runningJobPhase(c.uuid) !== null;
    text(online, c.online ? "online" : updating ? "updating" : "offline");
    online.classList.toggle("off", !c.online && !updating);
    online.classList.toggle("updating", updating);
    el.classList.toggle("is-offline", !c.online && !updating);
    text($(".fw", el), (c.firmware_version || "?") + (c.firmware_test_build ? " (test " + c.firmware_test_build + ")" : ""));
    text($(".hw", el), c.hw_name || "?");
    text($(".canid", el), String(c.id));
    const fault = c.fault && c.fault !== "NONE" ? c.fault : "none";
    text($(".fault", el), fault);
    $(".fault", el).classList.toggle("bad", fault !== "none");
    el.querySelectorAll(".gauge").forEach((g) => setGauge(g, c[g.dataset.field]));
    const hist = state.history.get(c.uuid) || {};
    el.querySelectorAll(".reading").forEach((r) => {
      const v = c[r.dataset.field];
      text($(".value", r), fmt(v, Number(r.dataset.digits)) + (typeof v === "number" ? " " + r.dataset.unit : ""));
      drawSpark($(".spark", r), hist[r.dataset.field] || [], Number(r.dataset.span));
    });
    const n = state.samples.get(c.uuid) || 0;
    el.dataset.samples = String(n);
    if (c.wall_time_usec) {
      const t = new Date(c.wall_time_usec / 1000);
      text($(".updated", el), "last reading " + clockTime(t) + " · " + n + (n === 1 ? " reading" : " readings"));
    }
  });
}

// --------------------------------------------------------- board and jobs

function renderBoard() {
  const b = state.board;
  const s = b ? b.board_state : "unknown";
  const pill = $("#board-state");
  text(pill, s);
  pill.className = "pill state-" + s;
  const banner = $("#banner");
  // consistent, and the current image set is newer than what the board runs
  const update = b && !b.mismatch && s === "consistent" && (b.actions || []).length > 0;
  const show = b && (b.mismatch || s === "degraded" || update);
  banner.hidden = !show;
  if (!show) return;
  banner.className = "banner " + (b.mismatch ? "mismatch" : update ? "update" : "degraded");
  text($("#banner-title"), b.mismatch ? "The board's motor controllers differ"
    : update ? "A firmware update is available" : "The board is degraded");
  text($("#banner-reason"), b.mismatch ? (b.mismatch_reason || "") : "");
  const reasons = $("#banner-reasons");
  let rs = (b.mismatch ? b.mismatch_reasons : b.board_state_reasons) || [];
  if (b.mismatch && rs.length === 1 && rs[0] === b.mismatch_reason) rs = [];  // said once
  // mismatched and degraded (a side offline): why it is degraded too, which
  // the steps below do not mention
  if (b.mismatch && s === "degraded")
    rs = rs.concat((b.board_state_reasons || []).filter((r) => !(b.mismatch_reasons || []).includes(r)));
  reasons.replaceChildren(...rs.map((r) => Object.assign(document.createElement("li"), { textContent: r })));
  const actions = b.actions || [];
  $("#banner-actions-box").hidden = actions.length === 0;
  $("#banner-actions").replaceChildren(...actions.map((a) => {
    const li = document.createElement("li");
    const m = /^(\d+)\.\s*(.*)$/.exec(a);        // planner steps come numbered
    li.textContent = m ? m[2] : a;
    return li;
  }));
}

function runningJobs() {
  return [...state.jobs.values()].filter((j) => !["done", "failed", "cancelled"].includes(j.state));
}

// the phase of a running job on this controller, or null
function runningJobPhase(uuid) {
  for (const j of runningJobs())
    if (j.phases && uuid in j.phases) return j.phases[uuid] || "";
  return null;
}

function renderJob() {
  const running = runningJobs();
  const box = $("#job");
  const j = running.length ? running[running.length - 1] : null;
  box.hidden = !j;
  if (!j) return;
  const set = state.sets.get(j.image_set);
  text($("#job-title"), "Job " + j.id + ": " + j.kind + " to " + (set ? set + " (" + j.image_set + ")" : j.image_set || "?"));
  text($("#job-state"), j.state + (j.phase ? " · " + j.phase : ""));
  text($("#job-eta"), j.eta_seconds >= 0 ? "about " + j.eta_seconds + " s left" : "");
  $("#job-bar").style.width = Math.max(0, Math.min(100, j.progress || 0)) + "%";
  const phases = Object.entries(j.phases || {}).map(([uuid, p]) => {
    const c = state.controllers.get(uuid);
    const span = document.createElement("span");
    span.textContent = (c ? "id " + c.id : uuid.slice(0, 8)) + ": " + (p || "waiting");
    return span;
  });
  $("#job-phases").replaceChildren(...phases);
  $("#job-warning").hidden = !j.do_not_power_off;
}

// at most one redraw per 50 ms, whatever the event rate (a timer, not
// requestAnimationFrame: a hidden or headless page still shows the latest)
let pending = false;
function render() {
  if (pending) return;
  pending = true;
  setTimeout(() => {
    pending = false;
    renderBoard();
    renderJob();
    renderSides();
    const link = $("#link");
    text(link, state.live ? "live" : "reconnecting…");
    link.className = "pill " + (state.live ? "link-up" : "link-down");
    // without the stream the page would go on showing the last values as if live
    const stale = $("#stale");
    if (!state.live && state.lostAt) {
      text(stale, "Lost the connection to vescd at " + clockTime(state.lostAt).slice(0, 8) +
        ": the values below are the last it sent. Reconnecting…");
    } else if (!state.live && state.loadFailed) {
      text(stale, "vescd does not answer (is it running? systemctl status vescd). Retrying…");
    }
    stale.hidden = state.live || (!state.lostAt && !state.loadFailed);
    document.body.classList.toggle("stale", !state.live && !!state.lostAt);
    text($("#version"), "vescd " + state.version);
  }, 50);
}

// ------------------------------------------------------------------- data

function setController(c) {
  const old = state.controllers.get(c.uuid) || {};
  state.controllers.set(c.uuid, Object.assign(old, c));
}

function addSample(t) {
  const c = state.controllers.get(t.uuid);
  if (!c) return;
  Object.assign(c, t.values, { id: t.id, wall_time_usec: t.wall_time_usec });
  let h = state.history.get(t.uuid);
  if (!h) state.history.set(t.uuid, (h = {}));
  for (const [k, v] of Object.entries(t.values)) {
    const a = h[k] || (h[k] = []);
    a.push(v);
    if (a.length > HISTORY) a.shift();
  }
  state.samples.set(t.uuid, (state.samples.get(t.uuid) || 0) + 1);
}

async function getJSON(path) {
  const r = await fetch(path, { cache: "no-store" });
  if (!r.ok) throw new Error(path + ": " + r.status);
  return r.json();
}

// image set names for the job line (503 without firmware management)
async function loadSets() {
  const r = await getJSON("api/image-sets").catch(() => ({ sets: [] }));
  (r.sets || []).forEach((x) => state.sets.set(x.id, x.name));
  render();
}

async function load() {
  try {
    const [board, ctls] = await Promise.all([getJSON("api/board"), getJSON("api/controllers")]);
    state.board = board;
    ctls.controllers.forEach(setController);
    const jobs = await getJSON("api/jobs").catch(() => ({ jobs: [] }));
    jobs.jobs.forEach((j) => state.jobs.set(j.id, j));
    loadSets();
  } catch (e) {
    console.warn("vescd:", e);
    state.loadFailed = true;
  }
  render();
  follow();
}

function follow() {
  const es = new EventSource("api/events?rate_hz=" + RATE_HZ);
  const on = (name, fn) => es.addEventListener(name, (ev) => { fn(JSON.parse(ev.data)); render(); });
  es.onopen = () => { state.live = true; state.everLive = true; state.lostAt = null; state.loadFailed = false; render(); };
  es.onerror = () => {                                     // EventSource reconnects by itself
    if (state.live) state.lostAt = new Date();
    state.live = false;
    if (!state.everLive) state.loadFailed = true;
    render();
  };
  on("hello", (h) => { state.version = h.version; });
  on("board.changed", (b) => { state.board = b; });
  on("controller.added", setController);
  on("controller.changed", setController);
  on("controller.removed", (c) => { state.controllers.delete(c.uuid); state.history.delete(c.uuid); });
  on("telemetry", addSample);
  on("job.changed", (j) => {
    if (j.image_set && !state.sets.has(j.image_set)) { state.sets.set(j.image_set, ""); loadSets(); }
    state.jobs.set(j.id, j);
  });
}

// a script error is shown, not swallowed
window.addEventListener("error", (e) => {
  const p = $("#error");
  p.hidden = false;
  p.textContent = "Dashboard error: " + e.message;
});

load();
