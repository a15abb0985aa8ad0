// The owner's Colour variations panel: "Make colour variations" asks the server for a contact sheet
// (a run starts on the pipeline's side), the panel polls its progress ("3 of 8") and then shows the
// candidates as a grid; a tap shows one larger, "Use this colouring" makes it the photo's colouring
// and the photo is restored again from its colour (the page's badge and picture follow, viewer.js).
"use strict";

const VARIATIONS_POLL_MS = 1500;

function setupVariations(panel) {
  const status = document.getElementById("variations-status");
  const bar = document.getElementById("variations-progress");
  const grid = document.getElementById("variations-grid");
  const omitted = document.getElementById("variations-omitted");
  const sheet = document.getElementById("variations-sheet");
  const make = document.getElementById("variations-make");
  const message = document.getElementById("variations-message");
  const preview = document.getElementById("variations-preview");
  const previewImage = document.getElementById("variations-preview-image");
  const previewCaption = document.getElementById("variations-preview-caption");
  const use = document.getElementById("variations-use");
  const msg = panel.dataset;
  let state = JSON.parse(panel.dataset.state);
  let shownSet = "", selected = null, sending = false, polling = false;

  const busy = () => state.state === "requested" || state.state === "making";
  const post = async (url, form) => {
    const response = await fetch(url, {
      method: "POST", body: form, headers: { "X-CSRF-Token": window.restore.csrf(), Accept: "application/json" },
    });
    const answer = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(typeof answer.detail === "string" ? answer.detail : `HTTP ${response.status}`);
    return answer;
  };

  const statusText = () => {
    switch (state.state) {
      case "requested": return msg.msgRequested;
      case "making": return state.total ? msg.msgMaking.replace("{done}", state.done).replace("{total}", state.total) : msg.msgStarting;
      case "failed": return `${msg.msgFailed} ${state.message}`;
      case "colour photo": return msg.msgColourPhoto;
      default:
        if (!state.can_make) return msg.msgNotToned;
        if (state.stale) return msg.msgStale;
        return state.candidates.length ? msg.msgMadeIn.replace("{n}", state.candidates.length)
          .replace("{s}", Math.round(state.seconds)).replace("{device}", state.device) : "";
    }
  };

  const select = (candidate) => {
    selected = candidate;
    grid.querySelectorAll(".variation").forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.id === (candidate && candidate.id))));
    preview.hidden = !candidate;
    if (!candidate) return;
    previewImage.src = candidate.url;
    previewImage.alt = previewCaption.textContent = `${candidate.label}, ${candidate.knob_label}`;
    use.disabled = sending;
    preview.scrollIntoView({ block: "nearest" });
  };

  const drawGrid = () => {
    const set = state.candidates.map((c) => `${c.id}|${c.url}|${c.current}`).join(" ");
    if (set === shownSet) return;
    shownSet = set;
    grid.replaceChildren(...state.candidates.map((c) => {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "variation";
      button.dataset.id = c.id;
      button.setAttribute("role", "listitem");
      button.setAttribute("aria-pressed", "false");
      const image = document.createElement("img");
      image.src = c.url;
      image.alt = `${c.label}, ${c.knob_label}`;
      image.loading = "lazy";
      const caption = document.createElement("span");
      caption.textContent = `${c.label} · ${c.knob_label}`;
      button.append(image, caption);
      if (c.current) {
        const mark = document.createElement("span");
        mark.className = "current";
        mark.textContent = `✓ ${msg.msgCurrent}`;
        button.append(mark);
      }
      button.addEventListener("click", () => select(c));
      return button;
    }));
    const still = selected && state.candidates.find((c) => c.id === selected.id);
    select(still || null);
  };

  const draw = () => {
    status.textContent = statusText();
    status.className = `variations-status${state.state === "failed" ? " error" : ""}`;
    bar.hidden = !(state.state === "making" && state.total);
    bar.max = state.total || 1;
    bar.value = state.done || 0;
    drawGrid();
    omitted.hidden = !state.omitted.length;
    omitted.textContent = state.omitted.length ? `${msg.msgLeftOut} ${state.omitted.map((o) => o.reason).join("; ")}` : "";
    sheet.hidden = !state.sheet;
    if (state.sheet) sheet.href = state.sheet;
    make.hidden = !state.can_make;
    make.disabled = busy() || sending;
    make.textContent = `🎨 ${state.candidates.length || state.state === "colour photo" || state.state === "failed" ? msg.msgMakeAgain : msg.msgMake}`;
  };

  const poll = async () => {
    if (polling) return;
    polling = true;
    while (busy()) {
      await new Promise((resolve) => window.setTimeout(resolve, VARIATIONS_POLL_MS));
      try {
        const response = await fetch(panel.dataset.stateUrl, { headers: { Accept: "application/json" } });
        if (response.ok) {
          state = await response.json();
          draw();
        }
      } catch (e) { /* try again next time */ }
    }
    polling = false;
  };

  make.addEventListener("click", async () => {
    if (sending || busy()) return;
    sending = true;
    message.className = "mask-message";
    message.textContent = "";
    draw();
    try {
      state = await post(panel.dataset.makeUrl, new FormData());
    } catch (error) {
      message.className = "mask-message error";
      message.textContent = `${msg.msgNotSaved} ${error.message}`;
    } finally {
      sending = false;
      draw();
      poll();
    }
  });

  use.addEventListener("click", async () => {
    if (sending || !selected) return;
    sending = true;
    use.disabled = true;
    message.className = "mask-message";
    message.textContent = msg.msgSending;
    try {
      const form = new FormData();
      form.append("candidate", selected.id);
      const answer = await post(panel.dataset.chooseUrl, form);
      message.className = "mask-message ok";
      message.textContent = answer.detail.startsWith("unchanged") ? msg.msgUnchanged : msg.msgChosen;
      state = answer.variations;
      window.restore.showState(answer.photo);
    } catch (error) {
      message.className = "mask-message error";
      message.textContent = `${msg.msgNotSaved} ${error.message}`;
    } finally {
      sending = false;
      use.disabled = false;
      draw();
      message.scrollIntoView({ block: "nearest" });
    }
  });

  draw();
  poll();
}

document.addEventListener("DOMContentLoaded", () => {
  const panel = document.getElementById("variations-panel");
  if (panel) setupVariations(panel);
});
