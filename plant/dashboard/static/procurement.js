/* Peakline suppliers, materials and orders pages: each supplier's feed, answers and gaps; price
   bands, alerts and buy-ahead calls; web shop orders' cancellation risk, hold offers and the
   safekeeping stock. Plain browser JavaScript; every text from the plant goes through
   textContent, never innerHTML. window.peakline exposes state for the browser tests. */
"use strict";

(function () {
  const page = document.body.dataset.page;
  const state = { page, data: null, updates: 0, errors: [], item: null, chart: null };
  window.peakline = state;

  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") el.className = v;
      else el.setAttribute(k, v);
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined) continue;
      el.appendChild(typeof c === "string" || typeof c === "number" ? document.createTextNode(String(c)) : c);
    }
    return el;
  }
  const $ = (id) => document.getElementById(id);
  function fmt(v) {
    if (v === null || v === undefined) return "";
    if (typeof v === "number") {
      const a = Math.abs(v);
      const digits = Number.isInteger(v) || a >= 100 ? 0 : a >= 10 ? 1 : a >= 1 ? 2 : 3;
      return v.toLocaleString("en-US", { maximumFractionDigits: digits });
    }
    return String(v);
  }
  function table(rows, columns, classOf) {
    if (!rows || !rows.length) return h("p", { class: "empty" }, "Nothing yet.");
    return h("table", { class: "plan" },
      h("thead", {}, h("tr", {}, columns.map((c) => h("th", {}, c.replace(/_/g, " "))))),
      h("tbody", {}, rows.map((r) => h("tr", {}, columns.map((c) =>
        h("td", { class: classOf ? classOf(r, c) : null }, fmt(r[c])))))));
  }
  function fill(id, child) {
    const el = $(id);
    el.replaceChildren(child);
  }
  function showError(text) {
    state.errors.push(text);
    $("errors").replaceChildren(h("div", {}, text));
  }

  function renderSuppliers(d) {
    fill("shortfalls", d.shortfalls.length
      ? table(d.shortfalls, ["what", "date", "qty", "value_at_risk", "detail"])
      : h("p", { class: "empty" }, "No shortfalls: the answers cover the plan."));
    const list = d.suppliers.map((s) => {
      const feed = s.feed;
      const gaps = s.gaps.filter((g) => g.answer !== "covered");
      const head = h("h3", {}, `${s.name} (${s.supplier})`,
        feed ? h("span", { class: "hint" }, ` feed ${feed.version} of plan ${feed.plan_id}`) : null,
        feed ? h("a", { class: "button", href: `/api/suppliers/${encodeURIComponent(s.supplier)}/feed.csv`, download: "" }, "Feed CSV") : null);
      if (!feed) return h("section", { class: "panel supplier" }, head, h("p", { class: "empty" }, "No feed sent yet."));
      const answerClass = (r, c) => (c === "answer" ? (r.answer === "short" ? "short" : r.answer === "covered" ? "covered" : "pending") : null);
      return h("section", { class: "panel supplier", "data-supplier": s.supplier }, head,
        h("div", { class: "hint" }, `${feed.items.length} items · ${feed.orders.length} orders · ${feed.changes.length} changes since the last feed · ${gaps.length} open`),
        h("h4", {}, "Orders and answers"),
        table(s.gaps, ["item", "week", "need_date", "order_by", "status", "po_id", "asked", "confirmed", "gap", "answer"], answerClass),
        h("h4", {}, "Requirements per week (P10 / P50 / P90, planned)"),
        table(feed.weeks, ["item", "week", "p10", "p50", "p90", "planned"]),
        feed.changes.length ? h("h4", {}, "Changes since the last feed") : null,
        feed.changes.length ? table(feed.changes, ["what", "item", "week", "before", "after", "note"]) : null);
    });
    fill("supplier-list", list.length ? h("div", { class: "stack" }, list) : h("p", { class: "empty" }, "No suppliers in the master data yet."));
    $("page-meta").textContent = `${d.suppliers.length} suppliers`;
  }

  function renderChart(d) {
    const item = state.item;
    const hist = d.history[item] || [];
    const model = d.models[item];
    const el = $("price-chart");
    if (state.chart) { state.chart.destroy(); state.chart = null; }
    el.replaceChildren();
    if (!hist.length || !window.uPlot) return;
    const xs = hist.map((p) => Date.parse(p[0]) / 1000);
    const ys = hist.map((p) => p[1]);
    const lo = ys.map(() => null), mid = ys.map(() => null), hi = ys.map(() => null);
    if (model) {
      const last = xs[xs.length - 1];
      for (const [k, q] of Object.entries(model.forecast)) {
        xs.push(last + parseInt(k.slice(1), 10) * 7 * 86400);
        ys.push(null); lo.push(q[0]); mid.push(q[1]); hi.push(q[2]);
      }
    }
    state.chart = new uPlot({
      width: Math.max(320, el.clientWidth || 800), height: 260,
      series: [{}, { label: "price", stroke: "#59b3ff", width: 2 },
        { label: "P10", stroke: "#8fa1b5", dash: [4, 4] }, { label: "P50", stroke: "#ffd166", width: 2 },
        { label: "P90", stroke: "#8fa1b5", dash: [4, 4] }],
      axes: [{ stroke: "#8fa1b5" }, { stroke: "#8fa1b5" }],
    }, [xs, ys, lo, mid, hi], el);
  }

  function renderMaterials(d) {
    fill("alerts-table", d.alerts.length
      ? table(d.alerts, ["item", "date", "price", "low", "high", "direction"], () => "short")
      : h("p", { class: "empty" }, "No price left its band."));
    const cost = d.season_material_cost;
    if (cost) {
      const rows = Object.entries(cost).map(([k, v]) => ({ policy: k === "calls" ? "following the calls" : "buying at each order-by date", ...v }));
      fill("season-cost", table(rows, ["policy", "p10", "p50", "mean", "p90"]));
      $("cost-hint").textContent = `expected saving ${fmt(d.expected_saving)} (${fmt(d.expected_saving_pct)}%)`;
    }
    fill("calls", table(d.calls, ["item", "order_by", "qty", "unit", "price_now", "expected_price",
      "price_p10", "price_p90", "holding_cost", "expected_saving", "saving_p10", "saving_p90",
      "p_dearer", "call", "reason"], (r, c) => (c === "call" && r.call === "buy now" ? "covered" : null)));
    const items = Object.keys(d.models);
    const select = $("price-item");
    if (select.options.length !== items.length) {
      select.replaceChildren(...items.map((i) => h("option", { value: i }, i)));
    }
    if (!state.item || !items.includes(state.item)) {
      const ahead = d.calls.find((c) => c.call === "buy now" && items.includes(c.item));
      state.item = (d.alerts[0] && d.alerts[0].item) || (ahead && ahead.item) || items[0] || null;
    }
    select.value = state.item || "";
    const rows = items.map((i) => ({ item: i, ...d.models[i], band: d.models[i].band.map(fmt).join(" .. ") }));
    fill("models", table(rows, ["item", "method", "last_date", "last_price", "band", "volatility_annual"]));
    renderChart(d);
    $("page-meta").textContent = d.plan_id ? `plan ${d.plan_id}` : "no plan yet";
  }

  function bar(share) {
    const pct = Math.max(0, Math.min(100, Math.round(share * 100)));
    return h("div", { class: "bar", style: `width:${pct}%;background:#59b3ff;height:0.8em;min-width:1px` });
  }

  function renderOrders(d) {
    if (!d.plan_id) { $("page-meta").textContent = "no hold plan yet"; return; }
    const s = d.summary;
    const most = Math.max(1, ...d.risk.map((r) => r.orders));
    const riskRows = d.risk.map((r) => ({ ...r, share: r.orders / most }));
    const riskTable = h("table", { class: "plan", id: "risk-table" },
      h("thead", {}, h("tr", {}, ["risk", "orders", "offered", ""].map((c) => h("th", {}, c)))),
      h("tbody", {}, riskRows.map((r) => h("tr", {}, h("td", {}, r.risk), h("td", {}, fmt(r.orders)),
        h("td", {}, fmt(r.offered)), h("td", { style: "width:50%" }, bar(r.share))))));
    fill("risk", riskTable);
    $("risk-hint").textContent = `${fmt(s.open_orders)} open orders, ${fmt(s.offered)} offered a hold (${fmt(s.offered_boxes)} boxes)`;
    fill("stock", table(d.stock, ["day", "held_boxes", "offered_boxes", "expected_boxes", "capacity"],
      (r, c) => (c === "held_boxes" && r.held_boxes > r.capacity ? "short" : null)));
    fill("offers", table(d.offers, ["order_id", "region", "delivery", "boxes", "p_cancel", "margin_at_risk", "value"]));
    const last = d.last_season;
    if (last) {
      const rows = [
        { what: "cancelled boxes, 14 days before", without_holds: last.cancelled_boxes_14d, with_holds: last.cancelled_boxes_14d_with_holds, change_pct: -last.cancelled_boxes_cut_pct },
        { what: "leftover boxes after the festival", without_holds: last.leftover_boxes, with_holds: last.leftover_boxes_with_holds, change_pct: -last.leftover_cut_pct },
        { what: "margin saved / safekeeping cost", without_holds: last.margin_saved, with_holds: last.safekeeping_cost, change_pct: null },
      ];
      fill("last-season", table(rows, ["what", "without_holds", "with_holds", "change_pct"]));
    }
    $("page-meta").textContent = `as of ${s.as_of} · ${d.festival_name} ${s.festival} · capacity ${fmt(s.capacity_boxes)} boxes`;
  }

  async function refresh() {
    try {
      const r = await fetch(`/api/${page}`, { cache: "no-store" });
      if (!r.ok) throw new Error(`${page}: HTTP ${r.status}`);
      state.data = await r.json();
      if (page === "suppliers") renderSuppliers(state.data);
      else if (page === "orders") renderOrders(state.data);
      else renderMaterials(state.data);
      state.updates += 1;
    } catch (err) {
      showError(String(err));
    }
  }
  if (page === "materials") {
    $("price-item").addEventListener("change", (e) => { state.item = e.target.value; if (state.data) renderChart(state.data); });
  }
  refresh();
  setInterval(refresh, 30000);
})();
