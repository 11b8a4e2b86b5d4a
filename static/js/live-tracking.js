// Live repair tracking: one WebSocket per ticket, resumable by sequence number.
// The page is fully rendered by the server; this only applies new events to it. When the socket
// drops, the page keeps its last rendered state, says so, and reconnects with backoff + jitter,
// asking for every event after the last one it applied (?since=<seq>).

const BASE_DELAY_MS = 500;
const MAX_DELAY_MS = 30000;
const PING_EVERY_MS = 25000;
// A server process restarting (1012) or going away (1001) closes all its sockets at once: their
// first reconnect is spread over this long, so the crowd does not land on the processes still up
// within the same second and delay every live event there (docs/realtime.md).
const RESTART_SPREAD_MS = 5000;
const RESTART_CODES = new Set([1001, 1012]);

export function backoffDelay(attempt, random = Math.random) {
  const ceiling = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** attempt);
  return Math.round(ceiling / 2 + random() * (ceiling / 2)); // "equal jitter"
}

export function reconnectDelay(attempt, closeCode, random = Math.random) {
  if (attempt === 0 && RESTART_CODES.has(closeCode)) return Math.round(random() * RESTART_SPREAD_MS);
  return backoffDelay(attempt, random);
}

function socketUrl(reference, params) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const query = new URLSearchParams(params).toString();
  return `${scheme}//${location.host}/ws/repairs/${encodeURIComponent(reference)}/?${query}`;
}

export class LiveTicket {
  constructor({ reference, lastSeq, token, onEvent, onSnapshot, onState }) {
    Object.assign(this, { reference, token, onEvent, onSnapshot, onState });
    this.lastSeq = lastSeq;
    this.attempt = 0;
    this.stopped = false;
  }

  start() {
    window.addEventListener("online", () => this.reconnectNow());
    window.addEventListener("offline", () => this.setState("offline"));
    if (navigator.onLine === false) {
      this.setState("offline"); // e.g. the page came from the service worker's cache
      return;
    }
    this.connect();
  }

  setState(state) {
    this.state = state;
    if (this.onState) this.onState(state);
  }

  connect() {
    clearTimeout(this.retryTimer);
    const params = { since: String(this.lastSeq) };
    if (this.token) params.token = this.token;
    this.setState(this.attempt ? "reconnecting" : "connecting");
    const socket = new WebSocket(socketUrl(this.reference, params));
    this.socket = socket;
    socket.addEventListener("message", (event) => this.receive(event.data));
    socket.addEventListener("close", (event) => {
      clearInterval(this.pinger);
      if (this.socket !== socket || this.stopped) return;
      if (event.code === 4403) {
        this.setState("refused");
        return;
      }
      this.scheduleReconnect(event.code);
    });
    socket.addEventListener("open", () => {
      this.pinger = setInterval(() => socket.send('{"type":"ping"}'), PING_EVERY_MS);
    });
  }

  scheduleReconnect(closeCode) {
    this.setState(navigator.onLine === false ? "offline" : "reconnecting");
    const delay = reconnectDelay(this.attempt, closeCode);
    this.attempt += 1;
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  reconnectNow() {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) return;
    this.attempt = 0;
    this.connect();
  }

  receive(raw) {
    let message;
    try {
      message = JSON.parse(raw);
    } catch {
      return;
    }
    if (message.type === "event") {
      if (message.seq <= this.lastSeq) return; // already applied
      this.lastSeq = message.seq;
      this.onEvent(message);
    } else if (message.type === "snapshot") {
      this.attempt = 0;
      this.lastSeq = Math.max(this.lastSeq, message.ticket.last_seq);
      this.setState("live");
      if (this.onSnapshot) this.onSnapshot(message);
    }
  }
}

// ---- the tracking page ----------------------------------------------------------------------

const STATE_TEXT = {
  connecting: "Connecting…",
  live: "Live",
  reconnecting: "Reconnecting…",
  offline: "Offline: showing the last known state",
  refused: "Live updates unavailable",
};

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function formatTime(iso, timeZone) {
  try {
    return new Intl.DateTimeFormat("en-GB", { dateStyle: "medium", timeStyle: "short", timeZone }).format(
      new Date(iso),
    );
  } catch {
    return iso;
  }
}

function showList(id) {
  const empty = document.querySelector(`[data-empty-for="${id}"]`);
  if (empty) empty.hidden = true;
  return document.getElementById(id);
}

function applyTicketState(root, ticket) {
  if (!ticket || !ticket.status) return;
  const status = document.getElementById("ticket-status");
  if (status) {
    status.textContent = ticket.status_label;
    status.dataset.status = ticket.status;
    status.className = `status status--${ticket.status}`;
  }
  const sentence = document.getElementById("ticket-status-sentence");
  if (sentence && typeof ticket.status_sentence === "string") sentence.textContent = ticket.status_sentence;
  root.dataset.status = ticket.status;
  const progress = document.getElementById("ticket-progress");
  if (progress && typeof ticket.progress_percent === "number") {
    progress.value = ticket.progress_percent;
    progress.textContent = `${ticket.progress_percent}%`;
    const text = document.getElementById("ticket-progress-text");
    if (text) text.textContent = `${ticket.progress_percent}%`;
  }
}

async function refreshSection(id) {
  // The quote block holds a form with a CSRF token: take it from a fresh render of this page.
  const response = await fetch(location.href, { credentials: "same-origin" });
  if (!response.ok) return;
  const fresh = new DOMParser().parseFromString(await response.text(), "text/html").getElementById(id);
  const current = document.getElementById(id);
  if (fresh && current) current.replaceWith(fresh);
}

function appendTimeline(message, timeZone) {
  const list = document.getElementById("timeline");
  if (!list || list.querySelector(`[data-seq="${message.seq}"]`)) return;
  const item = element("li", "timeline__item timeline__item--new");
  item.dataset.seq = message.seq;
  item.dataset.kind = message.kind;
  item.append(element("p", "timeline__title", message.display.title));
  if (message.display.detail) item.append(element("p", "timeline__detail", message.display.detail));
  const time = element("time", "timeline__time", formatTime(message.occurred_at, timeZone));
  time.dateTime = message.occurred_at;
  item.append(time);
  if (list.dataset.order === "oldest-first") list.append(item);
  else list.prepend(item); // newest first, as the server renders it
}

const KIND_HANDLERS = {
  "ticket.milestone_reached"(payload) {
    const item = element("li");
    item.dataset.percent = payload.percent;
    item.append(element("strong", "", payload.title), ` (${payload.percent}%)`);
    showList("milestones").append(item);
  },
  "ticket.photo_added"(payload, message) {
    const list = showList("photos");
    if (!list || list.querySelector(`[data-photo-id="${payload.photo_id}"]`)) return;
    const item = element("li");
    item.dataset.photoId = payload.photo_id;
    const figure = element("figure");
    const link = element("a");
    link.href = message.photo_url;
    const img = element("img");
    img.src = message.thumbnail_url;
    img.alt = `${payload.category_label} photo`;
    if (payload.width && payload.height) {
      img.width = payload.width;
      img.height = payload.height;
    }
    img.loading = "lazy";
    link.append(img);
    const caption = element("figcaption");
    caption.append(element("strong", "", payload.category_label), payload.caption ? `: ${payload.caption}` : "");
    figure.append(link, caption);
    item.append(figure);
    list.append(item);
  },
  "ticket.quality_checked"(payload) {
    const item = element("li", `check check--${payload.passed ? "passed" : "failed"}`);
    item.dataset.passed = String(payload.passed);
    item.append(element("span", "check__result", payload.passed ? "Passed" : "Failed"), " ");
    item.append(element("strong", "", payload.item));
    if (payload.notes) item.append(element("p", "check__notes", payload.notes));
    showList("quality-checks").append(item);
  },
  "ticket.note_added"(payload) {
    const item = element("li", `note note--${payload.priority}`);
    item.dataset.priority = payload.priority;
    // Only what matters to the customer: no "Normal priority" labels, "Important" for the rest.
    if (["high", "urgent"].includes(payload.priority)) item.append(element("span", `badge badge--${payload.priority}`, "Important"));
    item.append(element("p", "note__text", payload.text));
    showList("notes").append(item);
  },
  "ticket.quote_sent"() {
    refreshSection("quote");
  },
  "ticket.quote_decided"() {
    refreshSection("quote");
  },
};

function showOfflineBanner(root, offline) {
  let banner = document.getElementById("offline-banner");
  if (!offline) {
    if (banner) banner.hidden = true;
    return;
  }
  if (!banner) {
    banner = element("p", "offline-banner");
    banner.id = "offline-banner";
    banner.setAttribute("role", "status");
    root.prepend(banner);
  }
  const updated = root.dataset.updatedAt ? formatTime(root.dataset.updatedAt, root.dataset.timeZone || undefined) : "";
  const saved = root.dataset.savedAt ? formatTime(root.dataset.savedAt, root.dataset.timeZone || undefined) : "";
  banner.textContent = `${saved ? `Saved copy from ${saved}; you are offline` : "You are offline"}. This is the last known status of your repair${updated ? `, last updated ${updated}` : ""}.`;
  banner.hidden = false;
}

function indicator(root) {
  let badge = document.getElementById("live-indicator");
  if (!badge) {
    badge = element("p", "live-indicator");
    badge.id = "live-indicator";
    badge.setAttribute("role", "status");
    badge.setAttribute("aria-live", "polite");
    (root.querySelector(".status-block") || root).prepend(badge);
  }
  return badge;
}

export function startTrackingPage(root = document.getElementById("ticket")) {
  if (!root || !("WebSocket" in window)) return null;
  const match = location.pathname.match(/^\/track\/([^/]+)\//);
  const badge = indicator(root);
  const timeZone = root.dataset.timeZone || undefined;
  const live = new LiveTicket({
    reference: root.dataset.reference,
    lastSeq: Number(root.dataset.lastSeq || 0),
    token: match ? decodeURIComponent(match[1]) : null,
    onState(state) {
      // A copy the service worker served from its cache (it stamps data-saved-at) says so
      // until the live connection is back, even where the browser thinks it is online.
      if (state === "live") delete root.dataset.savedAt;
      const saved = root.dataset.savedAt && state !== "refused";
      badge.dataset.state = state;
      badge.textContent = saved
        ? `Saved copy from ${formatTime(root.dataset.savedAt, timeZone)}; you are offline`
        : STATE_TEXT[state] || state;
      root.dataset.connection = state;
      showOfflineBanner(root, state === "offline" || Boolean(saved));
    },
    onEvent(message) {
      root.dispatchEvent(new CustomEvent("ticket:update", { detail: message })); // e.g. ready-by.js
      root.dataset.updatedAt = message.occurred_at;
      applyTicketState(root, message.payload.ticket);
      appendTimeline(message, timeZone);
      const handler = KIND_HANDLERS[message.kind];
      if (handler) handler(message.payload, message);
      root.dataset.lastSeq = message.seq;
    },
    onSnapshot(message) {
      root.dispatchEvent(new CustomEvent("ticket:update", { detail: message }));
      applyTicketState(root, message.ticket);
    },
  });
  live.start();
  return live;
}

// ---- "My repairs": each open ticket's row follows its room (session auth) ---------------------

export function startAccountPage() {
  const rows = document.querySelectorAll("[data-live-ticket]");
  rows.forEach((row) => {
    const live = new LiveTicket({
      reference: row.dataset.reference,
      lastSeq: Number(row.dataset.lastSeq || 0),
      token: null,
      onState(state) {
        row.dataset.connection = state;
      },
      onEvent(message) {
        const ticket = message.payload.ticket || {};
        const status = row.querySelector("[data-field=status]");
        if (status && ticket.status_label) status.textContent = ticket.status_label;
        const progress = row.querySelector("progress");
        if (progress && typeof ticket.progress_percent === "number") progress.value = ticket.progress_percent;
        const updated = row.querySelector("[data-field=updated]");
        if (updated) updated.textContent = formatTime(message.occurred_at, row.dataset.timeZone || undefined);
      },
    });
    live.start();
  });
}

if (document.getElementById("ticket")) startTrackingPage();
if (document.querySelector("[data-live-ticket]")) startAccountPage();
