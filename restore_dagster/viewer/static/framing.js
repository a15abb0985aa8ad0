// The owner's Frame panel: four round handles over the upright original, dragged with a finger or the
// mouse onto the print's corners; turn buttons (90° steps); Save sends the corners as fractions of the
// picture (0..1, as the server stores them) and the turn, and the photo is restored again from its scan.
// The picture is turned on screen as it will be turned, and the handles turn with it: a finger's
// position is turned back into the upright original's fractions (toFraction).
"use strict";

const FRAME_MAX_SCREEN_SHARE = 0.6; // a tall photo stays within 60% of the screen's height
const FRAME_GRAB_RADIUS = 40; // px: a press this near a handle's centre takes that corner
const FRAME_KEY_STEP = 0.005; // arrow keys move a focused handle by half a percent
const FRAME_MIN_AREA = 0.0005; // of the picture: less is a slip of the finger, not a print
const LOUPE_SIZE = 112; // px: the magnifier shown above the finger while a corner is dragged
const LOUPE_ZOOM = 3; // times the picture's size on screen

function setupFrameEditor(editor) {
  const stage = document.getElementById("frame-stage");
  const layers = document.getElementById("frame-layers");
  const photo = document.getElementById("frame-photo");
  const quad = document.getElementById("frame-quad");
  const shade = document.getElementById("frame-shade");
  const handles = Array.from(editor.querySelectorAll(".frame-handle"));
  const turned = document.getElementById("frame-turned");
  const message = document.getElementById("frame-message");
  const save = document.getElementById("frame-save");
  const loupe = document.getElementById("frame-loupe");
  const corners = JSON.parse(editor.dataset.corners); // top-left, top-right, bottom-right, bottom-left
  let rotation = Number(editor.dataset.rotation) || 0;
  let aspect = 0; // the upright original's width / height, known once its picture has loaded
  let moved = false, turnedSinceSave = false, sending = false, drag = null;
  const manualAtStart = editor.dataset.manual === "true"; // the corners on file are the owner's

  const clamp = (v) => Math.min(1, Math.max(0, v));
  // Convex and not crossed, in the order the handles are drawn; turning and scaling keep convexity,
  // so the fractions can be checked as they are.
  const convex = () => {
    let sign = 0, area = 0;
    for (let i = 0; i < 4; i++) {
      const [ax, ay] = corners[i], [bx, by] = corners[(i + 1) % 4], [cx, cy] = corners[(i + 2) % 4];
      const turn = (bx - ax) * (cy - by) - (by - ay) * (cx - bx);
      if (turn === 0 || (sign && Math.sign(turn) !== sign)) return false;
      sign = Math.sign(turn);
      area += ax * by - bx * ay;
    }
    return Math.abs(area) / 2 >= FRAME_MIN_AREA;
  };
  const dirty = () => moved || turnedSinceSave;

  const layout = () => {
    if (!aspect) return;
    const sideways = rotation % 180 !== 0;
    const shown = sideways ? 1 / aspect : aspect; // the turned picture's width / height
    stage.style.aspectRatio = `${shown}`;
    stage.style.width = `min(100% - 48px, calc(${FRAME_MAX_SCREEN_SHARE * 100}vh * ${shown}))`;
    const box = stage.getBoundingClientRect();
    layers.style.width = `${sideways ? box.height : box.width}px`;
    layers.style.height = `${sideways ? box.width : box.height}px`;
    layers.style.transform = `translate(-50%, -50%) rotate(${rotation}deg)`;
  };

  const draw = () => {
    handles.forEach((handle, i) => {
      handle.style.left = `${corners[i][0] * 100}%`;
      handle.style.top = `${corners[i][1] * 100}%`;
    });
    const points = corners.map(([x, y]) => `${x},${y}`);
    quad.setAttribute("points", points.join(" "));
    shade.setAttribute("d", `M0,0H1V1H0Z M${points.join(" L")}Z`); // dims what is cut away
    const ok = convex();
    editor.classList.toggle("crossed", !ok);
    save.disabled = sending || !ok || !dirty();
    turned.textContent = rotation ? editor.dataset.msgTurned.replace("{degrees}", rotation) : "";
    if (!ok) {
      message.className = "mask-message error";
      message.textContent = editor.dataset.msgCrossed;
    } else if (message.textContent === editor.dataset.msgCrossed) {
      message.textContent = "";
    }
  };

  // The finger hides the corner it drags: a magnifier above it shows the picture around the corner,
  // turned as on screen, with cross-hairs on the corner itself.
  const showLoupe = (corner) => {
    if (!photo.naturalWidth) return;
    const ratio = window.devicePixelRatio || 1;
    if (loupe.width !== LOUPE_SIZE * ratio) loupe.width = loupe.height = LOUPE_SIZE * ratio;
    const ctx = loupe.getContext("2d");
    const scale = (LOUPE_ZOOM * layers.offsetWidth) / photo.naturalWidth; // natural pixels → loupe px
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.fillStyle = "#1d1712";
    ctx.fillRect(0, 0, LOUPE_SIZE, LOUPE_SIZE);
    ctx.save();
    ctx.translate(LOUPE_SIZE / 2, LOUPE_SIZE / 2);
    ctx.rotate((rotation * Math.PI) / 180);
    ctx.scale(scale, scale);
    ctx.drawImage(photo, -corners[corner][0] * photo.naturalWidth, -corners[corner][1] * photo.naturalHeight);
    ctx.restore();
    ctx.strokeStyle = "#ffd54a";
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(LOUPE_SIZE / 2, 0); ctx.lineTo(LOUPE_SIZE / 2, LOUPE_SIZE);
    ctx.moveTo(0, LOUPE_SIZE / 2); ctx.lineTo(LOUPE_SIZE, LOUPE_SIZE / 2);
    ctx.stroke();
    // Above the corner, or below it when the corner is near the top of the screen.
    const r = handles[corner].getBoundingClientRect(), box = stage.getBoundingClientRect();
    const x = r.left + r.width / 2 - box.left, y = r.top + r.height / 2 - box.top;
    const above = r.top - LOUPE_SIZE - 40 > 0;
    loupe.style.left = `${x - LOUPE_SIZE / 2}px`;
    loupe.style.top = `${above ? y - LOUPE_SIZE - 40 : y + 40}px`;
    loupe.hidden = false;
  };

  // A point on the screen → fractions of the upright original: relative to the turned picture's
  // centre, turned back by the rotation, divided by the unturned picture's size.
  const toFraction = (e) => {
    const box = stage.getBoundingClientRect();
    const dx = e.clientX - (box.left + box.width / 2), dy = e.clientY - (box.top + box.height / 2);
    const angle = (rotation * Math.PI) / 180;
    const x = dx * Math.cos(angle) + dy * Math.sin(angle), y = -dx * Math.sin(angle) + dy * Math.cos(angle);
    return [x / layers.offsetWidth + 0.5, y / layers.offsetHeight + 0.5];
  };
  const nearestHandle = (e) => {
    let best = -1, distance = FRAME_GRAB_RADIUS;
    handles.forEach((handle, i) => {
      const r = handle.getBoundingClientRect();
      const d = Math.hypot(e.clientX - (r.left + r.width / 2), e.clientY - (r.top + r.height / 2));
      if (d < distance) { best = i; distance = d; }
    });
    return best;
  };

  // The corner follows the finger by how far it moved (not to where it is): the finger that covers
  // the handle need not be on its exact centre, and the corner never jumps when it is taken.
  stage.addEventListener("pointerdown", (e) => {
    if (sending || drag || (e.pointerType === "mouse" && e.button !== 0)) return;
    const corner = nearestHandle(e);
    if (corner < 0) return;
    e.preventDefault();
    stage.setPointerCapture(e.pointerId);
    drag = { id: e.pointerId, corner, start: toFraction(e), from: corners[corner].slice() };
    handles[corner].classList.add("dragging");
    showLoupe(corner);
  });
  stage.addEventListener("pointermove", (e) => {
    if (!drag || e.pointerId !== drag.id) return;
    e.preventDefault();
    const [x, y] = toFraction(e);
    corners[drag.corner] = [clamp(drag.from[0] + x - drag.start[0]), clamp(drag.from[1] + y - drag.start[1])];
    moved = true;
    draw();
    showLoupe(drag.corner);
  });
  const finish = (e) => {
    if (!drag || e.pointerId !== drag.id) return;
    handles[drag.corner].classList.remove("dragging");
    drag = null;
    loupe.hidden = true;
  };
  stage.addEventListener("pointerup", finish);
  stage.addEventListener("pointercancel", finish);

  // Arrow keys move a focused handle the way the arrow points on screen, whatever the turn.
  const ARROWS = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
  handles.forEach((handle, i) => {
    handle.addEventListener("keydown", (e) => {
      const arrow = ARROWS[e.key];
      if (!arrow || sending) return;
      e.preventDefault();
      const angle = (rotation * Math.PI) / 180;
      const [sx, sy] = arrow;
      const dx = sx * Math.cos(angle) + sy * Math.sin(angle), dy = -sx * Math.sin(angle) + sy * Math.cos(angle);
      corners[i] = [clamp(corners[i][0] + dx * FRAME_KEY_STEP), clamp(corners[i][1] + dy * FRAME_KEY_STEP)];
      moved = true;
      draw();
    });
  });

  const turn = (by) => {
    rotation = (rotation + by + 360) % 360;
    turnedSinceSave = true;
    layout();
    draw();
  };
  document.getElementById("frame-rotate-left").addEventListener("click", () => turn(-90));
  document.getElementById("frame-rotate-right").addEventListener("click", () => turn(90));

  save.addEventListener("click", async () => {
    if (sending || !dirty() || !convex()) return;
    sending = true;
    draw();
    message.className = "mask-message";
    message.textContent = editor.dataset.msgSending;
    try {
      // Untouched corners that were not the owner's stay automatic: only the turn is saved.
      const form = new FormData();
      form.append("corners", moved || manualAtStart ? corners.map(([x, y]) => `${x.toFixed(5)},${y.toFixed(5)}`).join(" ") : "");
      form.append("rotation", String(rotation));
      const response = await fetch(editor.dataset.saveUrl, {
        method: "POST", body: form, headers: { "X-CSRF-Token": window.restore.csrf(), Accept: "application/json" },
      });
      const answer = await response.json().catch(() => ({}));
      if (!response.ok) throw new Error(typeof answer.detail === "string" ? answer.detail : `HTTP ${response.status}`);
      moved = turnedSinceSave = false;
      message.className = "mask-message ok";
      message.textContent = editor.dataset.msgSaved;
      window.restore.showState(answer.photo);
    } catch (error) {
      message.className = "mask-message error";
      message.textContent = `${editor.dataset.msgFailed} ${error.message}`;
    } finally {
      sending = false;
      draw();
      message.scrollIntoView({ block: "nearest" }); // below the button the thumb just pressed
    }
  });

  const start = () => {
    aspect = photo.naturalWidth && photo.naturalHeight ? photo.naturalWidth / photo.naturalHeight : 4 / 3;
    layout();
    draw();
  };
  if (photo.complete) start(); else photo.addEventListener("load", start, { once: true });
  photo.addEventListener("error", start, { once: true });
  window.addEventListener("resize", layout);
  // The panel opens closed: its picture has no size until then.
  editor.closest("details").addEventListener("toggle", layout);
  // The viewer reloads itself when a run ends in a failure; not over corners the owner has not saved.
  const earlier = window.restore.keepPage;
  window.restore.keepPage = () => dirty() || sending || Boolean(earlier && earlier());
  draw();
}

document.addEventListener("DOMContentLoaded", () => {
  const editor = document.getElementById("frame-editor");
  if (editor) setupFrameEditor(editor);
});
