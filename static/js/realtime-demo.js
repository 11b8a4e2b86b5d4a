// The realtime demo page: three sockets (customer view, internal view, staff stream) and
// buttons that fire updates through the server's services.
import { backoffDelay } from "./live-tracking.js";

function connect(view) {
  const log = view.querySelector("[data-role=log]");
  const state = view.querySelector("[data-role=state]");
  const statsBox = view.querySelector("[data-role=stats]");
  let attempt = 0;
  let lastSeq = null;

  const open = () => {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    let path = view.dataset.path;
    if (lastSeq !== null && path.startsWith("/ws/repairs/")) {
      path += (path.includes("?") ? "&" : "?") + `since=${lastSeq}`;
    }
    const socket = new WebSocket(`${scheme}//${location.host}${path}`);
    state.dataset.state = "connecting";
    state.textContent = "connecting";
    socket.addEventListener("open", () => {
      attempt = 0;
      state.dataset.state = "live";
      state.textContent = "live";
    });
    socket.addEventListener("message", (event) => {
      const message = JSON.parse(event.data);
      if (message.type === "stats" && statsBox) {
        statsBox.textContent = `sockets: ${message.connections}  by role: ${JSON.stringify(message.by_role)}\nmessages sent: ${message.messages_sent}`;
        return;
      }
      if (message.type === "event") lastSeq = message.seq;
      if (message.type === "snapshot" && message.ticket) lastSeq = message.ticket.last_seq;
      const item = document.createElement("li");
      item.textContent =
        message.type === "event"
          ? `#${message.seq} ${message.reference} ${message.display.title}${message.display.detail ? ` — ${message.display.detail}` : ""}`
          : `${message.type}${message.ticket ? `: ${message.ticket.status_label}, ${message.ticket.progress_percent}%` : ""}`;
      log.prepend(item);
    });
    socket.addEventListener("close", (event) => {
      state.dataset.state = event.code === 4403 ? "refused" : "reconnecting";
      state.textContent = event.code === 4403 ? "refused (4403)" : "reconnecting";
      if (event.code !== 4403) setTimeout(open, backoffDelay(attempt++));
    });
  };
  open();
}

document.querySelectorAll(".demo-view").forEach(connect);

const form = document.getElementById("demo-actions");
if (form) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = new FormData(form);
    body.set("kind", event.submitter.value);
    const response = await fetch(form.action, {
      method: "POST",
      body,
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    });
    const result = await response.json();
    document.getElementById("demo-result").textContent = result.message;
  });
}
