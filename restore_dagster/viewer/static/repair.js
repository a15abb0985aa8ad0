// The owner's repair-mask editor: over the scan and the mask the last repair used (red), paint
// "repair here" (red) or "don't repair here" (blue) with one finger or the mouse, undo stroke by
// stroke, and upload the strokes as a PNG (white = repair here, black = never, transparent =
// untouched); the server merges them over earlier corrections and the photo is repaired again.
// Strokes are kept as points, not pixels, so undo costs no memory however many steps it goes back.
"use strict";

const MASK_COLOURS = { brush: [255, 0, 64], eraser: [0, 140, 255] };
const STROKE_OPACITY = 0.6;
const MAX_SCREEN_SHARE = 0.7; // a tall photo's canvas stays within 70% of the screen's height

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

  // Pointer events: one finger, a pen or the mouse paints; a second finger is ignored, never a line.
  const at = (e) => {
    const box = canvas.getBoundingClientRect();
    return [((e.clientX - box.left) * width) / box.width, ((e.clientY - box.top) * height) / box.height];
  };
  canvas.addEventListener("pointerdown", (e) => {
    if (current || sending || (e.pointerType === "mouse" && e.button !== 0)) return;
    e.preventDefault();
    canvas.setPointerCapture(e.pointerId);
    const box = canvas.getBoundingClientRect();
    // The size is what the owner sees on screen: the same finger-wide line however big the scan.
    current = { id: e.pointerId, stroke: { tool, size: (Number(sizeInput.value) * width) / box.width, points: [at(e)] } };
    drawStroke(pctx, current.stroke, 0);
    schedule();
  });
  canvas.addEventListener("pointermove", (e) => {
    if (!current || e.pointerId !== current.id) return;
    e.preventDefault();
    const points = current.stroke.points;
    const from = points.length;
    const events = e.getCoalescedEvents ? e.getCoalescedEvents() : [];
    (events.length ? events : [e]).forEach((ev) => points.push(at(ev)));
    drawStroke(pctx, current.stroke, from);
    schedule();
  });
  const finish = (e) => {
    if (!current || e.pointerId !== current.id) return;
    history.push(current.stroke);
    current = null;
    message.textContent = "";
    refreshButtons();
  };
  canvas.addEventListener("pointerup", finish);
  canvas.addEventListener("pointercancel", finish);

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
      showState(body.photo);
    } catch (error) {
      message.className = "mask-message error";
      message.textContent = `${editor.dataset.msgFailed} ${error.message}`;
      message.scrollIntoView({ block: "nearest" });
    } finally {
      sending = false;
      refreshButtons();
    }
  });

  // The viewer reloads itself when a run ends in a failure or a pending step; not over unsent strokes.
  window.restore.keepPage = () => painted() || sending;
  refreshButtons();
}

function showState(photo) {
  // The badge as the viewer's polling sets it; the polling carries on from the new state.
  const viewer = document.getElementById("viewer");
  const badge = document.getElementById("state-badge");
  if (!photo || !viewer || !badge) return;
  badge.className = `badge state-${photo.state}`;
  badge.textContent = window.restore.badgeText(window.restore.stateLabels(), photo);
  viewer.dataset.state = photo.state;
}

document.addEventListener("DOMContentLoaded", () => {
  const editor = document.getElementById("mask-editor");
  if (editor) setupMaskEditor(editor);
});
