/* Peakline dashboard: live lines over server-sent events, gallery, forecast, backtest, plans.
   Plain browser JavaScript and the vendored uPlot; every text from the plant goes through
   textContent, never innerHTML. window.peakline exposes state for the browser tests. */
"use strict";

(function () {
  const DEFECT_COLORS = ["#ff4d5a", "#ffb020", "#c77dff", "#59b3ff", "#2fd27a", "#ff7eb6",
    "#f4d35e", "#4dd4c6", "#b0b8c4"];
  const NODE_COLORS = ["#59b3ff", "#2fd27a", "#ffb020", "#c77dff", "#ff7eb6", "#4dd4c6"];
    const state = {
    live: null, versions: {}, defectColors: {}, throughput: { ts: [], nodes: {} },
    charts: {}, forecast: null, planKind: "production", updates: 0, errors: [],
  };
  window.peakline = state;

  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") el.className = v;
      else if (k === "style") el.style.cssText = v;
      else el.setAttribute(k, v);
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined) continue;
      el.appendChild(typeof c === "string" || typeof c === "number" ? document.createTextNode(String(c)) : c);
    }
    return el;
  }
  const $ = (id) => document.getElementById(id);
  const fmtInt = (v) => (v === null || v === undefined ? "–" : Math.round(v).toLocaleString("en-US"));
  const fmtPct = (v) => (v === null || v === undefined ? "–" : (100 * v).toFixed(1) + "%");
  const fmtMs = (v) => (v === null || v === undefined ? "–" : v.toFixed(1) + " ms");
  function fmtCell(v) {
    if (v === null || v === undefined) return "";
    if (typeof v === "number") {
      const a = Math.abs(v);
      const digits = Number.isInteger(v) || a >= 100 ? 0 : a >= 10 ? 1 : a >= 1 ? 2 : 3;
      return v.toLocaleString("en-US", { maximumFractionDigits: digits });
    }
    if (typeof v === "string" && /^\d{4}-\d\d-\d\dT00:00:00(\.000)?(Z)?$/.test(v)) return v.slice(0, 10);
    return String(v);
  }
  function fmtWhen(v) {
    const d = typeof v === "number" ? new Date(v * 1000) : new Date(v);
    if (isNaN(d)) return String(v);
    const pad = (n) => String(n).padStart(2, "0");
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
  }
  function describe(obj) {
    if (!obj) return "";
    if (typeof obj !== "object") return String(obj);
    return Object.entries(obj).filter(([, v]) => v !== null && typeof v !== "object" && String(v).length < 60)
      .slice(0, 6).map(([k, v]) => `${k.replace(/_/g, " ")}: ${typeof v === "number" ? fmtCell(v) : v}`).join(" · ");
  }
  function defectColor(name) {
    if (!(name in state.defectColors)) {
      const n = Object.keys(state.defectColors).length;
      state.defectColors[name] = DEFECT_COLORS[n % DEFECT_COLORS.length];
    }
    return state.defectColors[name];
  }
  async function getJSON(url) {
    const r = await fetch(url, { credentials: "same-origin", cache: "no-store" });
    if (r.status === 401) { location.href = "/login"; throw new Error("login required"); }
    if (!r.ok) throw new Error(url + ": HTTP " + r.status);
    return r.json();
  }
  function showErrors(list) {
    const box = $("errors");
    box.replaceChildren(...list.map((e) => h("div", {}, e)));
  }
  function chartWidth(el) { return Math.max(300, el.clientWidth - 4); }

  /* ---------- header ---------- */
  function tickClock() {
    const now = new Date();
    $("clock").textContent = now.toLocaleTimeString("en-GB", { hour12: false });
  }
  function renderFestival(live) {
    const f = live.festival;
    if (!f) { $("festival").textContent = ""; return; }
    const asOf = new Date(live.as_of + "T00:00:00");
    const day = new Date(f.date + "T00:00:00");
    const days = Math.round((day - asOf) / 86400000);
    $("festival").textContent = `${f.name} ${f.date} · ${days > 0 ? days + " days to go" : days === 0 ? "today" : ""}`;
  }

  /* ---------- alerts + KPIs ---------- */
  function renderAlerts(alerts) {
    const box = $("alerts");
    if (!alerts.length) {
      box.replaceChildren(h("div", { class: "alert clear" }, h("b", {}, "All clear"), h("span", {}, "no alerts on lines, stock or packaging")));
      return;
    }
    box.replaceChildren(...alerts.slice(0, 12).map((a) =>
      h("div", { class: "alert " + a.severity, "data-kind": a.kind }, h("b", {}, a.title), h("span", {}, a.detail))));
  }
  function setKpi(id, text, cls) {
    const el = $(id);
    el.textContent = text;
    el.className = "value" + (cls ? " " + cls : "");
  }
  function renderKpis(t) {
    setKpi("kpi-ipm", fmtInt(t.items_per_min));
    setKpi("kpi-rr", fmtPct(t.reject_rate), t.reject_rate == null ? "" : t.reject_rate > 0.1 ? "bad" : t.reject_rate > 0.05 ? "warn" : "ok");
    setKpi("kpi-missed", fmtInt(t.missed_rejects), t.missed_rejects ? "bad" : "ok");
    setKpi("kpi-nodes", t.nodes_total ? `${t.nodes_online}/${t.nodes_total}` : "–", t.nodes_total && t.nodes_online < t.nodes_total ? "bad" : "ok");
    setKpi("kpi-backlog", fmtInt(t.outbox_backlog), t.outbox_backlog > 1000 ? "warn" : "");
    setKpi("kpi-lat", fmtMs(t.latency_p99_ms), t.latency_p99_ms > 50 ? "warn" : "");
  }

  /* ---------- lines ---------- */
  function renderNodes(live) {
    const alerting = new Set(live.alerts.filter((a) => a.kind !== "offline").map((a) => a.id.split(":")[1]));
    const cards = live.nodes.map((n) => {
      const where = `${n.line}/${n.node}`;
      const defects = Object.entries(n.rejects_by_defect || {}).sort((a, b) => b[1] - a[1]);
      const total = defects.reduce((s, d) => s + d[1], 0);
      const cls = "node" + (n.online ? "" : " offline") + (alerting.has(where) ? " alerting" : "");
      return h("div", { class: cls, "data-node": where },
        h("div", { class: "name" }, h("span", {}, where),
          h("span", { class: "pill " + (n.online ? "online" : "offline") }, n.online ? "ONLINE" : "OFFLINE")),
        h("div", { class: "big" }, h("span", { class: "ipm" }, fmtInt(n.items_per_min)), " ", h("small", {}, "items/min")),
        h("dl", {},
          h("dt", {}, "Reject rate"), h("dd", { class: "rr" }, fmtPct(n.reject_rate)),
          h("dt", {}, "Missed rejects"), h("dd", {}, fmtInt(n.missed_rejects)),
          h("dt", {}, "Uncertain"), h("dd", {}, fmtInt(n.uncertain)),
          h("dt", {}, "Outbox backlog"), h("dd", {}, fmtInt(n.outbox_backlog)),
          h("dt", {}, "Latency p99"), h("dd", {}, fmtMs(n.latency_p99_ms)),
          h("dt", { title: "false-reject rate the node estimates from its latest items' scores" }, "Est. false rejects"),
          h("dd", { class: "frr" + (n.drift_alert ? " warn" : "") }, fmtPct(n.estimated_frr)),
          h("dt", {}, "Items (window)"), h("dd", { class: "items" }, fmtInt(n.items))),
        h("div", { class: "defects", title: "rejects by defect type" },
          defects.map(([d, c]) => h("span", { style: `width:${(100 * c) / total}%;background:${defectColor(d)}` }))),
        h("div", { class: "legend" }, defects.length ? defects.map(([d, c]) =>
          h("span", {}, h("i", { style: "background:" + defectColor(d) }), `${d} ${c}`)) : h("span", {}, "no rejects in window")),
        n.last_command ? h("div", { class: "command", title: "last command to this node" }, n.last_command) : null);
    });
    $("nodes").replaceChildren(...(cards.length ? cards : [h("p", { class: "empty" }, "No camera node has reported yet.")]));
    $("window-hint").textContent = `last ${Math.round(live.window_s)} s`;
  }
  async function loadHistory() {
    state.historyAt = Date.now();
    const hist = await getJSON("/api/history");
    state.throughput = { ts: hist.ts, nodes: hist.nodes };
    drawThroughput();
  }
  function drawThroughput() {
    const el = $("throughput-chart");
    const tp = state.throughput;
    const names = Object.keys(tp.nodes);
    if (!names.length) return;
    const data = [tp.ts.slice(), ...names.map((n) => tp.nodes[n].slice())];
    const chart = state.charts.throughput;
    if (chart && chart.series.length === names.length + 1) { chart.setData(data); return; }
    if (chart) chart.destroy();
    el.replaceChildren();
    state.charts.throughput = new uPlot({
      width: chartWidth(el), height: 260,
      series: [{}, ...names.map((n, i) => ({ label: n, stroke: NODE_COLORS[i % NODE_COLORS.length], width: 2.5, spanGaps: false }))],
      axes: [axis(), axis({ size: 60 })],
      scales: { y: { range: (u, min, max) => [0, Math.max(10, max * 1.15)] } },
      legend: { show: true },
    }, data, el);
  }
  function axis(extra) {
    return Object.assign({ stroke: "#8fa1b5", grid: { stroke: "#263244", width: 1 }, ticks: { stroke: "#263244" },
      font: "13px DejaVu Sans, sans-serif" }, extra || {});
  }

  /* ---------- gallery ---------- */
  async function loadGallery() {
    const items = await getJSON("/api/rejects");
    const box = $("gallery");
    if (!items.length) { box.replaceChildren(h("p", { class: "empty" }, "No rejected items yet.")); return; }
    box.replaceChildren(...items.map((t) => {
      const when = t.ts ? new Date(t.ts * 1000).toLocaleTimeString("en-GB", { hour12: false }) : "";
      return h("figure", { class: "thumb " + (t.decision || ""), style: "margin:0" },
        h("img", { src: "data:image/jpeg;base64," + t.jpeg_b64, alt: `${t.defect || t.decision} item ${t.seq}` }),
        h("figcaption", { class: "cap" },
          h("div", { class: "defect", style: "color:" + (t.decision === "uncertain" ? "#ffb020" : t.defect ? defectColor(t.defect) : "#ff4d5a") },
            t.defect ? `${t.defect}${t.decision === "uncertain" ? " (uncertain)" : ""}` : t.decision || "reject"),
          h("div", { class: "meta" }, `score ${Number(t.score).toFixed(2)} · ${t.line}/${t.node}`),
          h("div", { class: "meta" }, `#${t.seq} · ${when}`)));
    }));
  }

  /* ---------- forecast ---------- */
  async function loadForecast() {
    const f = await getJSON("/api/forecast");
    state.forecast = f;
    const sel = $("forecast-series");
    if (!f) return;
    const keep = sel.value;
    sel.replaceChildren(...f.series.map((s) => h("option", { value: s.name }, s.name)));
    if (keep && f.series.some((s) => s.name === keep)) sel.value = keep;
    const measures = ["net", "orders"].filter((m) => f.quantiles.includes(m + "_p50"));
    const msel = $("forecast-measure");
    for (const opt of msel.options) opt.hidden = !measures.includes(opt.value);
    if (!measures.includes(msel.value) && measures.length) msel.value = measures[0];
    const m = f.meta || {};
    const bits = [m.forecast_id || m.id ? `forecast ${m.forecast_id || m.id}` : null, m.created_at ? `made ${fmtWhen(m.created_at)}` : null,
      m.model ? `model ${m.model}` : null, `${f.ds[0]} – ${f.ds[f.ds.length - 1]}`];
    $("forecast-meta").textContent = bits.filter(Boolean).join(" · ") + " · band P10–P90, line P50 · dashed: festivals";
    drawForecast();
  }
  function drawForecast() {
    const f = state.forecast;
    const el = $("forecast-chart");
    if (!f) return;
    const s = f.series.find((x) => x.name === $("forecast-series").value) || f.series[0];
    const m = $("forecast-measure").value || "net";
    const q = (p) => s[`${m}_${p}`] || s[`orders_${p}`] || [];
    const data = [f.ts, q("p10"), q("p50"), q("p90")];
    if (state.charts.forecast) state.charts.forecast.destroy();
    el.replaceChildren();
    const holidays = f.holidays.map((x) => ({ ts: Date.parse(x.date + "T00:00:00Z") / 1000, name: x.name, date: x.date }));
    state.charts.forecast = new uPlot({
      width: chartWidth(el), height: 320,
      series: [{}, { label: "P10", stroke: "rgba(89,179,255,.5)", width: 1, points: { show: false } },
        { label: "P50", stroke: "#59b3ff", width: 3, points: { show: false } }, { label: "P90", stroke: "rgba(89,179,255,.5)", width: 1, points: { show: false } }],
      bands: [{ series: [3, 1], fill: "rgba(89,179,255,.18)" }],
      axes: [axis(), axis({ size: 70 })],
      scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(1, max * 1.1)] } },
      hooks: { draw: [(u) => drawHolidays(u, holidays)] },
    }, data, el);
  }
  function drawHolidays(u, holidays) {
    const ctx = u.ctx;
    ctx.save();
    ctx.strokeStyle = "#ffd166";
    ctx.fillStyle = "#ffd166";
    ctx.lineWidth = 2 * devicePixelRatio;
    ctx.setLineDash([6 * devicePixelRatio, 5 * devicePixelRatio]);
    ctx.font = `bold ${13 * devicePixelRatio}px DejaVu Sans, sans-serif`;
    for (const hd of holidays) {
      const x = Math.round(u.valToPos(hd.ts, "x", true));
      if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) continue;
      ctx.beginPath();
      ctx.moveTo(x, u.bbox.top);
      ctx.lineTo(x, u.bbox.top + u.bbox.height);
      ctx.stroke();
      ctx.fillText(`${hd.name} ${hd.date.slice(5)}`, x + 5 * devicePixelRatio, u.bbox.top + 16 * devicePixelRatio);
    }
    ctx.restore();
  }

  /* ---------- backtest ---------- */
  async function loadBacktest() {
    const b = await getJSON("/api/backtest");
    const box = $("backtest");
    if (!b || !b.rows.length) return;
    const cols = b.columns.length ? b.columns : Object.keys(b.rows[0]);
    const numeric = cols.filter((c) => b.rows.every((r) => r[c] === null || typeof r[c] === "number"));
    const best = {};
    for (const c of numeric.filter((c) => /mase|rmse|mae|wape|smape/i.test(c))) {
      best[c] = Math.min(...b.rows.map((r) => (r[c] == null ? Infinity : Math.abs(r[c]))));
    }
    box.replaceChildren(
      h("table", {}, h("thead", {}, h("tr", {}, cols.map((c) => h("th", { class: numeric.includes(c) ? "" : "text" }, c.replace(/_/g, " "))))),
        h("tbody", {}, b.rows.map((r) => h("tr", {}, cols.map((c) => h("td", {
          class: (numeric.includes(c) ? "" : "text") + (c in best && r[c] != null && Math.abs(r[c]) === best[c] ? " best" : ""),
        }, fmtCell(r[c]))))))),
      h("p", { class: "hint" }, describe(Object.assign({}, b.meta, { created_at: b.meta && b.meta.created_at ? fmtWhen(b.meta.created_at) : null }))));
  }

  /* ---------- plans ---------- */
  async function loadPlan() {
    const kind = state.planKind;
    $("plan-csv").setAttribute("href", `/api/plans/${kind}.csv`);
    const p = await getJSON(`/api/plans/${kind}`);
    const box = $("plan-table");
    if (!p) {
      box.replaceChildren(h("p", { class: "empty" }, `No ${kind} plan yet.`));
      $("plan-meta").textContent = "";
      return;
    }
    const m = p.meta || {};
    $("plan-meta").textContent = [m.plan_id || m.id ? `plan ${m.plan_id || m.id}` : null,
      m.forecast_id ? `from forecast ${m.forecast_id}` : null, `as of ${p.as_of}`, `${p.row_count} rows`,
      describe(m.explanation)].filter(Boolean).join(" · ");
    const parts = [];
    const sec = p.table;
    const numeric = sec.columns.filter((c) => sec.rows.every((r) => r[c] === null || typeof r[c] === "number"));
    const rows = sec.rows.slice(0, 300);
    parts.push(h("table", { "data-kind": kind },
      h("thead", {}, h("tr", {}, sec.columns.map((c) => h("th", { class: numeric.includes(c) ? "" : "text" }, c.replace(/_/g, " "))))),
      h("tbody", {}, rows.map((r, i) => h("tr", {}, sec.columns.map((c) => {
        const mark = (sec.marks[i] || {})[c];
        const cls = [numeric.includes(c) ? "" : "text", mark === "ok" ? "ok-date" : mark || ""].join(" ").trim();
        return h("td", { class: cls || null, title: mark === "overdue" ? "order-by date has passed" : mark === "soon" ? "order within days" : null }, fmtCell(r[c]));
      }))))));
    if (sec.rows.length > rows.length) parts.push(h("p", { class: "hint" }, `${rows.length} of ${sec.rows.length} rows shown; the CSV has all.`));
    box.replaceChildren(...parts);
  }
  for (const tab of document.querySelectorAll(".tab")) {
    tab.addEventListener("click", () => {
      for (const t of document.querySelectorAll(".tab")) t.classList.toggle("active", t === tab);
      state.planKind = tab.dataset.kind;
      loadPlan().catch(report);
    });
  }
  $("forecast-series").addEventListener("change", drawForecast);
  $("forecast-measure").addEventListener("change", drawForecast);

  /* ---------- the twin: scenarios against the baseline, stock over time, Gantt ---------- */
  const pct = (v) => (v == null ? "–" : `${(100 * v).toFixed(1)}%`);
  const money = (v) => (v == null ? "–" : Math.round(v).toLocaleString("en"));
  const signed = (v, f) => (v == null ? "" : `${v > 0 ? "+" : ""}${f(v)}`);
  async function loadScenarios() {
    const v = await getJSON("/api/scenarios");
    state.scenarios = v;
    const box = $("scenario-table");
    if (!v || !v.rows.length) return;
    $("scenario-meta").textContent = `plan ${v.plan_id}` + (v.baseline ? "" : " · no baseline simulated yet");
    const chans = [...new Set(v.rows.flatMap((r) => Object.keys(r.fill_rate_by_channel || {})))].sort();
    const head = ["scenario", "runs", "fill rate", "vs baseline", ...chans, "expected cost", "vs baseline", "cost P10–P90", "boxes short"];
    box.replaceChildren(h("table", { "data-kind": "scenarios" },
      h("thead", {}, h("tr", {}, head.map((c, i) => h("th", { class: i === 0 ? "text" : "" }, c)))),
      h("tbody", {}, v.rows.map((r) => {
        const tr = h("tr", { class: r.id === state.simulationId ? "selected" : null, "data-id": r.id, title: "show its stock and Gantt" },
          h("td", { class: "text" }, r.scenario), h("td", {}, String(r.runs ?? "–")), h("td", {}, pct(r.fill_rate)),
          h("td", { class: (r.fill_rate_delta || 0) < 0 ? "bad" : "" }, r.scenario === "baseline" ? "" : signed(r.fill_rate_delta, pct)),
          ...chans.map((c) => h("td", {}, pct((r.fill_rate_by_channel || {})[c]))),
          h("td", {}, money(r.cost)),
          h("td", { class: (r.cost_delta || 0) > 0 ? "bad" : "" }, r.scenario === "baseline" ? "" : signed(r.cost_delta, money)),
          h("td", {}, `${money(r.cost_p10)} – ${money(r.cost_p90)}`), h("td", {}, money(r.boxes_short)));
        tr.addEventListener("click", () => loadSimulation(r.id).catch(report));
        return tr;
      }))));
    if (!state.simulationId) await loadSimulation(v.selected);
  }
  async function loadSimulation(id) {
    if (!id) return;
    const sim = await getJSON(`/api/simulations/${encodeURIComponent(id)}`);
    if (!sim) return;
    state.simulationId = id;
    state.simulation = sim;
    for (const tr of document.querySelectorAll("#scenario-table tbody tr")) tr.classList.toggle("selected", tr.dataset.id === id);
    $("stock-title").textContent = `Finished goods and safekeeping over time · ${sim.scenario} (P10–P90 across runs)`;
    drawStock(sim.stock || {});
    drawGantt(sim.gantt || {});
  }
  function drawStock(st) {
    const el = $("stock-chart");
    if (state.charts.stock) { state.charts.stock.destroy(); delete state.charts.stock; }
    if (!st.date || !st.date.length) { el.replaceChildren(h("p", { class: "empty" }, "No stock recorded.")); return; }
    el.replaceChildren();
    const xs = st.date.map((d) => Date.parse(d) / 1000);
    state.charts.stock = new uPlot({
      width: chartWidth(el), height: 220, axes: [axis(), axis({ size: 70 })],
      series: [{}, { label: "stock P10", stroke: "#3d6a9a" }, { label: "stock P50", stroke: "#59b3ff", width: 2 },
        { label: "stock P90", stroke: "#3d6a9a" }, { label: "safekeeping P50", stroke: "#ffb020", width: 2 }],
    }, [xs, st.stock_p10, st.stock_p50, st.stock_p90, st.safekeeping_p50], el);
  }
  function drawGantt(g) {
    const el = $("gantt");
    if (!g.line || !g.line.length) { el.replaceChildren(h("p", { class: "empty" }, "Nothing run.")); return; }
    const dates = [...new Set(g.date)].sort();
    const first = Date.parse(dates[0]);
    const days = Math.round((Date.parse(dates[dates.length - 1]) - first) / 86400000) + 1;
    const flavours = [...new Set(g.sku.filter(Boolean).map((s) => s.split("-")[0]))].sort();
    const color = (kind, sku) => (kind === "breakdown" ? "#ff4d5a" : kind === "changeover" ? "#6b7280" : NODE_COLORS[flavours.indexOf(sku.split("-")[0]) % NODE_COLORS.length]);
    const rows = [...new Set(g.line)].sort().map((line) => {
      const bars = [];
      for (let i = 0; i < g.line.length; i += 1) {
        if (g.line[i] !== line) continue;
        const day = Math.round((Date.parse(g.date[i]) - first) / 86400000);
        const left = (100 * (day + g.start_h[i] / 24)) / days;
        const width = Math.max(0.05, (100 * g.hours[i]) / 24 / days);
        bars.push(h("div", { class: `bar ${g.kind[i]}`, style: `left:${left}%;width:${width}%;background:${color(g.kind[i], g.sku[i] || "")}`,
          title: `${g.date[i]} ${g.kind[i]} ${g.sku[i] || ""} ${g.hours[i].toFixed(1)} h` }));
      }
      return h("div", { class: "gantt-row" }, h("span", { class: "gantt-line" }, line), h("div", { class: "gantt-track" }, bars));
    });
    el.replaceChildren(h("div", { class: "gantt-axis hint" }, `${dates[0]} … ${dates[dates.length - 1]} (${days} days)`), ...rows);
    $("gantt-legend").replaceChildren(...flavours.map((f, i) => h("span", { class: "gantt-key", style: `color:${NODE_COLORS[i % NODE_COLORS.length]}` }, ` ■ ${f}`)),
      h("span", { class: "gantt-key", style: "color:#6b7280" }, " ■ changeover"), h("span", { class: "gantt-key", style: "color:#ff4d5a" }, " ■ breakdown"));
  }

  /* ---------- live ---------- */
  function report(err) {
    const msg = String(err && err.message ? err.message : err);
    if (!state.errors.includes(msg)) state.errors.push(msg);
    showErrors([...state.errors.slice(-3), ...((state.live && state.live.errors) || [])]);
  }
  /* ---------- a job preparing the plant (peakline demo): its steps until the line is live ---------- */
  const STEP_MARK = { pending: "○", running: "◐", done: "●", failed: "✕" };
  function renderPreparing(p) {
    const box = $("preparing");
    const open = p && p.steps ? p.steps.filter((s) => s.state !== "done") : [];
    if (!p || (p.phase === "live" && !open.length)) { box.hidden = true; return; }
    box.hidden = false;
    box.className = `preparing ${p.phase}`;
    const now = Date.now() / 1000;
    const secs = (s) => (s.started ? Math.round((s.finished || now) - s.started) : null);
    const steps = p.phase === "live" ? open : p.steps;
    box.replaceChildren(
      h("h2", {}, p.phase === "live" ? "Still preparing" : p.phase === "failed" ? `${p.title}: failed` : p.title),
      h("ol", { class: "steps" }, steps.map((s) => h("li", { class: `step ${s.state}`, "data-step": s.key },
        h("span", { class: "mark" }, STEP_MARK[s.state] || "?"), " ", s.label,
        secs(s) != null ? h("span", { class: "hint" }, ` ${secs(s)} s`) : null,
        s.detail ? h("span", { class: "hint" }, ` · ${s.detail}`) : null))));
  }
  function onLive(live) {
    state.live = live;
    state.updates += 1;
    renderPreparing(live.preparing);
    $("site").textContent = live.site || "";
    renderFestival(live);
    renderAlerts(live.alerts);
    renderKpis(live.totals || {});
    renderNodes(live);
    if (!state.historyAt || Date.now() - state.historyAt > 10000) loadHistory().catch(report);
    showErrors(live.errors || []);
    const v = live.versions || {};
    const old = state.versions;
    if (v.gallery !== old.gallery) loadGallery().catch(report);
    if (v.forecast !== old.forecast) { loadForecast().catch(report); loadBacktest().catch(report); }
    if (JSON.stringify(v.plans) !== JSON.stringify(old.plans)) loadPlan().catch(report);
    state.versions = v;
  }
  function connect() {
    const es = new EventSource("/api/stream");
    es.addEventListener("live", (ev) => {
      $("conn").className = "conn live";
      $("conn").textContent = "live";
      onLive(JSON.parse(ev.data));
    });
    es.onerror = () => {
      $("conn").className = "conn stale";
      $("conn").textContent = "reconnecting";
    };
    state.source = es;
  }
  window.addEventListener("resize", () => {
    for (const [name, c] of Object.entries(state.charts)) {
      const el = $(`${name}-chart`);
      c.setSize({ width: chartWidth(el), height: c.height });
    }
  });
  /* wall-screen mode: ?rotate=20 cycles the plan tabs and the forecast series every 20 s */
  const rotate = Number(new URLSearchParams(location.search).get("rotate") || 0);
  if (rotate >= 5) {
    setInterval(() => {
      const tabs = [...document.querySelectorAll(".tab")];
      const at = tabs.findIndex((t) => t.classList.contains("active"));
      tabs[(at + 1) % tabs.length].click();
      const sel = $("forecast-series");
      if (sel.options.length > 1) {
        sel.selectedIndex = (sel.selectedIndex + 1) % Math.min(sel.options.length, 7);
        drawForecast();
      }
    }, rotate * 1000);
  }
  tickClock();
  setInterval(tickClock, 1000);
  loadScenarios().catch(report);
  setInterval(() => loadScenarios().catch(report), 30000);
  connect();
})();
