// The portal's only script: copy buttons, reveal toggles, confirmations, the setup page's live
// status and "Open in API Explorer". Pages work without it except where noted.
"use strict";

document.addEventListener("click", async (event) => {
  const copy = event.target.closest("[data-copy]");
  if (copy) {
    const input = document.getElementById(copy.dataset.copy);
    try {
      await navigator.clipboard.writeText(input.value);
    } catch {
      input.type = "text";
      input.select();
      document.execCommand("copy");
    }
    const label = copy.textContent;
    copy.textContent = "Copied";
    setTimeout(() => { copy.textContent = label; }, 1500);
    return;
  }
  const reveal = event.target.closest("[data-reveal]");
  if (reveal) {
    const input = document.getElementById(reveal.dataset.reveal);
    const hidden = input.type === "password";
    input.type = hidden ? "text" : "password";
    reveal.textContent = hidden ? "Hide" : "Show";
  }
});

document.addEventListener("submit", (event) => {
  const message = event.target.dataset.confirm;
  if (message && !window.confirm(message)) event.preventDefault();
});

// Local time for every <time>, keeping the UTC value in its title.
for (const t of document.querySelectorAll("time[datetime]")) {
  const d = new Date(t.getAttribute("datetime"));
  if (!Number.isNaN(d.getTime())) {
    t.title = t.getAttribute("datetime");
    t.textContent = d.toLocaleString();
  }
}

// The setup page: refresh the directory's status line every five seconds.
const live = document.getElementById("live-status");
if (live) {
  const line = document.getElementById("directory-status");
  setInterval(async () => {
    try {
      const response = await fetch(live.dataset.statusUrl, { cache: "no-store" });
      const body = await response.json();
      if (line && body.text) line.textContent = body.text;
    } catch {
      // A missed refresh is retried by the next tick.
    }
  }, 5000);
}

// "Open in API Explorer": fetch the consumer's access token with the session, store it where
// Swagger UI keeps its authorization (persistAuthorization), and open the HRIS document.
const access = document.getElementById("explorer-access");
if (access) {
  (async () => {
    const csrf = document.querySelector("meta[name=csrf-token]").content;
    const body = new URLSearchParams({ _csrf: csrf, consumer: access.dataset.consumer });
    const response = await fetch("/session/explorer-token", { method: "POST", body });
    if (!response.ok) {
      access.querySelector("[role=status]").textContent = "Could not authorize the Explorer: sign in again.";
      return;
    }
    const { accessToken } = await response.json();
    const scheme = { type: "http", scheme: "bearer", bearerFormat: "JWT" };
    localStorage.setItem("authorized", JSON.stringify({ bearer: { name: "bearer", schema: scheme, value: accessToken } }));
    window.location.assign(access.dataset.target);
  })();
}
