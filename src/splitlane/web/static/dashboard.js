// splitlane dashboard: polls /dashboard/api/*, draws tables, the per-session waterfall (SVG) and
// two uPlot charts. No build step; uPlot is vendored beside this file.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { selected: null, userPicked: false, charts: {} };
const LANE_COLOURS = { plan: "var(--plan)", act: "var(--act)", background: "var(--background)" };
const num = (v, d = 1) => (v === null || v === undefined || Number.isNaN(v) ? "–" : Number(v).toFixed(d));
const usd = (v) => (v === null || v === undefined ? "unknown" : "$" + Number(v).toFixed(v >= 1 ? 2 : 4));
const pct = (v) => (v === null || v === undefined ? "–" : (100 * v).toFixed(1) + "%");
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);

async function getJSON(url) {
  const response = await fetch(url, { cache: "no-store" });
  if (!response.ok) throw new Error(url + ": " + response.status);
  return response.json();
}

function cards(data) {
  const all = data.sessions;
  const outputs = all.reduce((a, s) => a + s.output_tokens, 0);
  const sorted = [...data.effective_tps].sort((a, b) => a - b);
  const mid = (sorted.length - 1) / 2;  // linear interpolation, as the report computes P50
  const p50 = sorted.length ? sorted[Math.floor(mid)] + (sorted[Math.ceil(mid)] - sorted[Math.floor(mid)]) * (mid % 1) : null;
  const items = [
    ["sessions", data.session_count],
    ["live now", all.filter((s) => s.live).length],
    ["turns in flight", data.inflight.length],
    ["output tokens", outputs.toLocaleString()],
    ["P50 effective tok/s", num(p50)],
    ["spend (USD)", usd(data.spend_usd) + (data.unpriced_turns ? ` + ${data.unpriced_turns} unpriced` : "")],
    ["records dropped", data.telemetry.dropped + data.telemetry.failed],
  ];
  $("cards").innerHTML = items
    .map(([k, v]) => `<div class="card"><div class="v">${esc(v)}</div><div class="k">${esc(k)}</div></div>`)
    .join("");
}

const ROWS = [
  ["sessions", "sessions", (v) => num(v, 0)],
  ["mean_wall_s", "mean wall (s)", (v) => num(v)],
  ["mean_output_tokens", "mean output tokens", (v) => num(v, 0)],
  ["p50_effective_tps", "P50 effective tok/s", (v) => num(v)],
  ["p90_effective_tps", "P90 effective tok/s", (v) => num(v)],
  ["p10_effective_tps", "P10 effective tok/s", (v) => num(v)],
  ["runs_per_30min", "runs per 30 min", (v) => num(v, 2)],
  ["mean_wait_s", "waiting (Σ TTFT, s)", (v) => num(v)],
  ["mean_decode_s", "decoding (s)", (v) => num(v)],
  ["mean_gap_s", "tools / gaps (s)", (v) => num(v)],
  ["cache_hit_ratio", "cache hit ratio", pct],
];
const COST_ROWS = [
  ["mean_session_cost_usd", "cost per session (USD)", usd],
  ["cost_per_1k_output_usd", "cost per 1K output tokens (USD)", usd],
  ["spend_share", "share of spend", pct],
  ["unpriced_turns", "turns of unknown price", (v) => num(v, 0)],
];

function sessionTable(groups) {
  const names = groups.map((g) => g.name);
  let html = "<thead><tr><th>per session</th>" + names.map((n) => `<th>${esc(n)}</th>`).join("");
  html += names.slice(1).map((n) => `<th>${esc(n)}/${esc(names[0])}</th>`).join("") + "</tr></thead><tbody>";
  const rows = [...ROWS.map((r) => [...r, "table"]), ...COST_ROWS.map((r) => [...r, "costs"])];
  for (const [key, label, fmt, part] of rows) {
    const values = groups.map((g) => g[part][key]);
    const ratios = values.slice(1).map((v) => (v === null || !values[0] ? "–" : (v / values[0]).toFixed(2) + "x"));
    html += `<tr><td>${label}</td>` + values.map((v) => `<td>${fmt(v)}</td>`).join("");
    html += ratios.map((r) => `<td class="ratio">${r}</td>`).join("") + "</tr>";
  }
  $("table").innerHTML = html + "</tbody>";
}

function sessionList(sessions) {
  $("live-count").textContent = sessions.filter((s) => s.live).length + " live";
  let html = "<thead><tr><th>session</th><th>client</th><th>lanes</th><th>turns</th><th>wall (s)</th>";
  html += "<th>output tok</th><th>effective tok/s</th><th>cache hit</th><th>cost</th></tr></thead><tbody>";
  for (const s of sessions) {
    const cls = s.id === state.selected ? "selected" : "";
    html += `<tr class="${cls}" data-id="${esc(s.id)}"><td>${s.live ? '<span class="live">● </span>' : ""}${esc(s.id.slice(0, 48))}</td>`;
    html += `<td>${esc(s.client)}</td><td>${esc(s.lanes.join(" "))}</td><td>${s.turns}</td><td>${num(s.wall_s)}</td>`;
    html += `<td>${s.output_tokens}</td><td>${num(s.effective_tps)}</td><td>${pct(s.cache_hit_ratio)}</td><td>${usd(s.cost_usd)}</td></tr>`;
  }
  $("sessions").innerHTML = html + "</tbody>";
  for (const row of $("sessions").querySelectorAll("tbody tr")) {
    row.addEventListener("click", () => { state.selected = row.dataset.id; state.userPicked = true; refresh(); });
  }
}

function chart(name, target, opts, data) {
  const width = $(target).clientWidth || 600;
  if (state.charts[name]) state.charts[name].destroy();
  state.charts[name] = new uPlot({ width, height: 220, ...opts }, data, $(target));
}

function distribution(values) {
  if (!values.length) { $("distribution").textContent = "no sessions yet"; return; }
  const max = Math.max(...values, 1);
  const bins = 12, size = max / bins;
  const xs = [...Array(bins).keys()].map((i) => (i + 0.5) * size);
  const counts = new Array(bins).fill(0);
  for (const v of values) counts[Math.min(bins - 1, Math.floor(v / size))] += 1;
  chart("distribution", "distribution", {
    scales: { x: { time: false, range: [0, max * 1.02] } },
    axes: [{ label: "effective tok/s" }, { label: "sessions" }],
    series: [{}, { label: "sessions", fill: "rgba(31,157,114,0.5)", stroke: "#1f9d72", points: { show: false }, paths: uPlot.paths.bars({ size: [0.9] }) }],
    legend: { show: false },
  }, [xs, counts]);
}

function spendByLane(spend) {
  const lanes = Object.keys(spend);
  const box = $("spend");
  if (!lanes.length) { box.textContent = "no turns yet"; return; }
  const max = Math.max(...Object.values(spend), 1e-12);
  const rowH = 24, left = 100, width = Math.max(400, box.clientWidth || 600), plot = width - left - 110;
  let svg = `<svg viewBox="0 0 ${width} ${rowH * lanes.length + 8}" height="${rowH * lanes.length + 8}" role="img" aria-label="spend by lane">`;
  lanes.forEach((lane, i) => {
    const y = 4 + i * rowH, w = Math.max(1, (plot * spend[lane]) / max);
    svg += `<g class="spend" data-lane="${esc(lane)}"><text x="4" y="${y + 15}">${esc(lane)}</text>`;
    svg += `<rect x="${left}" y="${y}" width="${w}" height="${rowH - 6}" fill="${LANE_COLOURS[lane] || "var(--act)"}"/>`;
    svg += `<text x="${left + w + 6}" y="${y + 15}">${usd(spend[lane])}</text></g>`;
  });
  box.innerHTML = svg + "</svg>";
}

function waterfall(detail) {
  const turns = detail.turns;
  const box = $("waterfall");
  if (!turns.length) { box.textContent = "no turns"; return; }
  const end = Math.max(...turns.map((t) => t.end_s), ...detail.inflight.map((t) => t.start_s), 0.001);
  const rowH = 18, left = 70, width = Math.max(600, box.clientWidth || 900), plot = width - left - 20;
  const x = (s) => left + (plot * s) / end;
  const height = rowH * (turns.length + detail.inflight.length) + 30;
  let svg = `<svg viewBox="0 0 ${width} ${height}" height="${height}" role="img" aria-label="turn waterfall">`;
  turns.forEach((t, i) => {
    const y = 4 + i * rowH;
    const lane = t.status === "error" ? "var(--error)" : LANE_COLOURS[t.lane] || "var(--act)";
    svg += `<g class="turn" data-index="${t.index}" data-lane="${esc(t.lane)}" data-status="${esc(t.status)}">`;
    svg += `<text x="4" y="${y + 12}">#${t.index + 1} ${esc(t.lane)}</text>`;
    if (t.gap_before_s) {
      svg += `<rect class="gap" x="${x(t.start_s - t.gap_before_s)}" y="${y + 3}" width="${Math.max(1, x(t.start_s) - x(t.start_s - t.gap_before_s))}" height="${rowH - 8}" fill="var(--gap)"><title>gap ${num(t.gap_before_s, 2)} s</title></rect>`;
    }
    const wait = t.ttft_s === null ? t.end_s - t.start_s : t.ttft_s;
    svg += `<rect class="wait" x="${x(t.start_s)}" y="${y}" width="${Math.max(1, x(t.start_s + wait) - x(t.start_s))}" height="${rowH - 2}" fill="var(--wait)"><title>TTFT ${num(wait, 3)} s</title></rect>`;
    if (t.decode_s > 0) {
      svg += `<rect class="decode" x="${x(t.start_s + wait)}" y="${y}" width="${Math.max(1, x(t.end_s) - x(t.start_s + wait))}" height="${rowH - 2}" fill="${lane}"><title>decode ${num(t.decode_s, 2)} s, ${t.output_tokens} tokens, ${num(t.decode_tps)} tok/s, ${usd(t.cost_usd)}</title></rect>`;
    }
    svg += "</g>";
  });
  detail.inflight.forEach((t, j) => {
    const y = 4 + (turns.length + j) * rowH;
    svg += `<g class="inflight"><text x="4" y="${y + 12}">live</text><rect x="${x(t.start_s)}" y="${y}" width="6" height="${rowH - 2}" fill="var(--wait)"/></g>`;
  });
  const axisY = height - 10;
  for (let k = 0; k <= 5; k++) {
    svg += `<text x="${x((end * k) / 5) - 8}" y="${axisY}">${num((end * k) / 5, 1)}s</text>`;
  }
  box.innerHTML = svg + "</svg>";
}

function cacheChart(turns) {
  const xs = turns.map((t) => t.index + 1);
  const ys = turns.map((t) => (t.cache_hit === null ? null : 100 * t.cache_hit));
  chart("cache", "cache", {
    scales: { x: { time: false }, y: { range: [0, 100] } },
    axes: [{ label: "turn" }, { label: "cached input %" }],
    series: [{}, { label: "cache hit %", stroke: "#7b5cd6", width: 2, points: { size: 6 } }],
  }, [xs, ys]);
}

async function refresh() {
  const params = new URLSearchParams({ hours: $("hours").value, by: $("by").value });
  try {
    const data = await getJSON("/dashboard/api/overview?" + params);
    if (!state.userPicked || !data.sessions.some((s) => s.id === state.selected)) {
      state.selected = data.sessions.length ? data.sessions[0].id : null;
    }
    cards(data);
    sessionTable(data.groups);
    sessionList(data.sessions);
    distribution(data.effective_tps);
    spendByLane(data.spend_by_lane);
    if (state.selected) {
      const detail = await getJSON("/dashboard/api/session?id=" + encodeURIComponent(state.selected));
      $("session-title").textContent = state.selected + ` — ${detail.turns.length} turns`;
      waterfall(detail);
      cacheChart(detail.turns);
    }
    $("status").textContent = "updated " + new Date().toLocaleTimeString();
    document.body.dataset.ready = "1";
  } catch (error) {
    $("status").textContent = "error: " + error.message;
  }
}

$("hours").addEventListener("change", refresh);
$("by").addEventListener("change", refresh);
refresh();
setInterval(refresh, 2000);
