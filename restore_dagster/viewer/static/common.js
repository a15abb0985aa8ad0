// Small behaviours every page shares; no inline scripts (the pages' CSP forbids them).
"use strict";

window.restore = {
  csrf: () => document.querySelector('meta[name="csrf-token"]').content,
  stateLabels: () => {
    const node = document.getElementById("state-labels");
    return node ? JSON.parse(node.textContent) : {};
  },
  // A processing photo's badge also says how far it is ("upscaling: 37/120 tiles (31%)").
  badgeText: (labels, photo) => {
    const label = photo.label || labels[photo.state] || photo.state;
    return photo.state === "processing" && photo.reason ? `${label} · ${photo.reason}` : label;
  },
  // The photo page's badge set to a photo's state, as the viewer's polling sets it (the polling,
  // and the editors that saved a change, carry on from the new state).
  showState: (photo) => {
    const viewer = document.getElementById("viewer");
    const badge = document.getElementById("state-badge");
    if (!photo || !viewer || !badge) return;
    badge.className = `badge state-${photo.state}`;
    badge.textContent = window.restore.badgeText(window.restore.stateLabels(), photo);
    viewer.dataset.state = photo.state;
  },
};

document.addEventListener("submit", (event) => {
  const message = event.target.dataset && event.target.dataset.confirm;
  if (message && !window.confirm(message)) event.preventDefault();
});

document.addEventListener("DOMContentLoaded", () => {
  // Share links are stored as paths; show the full address people can paste into a message.
  document.querySelectorAll("input[data-absolute]").forEach((input) => {
    input.value = new URL(input.value, window.location.origin).href;
  });
  document.querySelectorAll("[data-copy]").forEach((button) => {
    button.addEventListener("click", async () => {
      const input = document.querySelector(button.dataset.copy);
      input.select();
      try { await navigator.clipboard.writeText(input.value); } catch (e) { document.execCommand("copy"); }
    });
  });
  document.querySelectorAll("[data-back]").forEach((link) => {
    if (window.history.length > 1) link.addEventListener("click", (e) => { e.preventDefault(); window.history.back(); });
  });
});

// Suggestion chips of the description form: a date or place replaces the field, a name is added to the list.
document.addEventListener("click", (event) => {
  const chip = event.target.closest("button.chip");
  if (!chip) return;
  const fill = chip.dataset.fill && document.querySelector(chip.dataset.fill);
  if (fill) fill.value = chip.dataset.value;
  const list = chip.dataset.add && document.querySelector(chip.dataset.add);
  if (list) {
    const names = list.value.split(/[,，、]/).map((n) => n.trim()).filter(Boolean);
    if (!names.some((n) => n.toLowerCase() === chip.dataset.value.toLowerCase())) names.push(chip.dataset.value);
    list.value = names.join(", ");
  }
  (fill || list).focus();
});
