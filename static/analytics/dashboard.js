// The live staff dashboard: fills the panels from the WebSocket (snapshot, then pushed updates),
// falls back to fetching the API every 30 s while the socket is down, and reconnects with backoff.
// No inline script: the configuration comes from the json_script block "dashboard-config".

const config = JSON.parse(document.getElementById("dashboard-config").textContent);
const FALLBACK_MS = (config.fallback_seconds || 30) * 1000;
const MAX_BACKOFF_MS = 30000;
const MAX_ACTIVITY = 30;
const PING_EVERY_MS = 20000;
const SILENCE_LIMIT_MS = 50000; // no frame for this long (pongs included): the socket is dead

let uPlot = null;
let trafficChart = null;
let funnelChart = null;
let socket = null;
let attempts = 0;
let fallbackTimer = null;
let reconnectTimer = null;
let lastData = null;
let pinger = null;
let lastFrameAt = 0;

const $ = (id) => document.getElementById(id);
const fmtInt = (n) => (n === null || n === undefined ? "–" : Number(n).toLocaleString("en-GB"));
const fmtPct = (r) => (r === null || r === undefined ? "–" : `${(r * 100).toFixed(1)}%`);
const fmtDuration = (s) => {
  if (s === null || s === undefined) return "–";
  const m = Math.floor(s / 60);
  return m ? `${m}m ${Math.round(s % 60)}s` : `${Math.round(s)}s`;
};

export function backoffDelay(attempt) {
  const base = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** attempt);
  return base / 2 + Math.random() * (base / 2);
}

function queryString() {
  return new URLSearchParams(config.query).toString();
}

function setIndicator(state, text) {
  const el = $("dash-live");
  el.className = `dash-live dash-live--${state}`;
  el.textContent = text;
  el.dataset.state = state;
}

function text(id, value) {
  const el = $(id);
  if (el) el.textContent = value;
}

function cell(row, value, className) {
  const td = document.createElement("td");
  td.textContent = value;
  if (className) td.className = className;
  row.appendChild(td);
  return td;
}

function fillTable(table, rows, build) {
  const body = table.querySelector("tbody");
  body.replaceChildren();
  if (!rows.length) {
    const tr = document.createElement("tr");
    const td = cell(tr, "No data for these filters.", "dash-table__empty");
    td.colSpan = table.querySelectorAll("thead th").length;
    body.appendChild(tr);
    return;
  }
  for (const row of rows) {
    const tr = document.createElement("tr");
    build(tr, row);
    body.appendChild(tr);
  }
}

function renderKpis(d) {
  text("k-visitors-now", fmtInt(d.live.visitors_now));
  text("k-live-source", d.live.source);
  text("k-visitors", fmtInt(d.traffic.visitors));
  text("k-pageviews", fmtInt(d.traffic.pageviews));
  text("k-sessions", fmtInt(d.traffic.sessions));
  text("k-bounce", fmtPct(d.traffic.bounce_rate));
  text("k-duration", fmtDuration(d.traffic.avg_session_seconds));
  text("k-bookings", fmtInt(d.conversions.bookings));
  text("k-approvals", fmtInt(d.conversions.quote_approvals));
  text("k-payments", fmtInt(d.conversions.payments));
  text("k-conversion", fmtPct(d.conversions.conversion_rate));
  text("k-revenue", d.revenue.length ? d.revenue.map((r) => r.display).join(" · ") : "0");
  text("k-open-tickets", `(${fmtInt(d.tickets.open_total)})`);
}

function chartWidth(el) {
  return Math.max(280, el.clientWidth || 600);
}

function renderTraffic(d) {
  const el = $("chart-traffic");
  const xs = d.series.map((p) => Date.parse(p.t) / 1000);
  const data = [xs, d.series.map((p) => p.sessions), d.series.map((p) => p.pageviews), d.series.map((p) => p.conversions)];
  if (trafficChart) {
    trafficChart.setData(data);
    return;
  }
  trafficChart = new uPlot(
    {
      width: chartWidth(el),
      height: 240,
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC"),
      series: [
        {},
        { label: "Sessions", stroke: "#0f5e5a", width: 2 },
        { label: "Page views", stroke: "#1a5fb4", width: 2 },
        { label: "Conversions", stroke: "#f6b73c", width: 2 },
      ],
      axes: [{}, { size: 50 }],
      legend: { live: false }, // series names only: no "--" value placeholders before hovering
    },
    data,
    el,
  );
}

function renderFunnel(d) {
  const el = $("chart-funnel");
  const xs = d.funnel.map((_, i) => i);
  const data = [xs, d.funnel.map((s) => s.count)];
  const labels = d.funnel.map((s) => s.label);
  if (funnelChart) {
    funnelChart.setData(data);
  } else {
    funnelChart = new uPlot(
      {
        width: chartWidth(el),
        height: 220,
        scales: { x: { time: false, range: [-0.5, labels.length - 0.5] } },
        series: [{}, { label: "People", fill: "rgba(15,94,90,0.55)", stroke: "#0f5e5a", paths: uPlot.paths.bars({ size: [0.7, 60] }), points: { show: false } }],
        // Bars are numbered (the table below names each step): words overlapped on a phone.
        axes: [{ splits: () => xs, values: (_, splits) => splits.map((i) => String(i + 1)) }, { size: 50 }],
        legend: { show: false },
      },
      data,
      el,
    );
  }
  fillTable($("t-funnel"), d.funnel, (tr, s) => {
    cell(tr, `${d.funnel.indexOf(s) + 1}. ${s.label}`);
    cell(tr, fmtInt(s.count));
    cell(tr, fmtPct(s.rate_from_start));
    cell(tr, s.rate_from_previous === null ? "" : fmtPct(s.rate_from_previous));
  });
  const outside = (d.funnel_outside || []).filter((o) => o.people);
  text(
    "funnel-outside",
    outside.length
      ? `Outside the funnel (no visit through the steps above): ${outside
          .map((o) => `${o.label.toLowerCase()} ${fmtInt(o.people)} (${fmtInt(o.without_tracked_visit)} with no tracked visit)`)
          .join(" · ")}.`
      : "",
  );
}

function renderTables(d) {
  fillTable($("t-pages"), d.top_pages, (tr, p) => {
    cell(tr, p.path || "(none)");
    cell(tr, fmtInt(p.pageviews));
  });
  for (const table of document.querySelectorAll("[data-breakdown]")) {
    fillTable(table, d.breakdowns[table.dataset.breakdown] || [], (tr, r) => {
      cell(tr, r.value || "(unknown)");
      cell(tr, fmtInt(r.sessions));
      cell(tr, fmtPct(r.bounce_rate));
      cell(tr, fmtInt(r.conversions));
    });
  }
  fillTable($("t-tickets"), d.tickets.by_status, (tr, s) => {
    cell(tr, s.label);
    cell(tr, fmtInt(s.count));
  });
  fillTable($("t-workload"), d.tickets.workload, (tr, w) => {
    cell(tr, w.name);
    cell(tr, fmtInt(w.open_tickets));
  });
  fillTable($("t-vitals"), d.vitals, (tr, v) => {
    cell(tr, v.path);
    cell(tr, fmtInt(v.samples));
    cell(tr, v.lcp_p75_ms === null ? "–" : `${Math.round(v.lcp_p75_ms)} ms`, `vital vital--${v.lcp_rating || "none"}`);
    cell(tr, v.inp_p75_ms === null ? "–" : `${Math.round(v.inp_p75_ms)} ms`, `vital vital--${v.inp_rating || "none"}`);
    cell(tr, v.cls_p75 === null ? "–" : Number(v.cls_p75).toFixed(3), `vital vital--${v.cls_rating || "none"}`);
  });
  const note = $("vitals-note");
  note.hidden = d.vitals_available;
  note.textContent = d.vitals_available ? "" : "Web vitals are not available yet (analytics.monitoring is not installed).";
}

function alertItem(a) {
  const li = document.createElement("li");
  li.className = `alert alert--${a.direction || "change"} alert--${a.status || "open"}`;
  li.dataset.alertId = a.id;
  const strong = document.createElement("strong");
  strong.textContent = a.metric_label || a.metric;
  li.appendChild(strong);
  li.appendChild(document.createTextNode(` ${a.message}`));
  const since = document.createElement("small");
  since.textContent = ` since ${new Date(a.started_at).toLocaleString("en-GB")}`;
  li.appendChild(since);
  return li;
}

function renderAlerts(alerts, available) {
  const list = $("alerts");
  list.replaceChildren(...alerts.map(alertItem));
  if (!alerts.length) {
    const li = document.createElement("li");
    li.className = "alerts__none";
    li.textContent = available ? "No open alerts." : "Alerts are not available yet.";
    list.appendChild(li);
  }
}

function upsertAlert(alert) {
  const list = $("alerts");
  list.querySelector(".alerts__none")?.remove();
  const existing = list.querySelector(`[data-alert-id="${CSS.escape(String(alert.id))}"]`);
  if (alert.status && alert.status !== "open") {
    existing?.remove(); // resolved: the episode is over
  } else if (existing) {
    existing.replaceWith(alertItem(alert));
  } else {
    list.prepend(alertItem(alert));
  }
  if (!list.children.length) renderAlerts([], true);
}

function activityItem(a) {
  const li = document.createElement("li");
  li.className = `activity__item activity__item--${a.kind}`;
  const time = document.createElement("time");
  time.dateTime = a.occurred_at;
  time.textContent = new Date(a.occurred_at).toLocaleTimeString("en-GB");
  li.appendChild(time);
  const label = document.createElement("strong");
  label.textContent = ` ${a.label}`;
  li.appendChild(label);
  const detail = [a.detail, a.path, a.device_type, a.country].filter(Boolean).join(" · ");
  if (detail) li.appendChild(document.createTextNode(` ${detail}`));
  return li;
}

function renderActivity(items) {
  $("activity-feed").replaceChildren(...items.map(activityItem));
}

function prependActivity(items) {
  const feed = $("activity-feed");
  for (const item of items) feed.prepend(activityItem(item));
  while (feed.children.length > MAX_ACTIVITY) feed.lastElementChild.remove();
}

function render(d) {
  lastData = d;
  renderKpis(d);
  renderTraffic(d);
  renderFunnel(d);
  renderTables(d);
  renderActivity(d.activity);
  renderAlerts(d.alerts, d.alerts_available);
  text("dash-updated", `Updated ${new Date(d.generated_at).toLocaleTimeString("en-GB")}`);
  document.body.dataset.dashboardRendered = String(Number(document.body.dataset.dashboardRendered || 0) + 1);
}

async function fetchOnce() {
  try {
    const response = await fetch(`${config.api}?${queryString()}`, { headers: { Accept: "application/json" }, credentials: "same-origin" });
    if (response.ok) render(await response.json());
  } catch (error) {
    console.warn("dashboard: fetch failed", error);
  }
}

function startFallback() {
  if (fallbackTimer) return;
  fallbackTimer = setInterval(fetchOnce, FALLBACK_MS);
}

function stopFallback() {
  clearInterval(fallbackTimer);
  fallbackTimer = null;
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  socket = new WebSocket(`${scheme}://${location.host}${config.socket}?${queryString()}`);
  const current = socket;
  socket.addEventListener("open", () => {
    attempts = 0;
    lastFrameAt = Date.now();
    setIndicator("live", "Live");
    stopFallback();
    clearInterval(pinger);
    pinger = setInterval(() => {
      if (Date.now() - lastFrameAt > SILENCE_LIMIT_MS) current.close();
      else if (current.readyState === WebSocket.OPEN) current.send('{"type":"ping"}');
    }, PING_EVERY_MS);
  });
  socket.addEventListener("message", (event) => {
    lastFrameAt = Date.now();
    const message = JSON.parse(event.data);
    if (message.type === "snapshot" || message.type === "update") render(message.data);
    else if (message.type === "activity") prependActivity(message.items);
    else if (message.type === "alert") upsertAlert(message.alert);
    else if (message.type === "error") console.warn("dashboard:", message.message);
  });
  socket.addEventListener("close", (event) => {
    clearInterval(pinger);
    if (socket === current) socket = null;
    if (event.code === 4403) {
      setIndicator("offline", "Offline: not allowed");
      return;
    }
    setIndicator("offline", "Offline – refreshing every 30 s");
    startFallback();
    clearTimeout(reconnectTimer);
    reconnectTimer = setTimeout(connect, backoffDelay(attempts++));
  });
}

// The browser knows the network went away before the socket does.
window.addEventListener("offline", () => socket?.close());
window.addEventListener("online", () => {
  if (!socket) {
    clearTimeout(reconnectTimer);
    attempts = 0;
    connect();
  }
});

function setUpFilters() {
  const range = $("f-range");
  const toggle = () => {
    for (const el of document.querySelectorAll(".dash-filters__custom")) el.hidden = range.value !== "custom";
  };
  range.addEventListener("change", toggle);
  toggle();
  $("dash-filters").addEventListener("submit", (event) => {
    // Drop empty fields (and from/to unless custom) so the URL stays short and shareable.
    event.preventDefault();
    const params = new URLSearchParams();
    for (const [key, value] of new FormData(event.target)) {
      if (!value) continue;
      if ((key === "from" || key === "to") && range.value !== "custom") continue;
      params.set(key, value);
    }
    location.search = params.toString();
  });
}

window.addEventListener("resize", () => {
  for (const [chart, id] of [[trafficChart, "chart-traffic"], [funnelChart, "chart-funnel"]]) {
    if (chart) chart.setSize({ width: chartWidth($(id)), height: chart.height });
  }
});

async function main() {
  setUpFilters();
  setIndicator("connecting", "Connecting…");
  ({ default: uPlot } = await import(config.uplot));
  await fetchOnce();
  if (!lastData) startFallback();
  connect();
}

main();
