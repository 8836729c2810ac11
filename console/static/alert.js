// Alert detail: actions as JSON API calls carrying the session's CSRF token, and the audited reveal.
"use strict";
(function () {
  const main = document.getElementById("main");
  const csrf = main.dataset.csrf;
  const alertId = document.querySelector("[data-alert-id]").dataset.alertId;
  const result = document.getElementById("action-result");

  async function call(path, body) {
    const response = await fetch(`/api/alerts/${encodeURIComponent(alertId)}/${path}`, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(body || {}),
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(data.error || `the console answered ${response.status}`);
    return data;
  }

  document.querySelectorAll("[data-action]").forEach((button) => {
    button.addEventListener("click", async () => {
      const action = button.dataset.action;
      const note = document.getElementById("note").value.trim();
      const body = { note };
      if (action === "label" || action === "dismiss") body.label = document.getElementById("label").value;
      if (action === "dismiss" && !note) { result.textContent = "Say why in the note field first."; document.getElementById("note").focus(); return; }
      button.disabled = true;
      try {
        const data = await call(action, body);
        document.getElementById("status").textContent = data.alert.status;
        document.getElementById("status").className = "status status-" + data.alert.status;
        result.textContent = `Done: ${action}` + (data.verdict ? ` (label ${data.verdict.label} sent to the models)` : "") + ". Updating…";
        setTimeout(() => window.location.reload(), 900);
      } catch (error) {
        result.textContent = "Not done: " + error.message;
      } finally {
        button.disabled = false;
      }
    });
  });

  const reveal = document.getElementById("reveal");
  if (reveal) reveal.addEventListener("click", async () => {
    try {
      const data = await call("reveal", { why: document.getElementById("note").value.trim() });
      document.querySelectorAll(".pii[data-piece]").forEach((el) => {
        if (el.dataset.piece in data.pieces) { el.textContent = data.pieces[el.dataset.piece]; el.classList.add("revealed"); }
      });
      document.querySelectorAll(".pii[data-contact]").forEach((el) => {
        const contact = data.contacts[Number(el.dataset.contact)];
        if (contact) { el.textContent = contact.value; el.classList.add("revealed"); }
      });
      reveal.textContent = "contacts shown (recorded)"; reveal.disabled = true;
    } catch (error) {
      result.textContent = "Could not show contacts: " + error.message;
    }
  });
})();
