// The album page: upload several scans with a progress bar each, then keep the states fresh.
"use strict";

function uploadOne(url, file, row, labels, split) {
  return new Promise((resolve) => {
    const xhr = new XMLHttpRequest();
    const bar = row.querySelector("progress");
    const status = row.querySelector(".upload-status");
    xhr.open("POST", url);
    xhr.setRequestHeader("X-CSRF-Token", window.restore.csrf());
    xhr.upload.addEventListener("progress", (e) => {
      if (e.lengthComputable) bar.value = Math.round((100 * e.loaded) / e.total);
    });
    xhr.addEventListener("load", () => {
      let body = {};
      try { body = JSON.parse(xhr.responseText); } catch (e) { body = { detail: xhr.statusText }; }
      bar.value = 100;
      if (xhr.status === 201 && body.status === "split") {
        row.dataset.result = "split";
        status.textContent = `${labels.split}: ${body.detail || ""}`;
      } else if (xhr.status === 201) {
        row.dataset.result = "added";
        status.textContent = labels.added;
      } else if (xhr.status === 409) {
        row.dataset.result = "duplicate";
        status.textContent = `${labels.duplicate}: ${body.title || ""}`;
      } else {
        row.dataset.result = "failed";
        status.textContent = `${labels.failed}: ${body.detail || xhr.status}`;
      }
      resolve(xhr.status);
    });
    xhr.addEventListener("error", () => {
      row.dataset.result = "failed";
      status.textContent = labels.failed;
      resolve(0);
    });
    const form = new FormData();
    form.append("file", file, file.name);
    if (split) form.append("split", "true");  // a flatbed sheet: the server adds each print
    xhr.send(form);
  });
}

async function refreshGrid() {
  // The server's own markup for the grid, so new cards look exactly like the others.
  const response = await fetch(window.location.href, { headers: { Accept: "text/html" } });
  if (!response.ok) return;
  const page = new DOMParser().parseFromString(await response.text(), "text/html");
  const fresh = page.getElementById("grid");
  if (fresh) document.getElementById("grid").replaceWith(fresh);
  const empty = document.getElementById("empty");
  if (empty && fresh && fresh.children.length) empty.remove();
}

function setupUpload() {
  const section = document.querySelector(".upload");
  if (!section) return;
  const input = document.getElementById("upload-input");
  const list = document.getElementById("upload-list");
  const labels = {
    added: section.dataset.labelAdded,
    duplicate: section.dataset.labelDuplicate,
    failed: section.dataset.labelFailed,
    split: section.dataset.labelSplit,
  };
  const splitBox = document.getElementById("upload-split");
  input.addEventListener("change", async () => {
    const files = Array.from(input.files);
    const split = Boolean(splitBox && splitBox.checked);  // as it was when these files were chosen
    input.value = "";
    const rows = files.map((file) => {
      const row = document.createElement("li");
      row.className = "upload-row";
      const name = document.createElement("span");
      name.className = "upload-name";
      name.textContent = file.name;
      const bar = document.createElement("progress");
      bar.max = 100;
      bar.value = 0;
      const status = document.createElement("span");
      status.className = "upload-status";
      row.append(name, bar, status);
      list.append(row);
      return row;
    });
    // Two at a time: quick on a phone's connection without starving the server's two cores.
    let next = 0;
    const worker = async () => {
      while (next < files.length) {
        const i = next++;
        await uploadOne(section.dataset.uploadUrl, files[i], rows[i], labels, split);
      }
    };
    await Promise.all([worker(), worker()]);
    await refreshGrid();
  });
}

function showReason(card, photo) {
  // The same single line the server renders for a failed or partly restored photo; none otherwise.
  let reason = card.querySelector(".reason");
  if (photo.state !== "failed" && photo.state !== "partial") {
    if (reason) reason.remove();
    return;
  }
  if (!reason) {
    reason = document.createElement("span");
    reason.className = "reason";
    card.querySelector("a").append(reason);
  }
  reason.textContent = photo.reason;
  reason.title = photo.reason;
}

async function pollStates() {
  const grid = document.getElementById("grid");
  if (!grid) return;
  const busy = grid.querySelector('[data-state="waiting"], [data-state="processing"]');
  if (busy) {
    try {
      const response = await fetch(grid.dataset.statusUrl, { headers: { Accept: "application/json" } });
      if (response.ok) {
        const labels = window.restore.stateLabels();
        for (const photo of await response.json()) {
          const card = Array.from(grid.children).find((c) => c.dataset.filename === photo.filename);
          if (!card) continue;
          const badge = card.querySelector(".badge");
          const text = window.restore.badgeText(labels, photo);
          if (card.dataset.state === photo.state && badge.textContent === text) continue;
          card.dataset.state = photo.state;
          badge.className = `badge state-${photo.state}`;
          badge.textContent = text;
          if (photo.restored_thumb) card.querySelector("img").src = photo.restored_thumb;
          showReason(card, photo);
        }
      }
    } catch (e) { /* offline for a moment: try again next time */ }
  }
  window.setTimeout(pollStates, 5000);
}

document.addEventListener("DOMContentLoaded", () => {
  setupUpload();
  window.setTimeout(pollStates, 5000);
});
