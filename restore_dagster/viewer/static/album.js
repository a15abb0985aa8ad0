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

// The states of the pages "Show more" added below the first (their JSON URLs); see pollStates.
const morePages = [];

function replaceFrom(page, id) {
  // This page's element `id` by the fetched page's own (gone when the fetched page has none).
  const mine = document.getElementById(id);
  const theirs = page.getElementById(id);
  if (mine && theirs) mine.replaceWith(theirs);
  else if (mine) mine.remove();
}

async function refreshGrid() {
  // The server's own markup for the grid, so new cards look exactly like the others; the counts and
  // pager too (an upload can add a page). Pages added by "Show more" give way to the address's page.
  const response = await fetch(window.location.href, { headers: { Accept: "text/html" } });
  if (!response.ok) return;
  const page = new DOMParser().parseFromString(await response.text(), "text/html");
  const fresh = page.getElementById("grid");
  if (fresh) document.getElementById("grid").replaceWith(fresh);
  morePages.length = 0;
  ["album-summary", "page-range", "show-more", "pager"].forEach((id) => replaceFrom(page, id));
  const empty = document.getElementById("empty");
  if (empty && fresh && fresh.children.length) empty.remove();
}

async function showMore(link) {
  // The next page's cards below these, without leaving the page; the link alone (no script) opens that page.
  link.setAttribute("aria-busy", "true");
  link.textContent = link.dataset.loading;
  let page;
  try {
    const response = await fetch(link.href, { headers: { Accept: "text/html" } });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    page = new DOMParser().parseFromString(await response.text(), "text/html");
  } catch (e) {
    window.location.href = link.href;
    return;
  }
  const grid = document.getElementById("grid");
  const fresh = page.getElementById("grid");
  if (!grid || !fresh) {
    window.location.href = link.href;
    return;
  }
  const items = Array.from(fresh.children);
  // The timeline: a year that goes on from the last page gets no second heading.
  const headings = grid.querySelectorAll(".timeline-heading");
  const lastHeading = headings[headings.length - 1];
  if (items.length && lastHeading && items[0].classList.contains("timeline-heading")
      && items[0].textContent.trim() === lastHeading.textContent.trim()) items.shift();
  grid.append(...items);
  morePages.push(fresh.dataset.statusUrl);
  const range = document.getElementById("page-range");
  const freshRange = page.getElementById("page-range");
  if (range && freshRange) {  // "Photos 1–400 of 20,000": from this page's first to the new last
    range.querySelector("#page-range-text").textContent = range.dataset.template
      .replace("{first}", range.dataset.first).replace("{last}", freshRange.dataset.last)
      .replace("{total}", freshRange.dataset.total);
  }
  ["show-more", "pager"].forEach((id) => replaceFrom(page, id));
  // A reload or the way back from a photo comes to the last page shown, not to the first.
  window.history.replaceState(null, "", link.href);
}

function setupShowMore() {
  document.addEventListener("click", (e) => {
    const link = e.target.closest("#load-more");
    if (!link || e.button !== 0 || e.ctrlKey || e.metaKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    if (link.getAttribute("aria-busy") !== "true") showMore(link);
  });
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
      // The page's own photos' states (and those of the pages "Show more" added), never the whole album's.
      const cards = new Map(Array.from(grid.querySelectorAll(".photo-card")).map((c) => [c.dataset.filename, c]));
      const labels = window.restore.stateLabels();
      for (const url of [grid.dataset.statusUrl, ...morePages]) {
        const response = await fetch(url, { headers: { Accept: "application/json" } });
        if (!response.ok) continue;
        for (const photo of await response.json()) {
          const card = cards.get(photo.filename);
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
  setupShowMore();
  window.setTimeout(pollStates, 5000);
});
