// Loaded only while some album cards are still being counted in the background (album_cards.py):
// look again in a few seconds, but never while the owner is typing or has the new-album form open.
"use strict";

(() => {
  const busy = () => document.querySelector("details[open]")
    || (document.activeElement && ["INPUT", "TEXTAREA"].includes(document.activeElement.tagName));
  const look = () => (busy() ? setTimeout(look, 5000) : window.location.reload());
  setTimeout(look, 5000);
})();
