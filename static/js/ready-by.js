// The ready-by panel of the tracking page: live-tracking.js announces every event and snapshot as a
// "ticket:update" DOM event on #ticket; each carries the current estimate, already worded by the server
// (events: payload.ticket.ready_by; snapshots: ready_by). A closed or ready repair hides the panel.

export function applyReadyBy(panel, readyBy) {
  if (!panel) return;
  if (!readyBy) {
    panel.hidden = true;
    return;
  }
  for (const field of ["headline", "detail", "note", "basis"]) {
    const node = panel.querySelector(`[data-field="${field}"]`);
    if (!node) continue;
    node.textContent = readyBy[field] || "";
    if (field === "note" || field === "basis") node.hidden = !readyBy[field];
  }
  panel.className = `panel panel--hint ready-by ready-by--${readyBy.state}`;
  panel.hidden = false;
}

export function readyByOf(message) {
  if (message.type === "snapshot") return message.ready_by;
  const ticket = (message.payload && message.payload.ticket) || {};
  return "ready_by" in ticket ? ticket.ready_by : undefined; // undefined: this event says nothing
}

const root = document.getElementById("ticket");
if (root) {
  root.addEventListener("ticket:update", (event) => {
    const readyBy = readyByOf(event.detail);
    if (readyBy !== undefined) applyReadyBy(document.getElementById("ready-by"), readyBy);
  });
}
