// The live alert queue: rows arrive over server-sent events and are kept sorted by severity, then time.
"use strict";
(function () {
  const table = document.getElementById("queue");
  const body = table.tBodies[0];
  const state = document.getElementById("live-state");
  const announce = document.getElementById("announce");
  const filters = {};
  document.querySelectorAll("[data-filter]").forEach((el) => { if (el.value) filters[el.dataset.filter] = el.value; });

  function matches(row) {
    if (filters.category && !row.categories.includes(filters.category)) return false;
    if (filters.region && row.region !== filters.region) return false;
    if (filters.status && row.status !== filters.status) return false;
    if (filters.lang && row.lang !== filters.lang) return false;
    return true;
  }

  function cell(tr, text) { const td = tr.insertCell(); td.textContent = text; return td; }

  function render(row) {
    const tr = document.createElement("tr");
    tr.className = "sev-" + row.severity;
    tr.dataset.id = row.id; tr.dataset.severity = row.severity_number; tr.dataset.time = row.time;
    const badge = document.createElement("span");
    badge.className = "badge sev-" + row.severity; badge.textContent = row.severity;
    tr.insertCell().appendChild(badge);
    cell(tr, row.score.toFixed(2));
    cell(tr, row.time.slice(0, 19).replace("T", " "));
    const link = document.createElement("a");
    link.href = "/alerts/" + encodeURIComponent(row.id); link.textContent = row.message;
    const td = tr.insertCell(); td.appendChild(link);
    if (row.cluster) { const tag = document.createElement("span"); tag.className = "tag"; tag.textContent = "cluster of " + row.posts; td.append(" ", tag); }
    cell(tr, row.categories.map((c) => c.replace(/_/g, " ")).join(", "));
    cell(tr, row.city + (row.region ? ", " + row.region : ""));
    const status = document.createElement("span");
    status.className = "status status-" + row.status; status.textContent = row.status;
    tr.insertCell().appendChild(status);
    return tr;
  }

  function before(a, b) {  // does row a sort before existing tr b?
    const sa = Number(a.severity_number), sb = Number(b.dataset.severity);
    return sa !== sb ? sa > sb : a.time > b.dataset.time;
  }

  function upsert(row) {
    const existing = body.querySelector(`tr[data-id="${CSS.escape(row.id)}"]`);
    if (existing) existing.remove();
    if (!matches(row)) return;
    const empty = body.querySelector("tr.empty"); if (empty) empty.remove();
    const tr = render(row);
    const next = Array.from(body.rows).find((r) => before(row, r));
    body.insertBefore(tr, next || null);
    if (!existing) {
      tr.classList.add("fresh");
      announce.textContent = `New ${row.severity} alert: ${row.message}`;
    }
  }

  function connect() {
    const source = new EventSource("/api/stream");
    source.onopen = () => { state.textContent = "live: new alerts appear by themselves"; };
    source.onerror = () => { state.textContent = "live updates interrupted, reconnecting…"; };
    source.addEventListener("alert", (event) => upsert(JSON.parse(event.data)));
  }
  connect();

  // keyboard: j / k move the selection, Enter opens; rows are also clickable
  let selected = -1;
  function select(i) {
    const rows = Array.from(body.rows).filter((r) => r.dataset.id);
    if (!rows.length) return;
    selected = Math.max(0, Math.min(rows.length - 1, i));
    rows.forEach((r, n) => r.classList.toggle("selected", n === selected));
    rows[selected].querySelector("a").focus();
  }
  document.addEventListener("keydown", (event) => {
    if (event.target.matches("input, select, textarea")) return;
    if (event.key === "j") select(selected + 1);
    if (event.key === "k") select(selected - 1);
  });
  body.addEventListener("click", (event) => {
    const tr = event.target.closest("tr[data-id]");
    if (tr && event.target.tagName !== "A") window.location = "/alerts/" + encodeURIComponent(tr.dataset.id);
  });
  document.querySelectorAll("[data-filter]").forEach((el) => el.addEventListener("change", () => el.form.submit()));
})();
