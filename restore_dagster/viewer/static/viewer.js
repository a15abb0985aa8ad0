// The photo viewer: before/after slider or side by side, pinch/double-tap/wheel zoom and drag to pan
// (both pictures move together, so the same detail is compared), and a fresh restoration swapped in
// when the pipeline finishes one.
"use strict";

const MAX_ZOOM = 8;

function setupCompare(stage) {
  const range = document.getElementById("compare");
  const after = document.getElementById("after-cell");
  const divider = document.getElementById("divider");
  if (!range || !after) return;
  const apply = () => {
    const v = Number(range.value);
    after.style.clipPath = stage.classList.contains("slider") ? `inset(0 0 0 ${v}%)` : "";
    divider.style.left = `${v}%`;
  };
  range.addEventListener("input", apply);
  document.querySelectorAll("[data-mode]").forEach((button) => {
    button.addEventListener("click", () => {
      const side = button.dataset.mode === "side";
      stage.classList.toggle("slider", !side);
      stage.classList.toggle("side", side);
      range.hidden = side;
      document.querySelectorAll("[data-mode]").forEach((b) => b.setAttribute("aria-pressed", String(b === button)));
      apply();
    });
  });
  apply();
}

function setupZoom(stage) {
  const layers = () => stage.querySelectorAll(".layer");
  let scale = 1, tx = 0, ty = 0;
  const pointers = new Map();
  let pinch = null, drag = null, lastTap = 0;

  const clamp = () => {
    const cell = stage.querySelector(".cell").getBoundingClientRect();
    scale = Math.min(MAX_ZOOM, Math.max(1, scale));
    tx = Math.min(0, Math.max(cell.width * (1 - scale), tx));
    ty = Math.min(0, Math.max(cell.height * (1 - scale), ty));
  };
  const render = () => {
    clamp();
    layers().forEach((img) => { img.style.transform = `translate(${tx}px, ${ty}px) scale(${scale})`; });
    stage.classList.toggle("zoomed", scale > 1.01);
  };
  // Zoom by `factor` keeping the point (x, y) of the cell under the finger.
  const zoomAt = (factor, x, y) => {
    const next = Math.min(MAX_ZOOM, Math.max(1, scale * factor));
    tx = x - ((x - tx) * next) / scale;
    ty = y - ((y - ty) * next) / scale;
    scale = next;
    render();
  };
  const local = (e) => {
    const cell = e.target.closest(".cell") || stage.querySelector(".cell");
    const box = cell.getBoundingClientRect();
    return [e.clientX - box.left, e.clientY - box.top];
  };

  stage.addEventListener("pointerdown", (e) => {
    stage.setPointerCapture(e.pointerId);
    pointers.set(e.pointerId, e);
    if (pointers.size === 2) {
      const [a, b] = Array.from(pointers.values());
      pinch = { distance: Math.hypot(a.clientX - b.clientX, a.clientY - b.clientY), scale };
      drag = null;
    } else if (pointers.size === 1) {
      drag = { x: e.clientX, y: e.clientY, tx, ty };
      const now = Date.now();
      if (now - lastTap < 300) {
        const [x, y] = local(e);
        if (scale > 1.01) { scale = 1; tx = 0; ty = 0; render(); } else { zoomAt(2.5, x, y); }
        lastTap = 0;
      } else {
        lastTap = now;
      }
    }
  });
  stage.addEventListener("pointermove", (e) => {
    if (!pointers.has(e.pointerId)) return;
    pointers.set(e.pointerId, e);
    if (pinch && pointers.size === 2) {
      const [a, b] = Array.from(pointers.values());
      const distance = Math.hypot(a.clientX - b.clientX, a.clientY - b.clientY);
      const box = stage.querySelector(".cell").getBoundingClientRect();
      const x = (a.clientX + b.clientX) / 2 - box.left;
      const y = (a.clientY + b.clientY) / 2 - box.top;
      zoomAt((pinch.scale * distance) / pinch.distance / scale, x, y);
    } else if (drag && scale > 1.01) {
      tx = drag.tx + e.clientX - drag.x;
      ty = drag.ty + e.clientY - drag.y;
      render();
    }
  });
  const release = (e) => {
    pointers.delete(e.pointerId);
    if (pointers.size < 2) pinch = null;
    if (pointers.size === 0) drag = null;
  };
  stage.addEventListener("pointerup", release);
  stage.addEventListener("pointercancel", release);
  stage.addEventListener("wheel", (e) => {
    e.preventDefault();
    const [x, y] = local(e);
    zoomAt(e.deltaY < 0 ? 1.25 : 0.8, x, y);
  }, { passive: false });
  const reset = document.querySelector("[data-reset-zoom]");
  if (reset) reset.addEventListener("click", () => { scale = 1; tx = 0; ty = 0; render(); });
  window.addEventListener("resize", render);
}

function sizeStage(stage, viewer) {
  // Give the stage the photo's shape (an inline style attribute would break the CSP); side by side
  // puts the two pictures next to each other, or one above the other on a phone held upright.
  const w = Number(viewer.dataset.width), h = Number(viewer.dataset.height);
  if (!(w > 0 && h > 0)) return;
  const side = stage.classList.contains("side");
  const upright = window.matchMedia("(orientation: portrait)").matches;
  stage.style.aspectRatio = !side ? `${w} / ${h}` : upright ? `${w} / ${2 * h}` : `${2 * w} / ${h}`;
}

async function pollState(viewer) {
  const state = viewer.dataset.state;
  if (state === "waiting" || state === "processing") {
    try {
      const response = await fetch(viewer.dataset.statusUrl, { headers: { Accept: "application/json" } });
      if (response.ok) {
        const photo = await response.json();
        window.restore.showState(photo);
        document.dispatchEvent(new CustomEvent("photo-state", { detail: photo })); // e.g. the repair editor
        if (photo.restored_version && photo.restored_version !== viewer.dataset.restoredVersion) {
          const image = document.getElementById("after-image");
          if (image && photo.state === "restored") {
            image.src = photo.restored;  // the new restoration replaces the old one in place
            viewer.dataset.restoredVersion = photo.restored_version;
          } else if (!image) {
            window.location.reload();  // the first restoration: the page grows the compare tools
            return;
          }
        }
        // Shows why; never over the owner's unsent repair-mask strokes (repair.js).
        const keep = window.restore.keepPage && window.restore.keepPage();
        if ((photo.state === "failed" || photo.state === "partial") && !keep) window.location.reload();
      }
    } catch (e) { /* try again next time */ }
  }
  window.setTimeout(() => pollState(viewer), 4000);
}

document.addEventListener("DOMContentLoaded", () => {
  const viewer = document.getElementById("viewer");
  const stage = document.getElementById("stage");
  if (!viewer || !stage) return;
  sizeStage(stage, viewer);
  document.querySelectorAll("[data-mode]").forEach((b) => b.addEventListener("click", () => sizeStage(stage, viewer)));
  window.addEventListener("resize", () => sizeStage(stage, viewer));
  setupCompare(stage);
  setupZoom(stage);
  window.setTimeout(() => pollState(viewer), 4000);
});
