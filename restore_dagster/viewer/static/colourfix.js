// The owner's colour fix by hand: tap an area of the coloured picture; the server segments it (the
// same flood fill on the luminance the pipeline replays) and sends it back as a mask, drawn here as
// an outline and as a tint blended in "color" mode (the picture's lightness kept, as the fix keeps
// it). Pick a colour, Apply: the fix is stored and the photo is coloured again; Undo takes one back.
"use strict";

const FIX_MAX_CANVAS = 1024; // the preview canvases' long side: sharper than a phone shows, light to redraw
const FIX_OUTLINE = 2; // the outline's width in canvas pixels

function setupColourFix(panel) {
  const stage = document.getElementById("fix-stage");
  const photo = document.getElementById("fix-photo");
  const tint = document.getElementById("fix-tint");
  const outline = document.getElementById("fix-outline");
  const marker = document.getElementById("fix-marker");
  const info = document.getElementById("fix-info");
  const tolerance = document.getElementById("fix-tolerance");
  const picker = document.getElementById("fix-colour");
  const apply = document.getElementById("fix-apply");
  const undoLast = document.getElementById("fix-undo-last");
  const message = document.getElementById("fix-message");
  const list = document.getElementById("fix-list");
  const swatches = Array.from(panel.querySelectorAll(".swatch"));
  const d = panel.dataset;
  let tap = null, region = null, colour = null, busy = false, asking = 0, timer = 0;
  let fixes = JSON.parse(document.getElementById("fix-data").textContent);

  // Colours come from data attributes: an inline style attribute would break the page's CSP.
  swatches.forEach((s) => { s.style.backgroundColor = s.dataset.colour; });

  const refresh = () => {
    apply.disabled = busy || !region || !colour;
    undoLast.disabled = busy || fixes.length === 0;
    list.querySelectorAll("button").forEach((b) => { b.disabled = busy; });
  };
  const say = (text, kind = "") => {
    message.className = `mask-message ${kind}`.trim();
    message.textContent = text;
    if (text) message.scrollIntoView({ block: "nearest" });
  };

  const sizeCanvases = () => {
    const w = photo.naturalWidth || 4, h = photo.naturalHeight || 3;
    const scale = Math.min(1, FIX_MAX_CANVAS / Math.max(w, h));
    [tint, outline].forEach((c) => { c.width = Math.round(w * scale); c.height = Math.round(h * scale); });
    stage.style.aspectRatio = `${w} / ${h}`;
  };
  const draw = () => {
    [tint, outline].forEach((c) => c.getContext("2d").clearRect(0, 0, c.width, c.height));
    if (!region) return;
    const t = tint.getContext("2d");
    t.drawImage(region, 0, 0, tint.width, tint.height);
    t.globalCompositeOperation = "source-in";
    t.fillStyle = colour || "#ffffff";
    t.globalAlpha = colour ? 1 : 0.45; // no colour chosen yet: the area only lightly marked
    t.fillRect(0, 0, tint.width, tint.height);
    t.globalAlpha = 1;
    t.globalCompositeOperation = "source-over";
    tint.classList.toggle("tinted", Boolean(colour));
    // The outline: the mask grown by a few pixels, minus the mask itself, in white (a dark shadow
    // from the stylesheet makes it show on light and dark pictures alike).
    const o = outline.getContext("2d");
    for (const [dx, dy] of [[-1, 0], [1, 0], [0, -1], [0, 1], [-1, -1], [1, 1], [-1, 1], [1, -1]]) {
      o.drawImage(region, dx * FIX_OUTLINE, dy * FIX_OUTLINE, outline.width, outline.height);
    }
    o.globalCompositeOperation = "destination-out";
    o.drawImage(region, 0, 0, outline.width, outline.height);
    o.globalCompositeOperation = "source-in";
    o.fillStyle = "#ffffff";
    o.fillRect(0, 0, outline.width, outline.height);
    o.globalCompositeOperation = "source-over";
  };

  const ask = async () => {
    if (!tap) return;
    const mine = ++asking; // a slower earlier answer never replaces a later one
    info.textContent = d.msgFinding;
    const url = `${d.regionUrl}?x=${tap[0].toFixed(5)}&y=${tap[1].toFixed(5)}&tolerance=${tolerance.value}`;
    try {
      const response = await fetch(url, { headers: { Accept: "image/png, application/json" } });
      if (mine !== asking) return;
      if (!response.ok) {
        const body = await response.json().catch(() => ({}));
        region = null;
        draw();
        info.textContent = typeof body.detail === "string" ? body.detail : `HTTP ${response.status}`;
        refresh();
        return;
      }
      const percent = response.headers.get("X-Region-Percent") || "?";
      const blob = await response.blob();
      const image = new Image();
      image.onload = () => {
        URL.revokeObjectURL(image.src);
        if (mine !== asking) return;
        region = image;
        draw();
        info.textContent = d.msgRegion.replace("{percent}", percent);
        stage.dataset.regionPercent = percent;
        refresh();
      };
      image.src = URL.createObjectURL(blob);
    } catch (error) {
      if (mine === asking) info.textContent = `${d.msgFailed} ${error.message}`;
    }
  };

  photo.addEventListener("load", () => { sizeCanvases(); draw(); });
  if (photo.complete) sizeCanvases();
  // A tap (or a click) on the picture picks the area; the point is kept as fractions of the picture.
  stage.addEventListener("click", (e) => {
    if (busy) return;
    const box = photo.getBoundingClientRect();
    const x = (e.clientX - box.left) / box.width, y = (e.clientY - box.top) / box.height;
    if (!(x >= 0 && x <= 1 && y >= 0 && y <= 1)) return;
    tap = [x, y];
    marker.hidden = false;
    marker.style.left = `${x * 100}%`;
    marker.style.top = `${y * 100}%`;
    say("");
    ask();
  });
  tolerance.addEventListener("input", () => {
    window.clearTimeout(timer);
    timer = window.setTimeout(ask, 250); // one request when the finger stops, not one per step
  });
  const choose = (value, pressed) => {
    colour = value;
    swatches.forEach((s) => s.setAttribute("aria-pressed", String(s === pressed)));
    draw();
    refresh();
  };
  swatches.forEach((s) => s.addEventListener("click", () => choose(s.dataset.colour, s)));
  picker.addEventListener("input", () => choose(picker.value, null));

  const stateText = (fix) => {
    if (fix.state === "applied") return d.msgStateApplied;
    if (fix.state === "skipped") return `${d.msgStateSkipped} ${fix.reason}`;
    return d.msgStateWaiting;
  };
  const render = () => {
    list.textContent = "";
    if (!fixes.length) {
      const empty = document.createElement("li");
      empty.className = "note fix-empty";
      empty.textContent = d.msgNone;
      list.append(empty);
    }
    fixes.forEach((fix, i) => {
      const item = document.createElement("li");
      item.className = `fix-item fix-${fix.state}`;
      item.dataset.id = fix.id;
      const swatch = document.createElement("span");
      swatch.className = "fix-swatch";
      swatch.style.backgroundColor = fix.colour;
      const text = document.createElement("span");
      text.className = "fix-text";
      text.textContent = `${i + 1}. ${fix.colour} · ${fix.percent}% · ${stateText(fix)}`;
      const undo = document.createElement("button");
      undo.type = "button";
      undo.className = "fix-undo";
      undo.textContent = `↶ ${d.msgUndo}`;
      undo.addEventListener("click", () => send(d.undoUrl, { id: fix.id }, d.msgUndone));
      item.append(swatch, text, undo);
      list.append(item);
    });
    refresh();
  };

  const send = async (url, fields, done) => {
    if (busy) return;
    busy = true;
    refresh();
    say(d.msgSending);
    try {
      const form = new FormData();
      Object.entries(fields).forEach(([k, v]) => form.append(k, v));
      const response = await fetch(url, {
        method: "POST", body: form, headers: { "X-CSRF-Token": window.restore.csrf(), Accept: "application/json" },
      });
      const body = await response.json().catch(() => ({}));
      if (!response.ok) throw new Error(typeof body.detail === "string" ? body.detail : `HTTP ${response.status}`);
      fixes = body.fixes;
      region = null;
      tap = null;
      marker.hidden = true;
      draw();
      info.textContent = d.msgTap;
      say(done, "ok");
      panel.dataset.awaitingRun = "1";
      window.restore.showState(body.photo);
    } catch (error) {
      say(`${d.msgFailed} ${error.message}`, "error");
    } finally {
      busy = false;
      render();
    }
  };
  apply.addEventListener("click", () => {
    if (!tap || !colour) return;
    send(d.applyUrl, { x: tap[0].toFixed(5), y: tap[1].toFixed(5), tolerance: tolerance.value, colour }, d.msgApplied);
  });
  undoLast.addEventListener("click", () => send(d.undoUrl, {}, d.msgUndone));

  // Once the photo has been coloured again, show the new picture and what the run did with each fix.
  document.addEventListener("photo-state", async (e) => {
    const finished = e.detail.state === "restored" || e.detail.state === "partial";
    if (!finished || !panel.dataset.awaitingRun) return;
    delete panel.dataset.awaitingRun;
    photo.src = `${d.pictureBase}?v=${Date.now()}`;
    try {
      const response = await fetch(`${d.applyUrl}/list`, { headers: { Accept: "application/json" } });
      if (response.ok) { fixes = (await response.json()).fixes; render(); }
    } catch (error) { /* the list stays as it was; the next page view shows it */ }
  });
  render();
}

document.addEventListener("DOMContentLoaded", () => {
  const panel = document.getElementById("colour-fix");
  if (panel) setupColourFix(panel);
});
