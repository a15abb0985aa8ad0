// The owner's repair-mask editor: over the scan and the mask the last repair used (red), paint
// "repair here" (red) or "don't repair here" (blue) with one finger or the mouse, undo stroke by
// stroke, and upload the strokes as a PNG (white = repair here, black = never, transparent =
// untouched); the server merges them over earlier corrections and the photo is repaired again.
// Strokes are kept as points, not pixels, so undo costs no memory however many steps it goes back.
"use strict";

const MASK_COLOURS = { brush: [255, 0, 64], eraser: [0, 140, 255] };
const STROKE_OPACITY = 0.6;
const MAX_SCREEN_SHARE = 0.7; // a tall photo's canvas stays within 70% of the screen's height
const MAX_MASK_ZOOM = 8;

function setupMaskEditor(editor) {
  const canvas = document.getElementById("mask-canvas");
  const stage = document.getElementById("mask-stage");
  const ctx = canvas.getContext("2d");
  const width = canvas.width, height = canvas.height;
  // The strokes alone, in opaque colours: a later stroke of the other tool replaces an earlier one.
  const paint = document.createElement("canvas");
  paint.width = width;
  paint.height = height;
  const pctx = paint.getContext("2d");
  const history = []; // {tool, size, points} strokes and {clear: true} steps, oldest first
  const buttons = {
    undo: document.getElementById("mask-undo"),
    clear: document.getElementById("mask-clear"),
    submit: document.getElementById("mask-submit"),
  };
  const sizeInput = document.getElementById("mask-size");
  const sizeDot = document.getElementById("size-dot");
  const message = document.getElementById("mask-message");
  let tool = "brush", current = null, overlay = null, sending = false, frame = 0;

  stage.style.aspectRatio = `${width} / ${height}`;
  stage.style.width = `min(100%, calc(${MAX_SCREEN_SHARE * 100}vh * ${width / height}))`;

  const painted = () => history.length > 0 && !history[history.length - 1].clear; // strokes since the last clear
  const refreshButtons = () => {
    buttons.undo.disabled = sending || history.length === 0;
    buttons.clear.disabled = sending || !painted();
    buttons.submit.disabled = sending || !painted();
  };

  const drawStroke = (c, stroke, from) => {
    const [r, g, b] = MASK_COLOURS[stroke.tool];
    c.strokeStyle = c.fillStyle = `rgb(${r}, ${g}, ${b})`;
    c.lineWidth = stroke.size;
    c.lineCap = c.lineJoin = "round";
    const points = stroke.points;
    if (points.length === 1) {
      c.beginPath();
      c.arc(points[0][0], points[0][1], stroke.size / 2, 0, 2 * Math.PI);
      c.fill();
      return;
    }
    const start = Math.max(0, from - 1);
    c.beginPath();
    c.moveTo(points[start][0], points[start][1]);
    for (let i = start + 1; i < points.length; i++) c.lineTo(points[i][0], points[i][1]);
    c.stroke();
  };
  const replay = () => {
    pctx.clearRect(0, 0, width, height);
    history.forEach((step) => (step.clear ? pctx.clearRect(0, 0, width, height) : drawStroke(pctx, step, 0)));
  };
  const render = () => {
    frame = 0;
    ctx.clearRect(0, 0, width, height);
    if (overlay) ctx.drawImage(overlay, 0, 0, width, height);
    ctx.globalCompositeOperation = "destination-out"; // a stroke replaces the mask under it
    ctx.drawImage(paint, 0, 0);
    ctx.globalCompositeOperation = "source-over";
    ctx.globalAlpha = STROKE_OPACITY;
    ctx.drawImage(paint, 0, 0);
    ctx.globalAlpha = 1;
  };
  const schedule = () => { if (!frame) frame = window.requestAnimationFrame(render); };
  const changed = () => { replay(); render(); refreshButtons(); };

  const loadOverlay = (url) => {
    if (!url) return;
    const image = new Image();
    image.onload = () => { overlay = image; schedule(); };
    image.src = url;
  };
  loadOverlay(editor.dataset.overlayUrl);

  // Pointer events on the whole picture: one finger, a pen or the mouse paints; two fingers zoom and
  // pan instead (a stroke the first finger had begun is dropped), so a thin scratch on a big scan can
  // be painted close up. The brush keeps its size on screen, so zoomed in it paints finer.
  const layers = document.getElementById("mask-layers");
  const resetZoom = document.getElementById("mask-reset-zoom");
  const pointers = new Map();
  let scale = 1, tx = 0, ty = 0, pinch = null, pinched = false;
  const applyZoom = () => {
    const box = stage.getBoundingClientRect();
    scale = Math.min(MAX_MASK_ZOOM, Math.max(1, scale));
    tx = Math.min(0, Math.max(box.width * (1 - scale), tx));
    ty = Math.min(0, Math.max(box.height * (1 - scale), ty));
    layers.style.transform = scale > 1 ? `translate(${tx}px, ${ty}px) scale(${scale})` : "";
    resetZoom.hidden = scale <= 1;
  };
  const zoomAt = (next, x, y, from = { scale, tx, ty }) => {
    // Keep the picture's point under (x, y) of the stage where it was.
    const px = (x - from.tx) / from.scale, py = (y - from.ty) / from.scale;
    scale = Math.min(MAX_MASK_ZOOM, Math.max(1, next));
    tx = x - px * scale;
    ty = y - py * scale;
    applyZoom();
  };
  const local = (e) => {
    const box = stage.getBoundingClientRect();
    return [e.clientX - box.left, e.clientY - box.top];
  };
  const at = (e) => {
    const box = canvas.getBoundingClientRect(); // the transformed box: zoom and pan included
    return [((e.clientX - box.left) * width) / box.width, ((e.clientY - box.top) * height) / box.height];
  };
  const twoFingers = () => {
    const [a, b] = Array.from(pointers.values());
    const [ax, ay] = local(a), [bx, by] = local(b);
    return { distance: Math.hypot(ax - bx, ay - by) || 1, x: (ax + bx) / 2, y: (ay + by) / 2 };
  };
  stage.addEventListener("pointerdown", (e) => {
    if (sending || (e.pointerType === "mouse" && e.button !== 0)) return;
    e.preventDefault();
    stage.setPointerCapture(e.pointerId);
    pointers.set(e.pointerId, e);
    if (pointers.size === 2) {
      if (current) { current = null; replay(); schedule(); } // the first finger was the start of a pinch
      pinched = true;
      pinch = { ...twoFingers(), scale, tx, ty };
      return;
    }
    if (pointers.size > 2 || pinched) return;
    const box = canvas.getBoundingClientRect();
    // The size is what the owner sees on screen: the same finger-wide line however big the scan.
    current = { id: e.pointerId, stroke: { tool, size: (Number(sizeInput.value) * width) / box.width, points: [at(e)] } };
    drawStroke(pctx, current.stroke, 0);
    schedule();
  });
  stage.addEventListener("pointermove", (e) => {
    if (!pointers.has(e.pointerId)) return;
    e.preventDefault();
    pointers.set(e.pointerId, e);
    if (pinch && pointers.size === 2) {
      const now = twoFingers();
      zoomAt((pinch.scale * now.distance) / pinch.distance, now.x, now.y, pinch);
      return;
    }
    if (!current || e.pointerId !== current.id) return;
    const points = current.stroke.points;
    const from = points.length;
    const events = e.getCoalescedEvents ? e.getCoalescedEvents() : [];
    (events.length ? events : [e]).forEach((ev) => points.push(at(ev)));
    drawStroke(pctx, current.stroke, from);
    schedule();
  });
  const finish = (e) => {
    pointers.delete(e.pointerId);
    if (pointers.size < 2) pinch = null;
    if (pointers.size === 0) pinched = false; // the next touch paints again
    if (!current || e.pointerId !== current.id) return;
    history.push(current.stroke);
    current = null;
    message.textContent = "";
    refreshButtons();
  };
  stage.addEventListener("pointerup", finish);
  stage.addEventListener("pointercancel", finish);
  stage.addEventListener("wheel", (e) => {
    e.preventDefault();
    const [x, y] = local(e);
    zoomAt(scale * (e.deltaY < 0 ? 1.25 : 0.8), x, y);
  }, { passive: false });
  resetZoom.addEventListener("click", () => { scale = 1; tx = 0; ty = 0; applyZoom(); });
  window.addEventListener("resize", applyZoom);

  editor.querySelectorAll("[data-tool]").forEach((button) => {
    button.addEventListener("click", () => {
      tool = button.dataset.tool;
      editor.dataset.currentTool = tool; // the size dot takes the tool's colour
      editor.querySelectorAll("[data-tool]").forEach((b) => b.setAttribute("aria-pressed", String(b === button)));
    });
  });
  const showSize = () => {
    sizeDot.style.width = sizeDot.style.height = `${sizeInput.value}px`;
  };
  sizeInput.addEventListener("input", showSize);
  showSize();
  buttons.undo.addEventListener("click", () => { history.pop(); changed(); });
  buttons.clear.addEventListener("click", () => { history.push({ clear: true }); changed(); });

  // The strokes as the correction file wants them: white where "repair here" won, black where
  // "don't repair here" did (the two colours' blended edges go to the nearer one), transparent elsewhere.
  const correctionPng = () => {
    const out = document.createElement("canvas");
    out.width = width;
    out.height = height;
    const pixels = pctx.getImageData(0, 0, width, height);
    const px = pixels.data;
    for (let i = 0; i < px.length; i += 4) {
      if (px[i + 3] === 0) continue;
      const value = px[i] >= px[i + 2] ? 255 : 0;
      px[i] = px[i + 1] = px[i + 2] = value;
      px[i + 3] = 255;
    }
    out.getContext("2d").putImageData(pixels, 0, 0);
    return new Promise((resolve) => out.toBlob(resolve, "image/png"));
  };

  buttons.submit.addEventListener("click", async () => {
    if (!painted() || sending) return;
    sending = true;
    refreshButtons();
    message.className = "mask-message";
    message.textContent = editor.dataset.msgSending;
    try {
      const form = new FormData();
      form.append("file", await correctionPng(), "repair-mask.png");
      const response = await fetch(editor.dataset.uploadUrl, {
        method: "POST", body: form, headers: { "X-CSRF-Token": window.restore.csrf(), Accept: "application/json" },
      });
      const body = await response.json().catch(() => ({}));
      if (!response.ok) {
        const detail = typeof body.detail === "string" ? body.detail : `HTTP ${response.status}`;
        throw new Error(detail);
      }
      history.length = 0;
      changed();
      message.className = "mask-message ok";
      message.textContent = editor.dataset.msgSaved;
      message.scrollIntoView({ block: "nearest" }); // below the button the thumb just pressed
      if (editor.dataset.overlayBase) loadOverlay(`${editor.dataset.overlayBase}?v=${Date.now()}`);
      editor.dataset.awaitingRun = "1";
      window.restore.showState(body.photo);
    } catch (error) {
      message.className = "mask-message error";
      message.textContent = `${editor.dataset.msgFailed} ${error.message}`;
      message.scrollIntoView({ block: "nearest" });
    } finally {
      sending = false;
      refreshButtons();
    }
  });

  // Once the photo has been repaired again, show the mask that run used.
  document.addEventListener("photo-state", (e) => {
    const done = e.detail.state === "restored" || e.detail.state === "partial";
    if (done && editor.dataset.awaitingRun && editor.dataset.overlayBase) {
      delete editor.dataset.awaitingRun;
      loadOverlay(`${editor.dataset.overlayBase}?v=${Date.now()}`);
    }
  });
  // The viewer reloads itself when a run ends in a failure or a pending step; not over unsent strokes.
  window.restore.keepPage = () => painted() || sending;
  refreshButtons();
}

document.addEventListener("DOMContentLoaded", () => {
  const editor = document.getElementById("mask-editor");
  if (editor) setupMaskEditor(editor);
});
