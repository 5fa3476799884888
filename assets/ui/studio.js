// Zoom & Sharpen: viewer habits for the studio page (loaded by app.launch_options).
//
// Every way of changing the zoom ends in the zoom slider's own "release" event, the one
// that runs MSSNet: arrow keys on the slider, Enter or a pause in the number box, the
// mouse wheel over the views and the keyboard shortcuts. Dragging a view (outside the
// comparison's divider) pans: the offset goes to a hidden textbox and a hidden button
// runs the app's pan handler. Listeners sit on the document, so Gradio re-rendering a
// component never loses them.
(() => {
  "use strict";
  const ZOOM_STEP = 1.25; // one wheel notch or one +/- key
  const PAUSE_MS = { keys: 200, typing: 700, wheel: 300 };
  const VIEWS = "#compare, #bicubic, #sharpened";
  const DRAG_PX = 4; // a pointer moving less than this is a click, not a pan
  const $ = (selector) => document.querySelector(selector);
  const range = () => $("#zoom input[type=range]");
  const number = () => $("#zoom input[type=number]");

  let releaseTimer = 0;
  function releaseLater(ms) {
    clearTimeout(releaseTimer);
    releaseTimer = setTimeout(() => {
      const r = range();
      if (r) r.dispatchEvent(new PointerEvent("pointerup", { bubbles: true }));
    }, ms);
  }

  function setZoom(value, ms) {
    const r = range();
    if (!r) return;
    const step = Number(r.step) || 0.05;
    const v = Math.min(Number(r.max), Math.max(Number(r.min), Math.round(value / step) * step));
    r.value = v.toFixed(2);
    r.dispatchEvent(new Event("input", { bubbles: true })); // Gradio's "input": the quick preview
    releaseLater(ms); // Gradio's "release": MSSNet
  }
  const zoomNow = () => Number(range()?.value ?? 1);

  function pan(dx, dy) {
    // (dx, dy): how far the picture moved, in view pixels (right and down positive)
    const box = $("#pan-request textarea, #pan-request input");
    const go = $("#pan-go");
    if (!box || !go || (dx === 0 && dy === 0)) return;
    box.value = `${dx.toFixed(1)} ${dy.toFixed(1)} ${Date.now()}`;
    box.dispatchEvent(new Event("input", { bubbles: true }));
    setTimeout(() => go.click(), 0);
  }
  const viewSide = () => $("#sharpened img")?.naturalWidth || 256;

  // arrow keys, Page Up/Down, Home/End on the slider: run MSSNet once the keys rest
  document.addEventListener("keyup", (e) => {
    if (e.target === range() && /^(Arrow|Page|Home|End)/.test(e.key)) releaseLater(PAUSE_MS.keys);
  });
  // the number box: Enter at once, typing after a short pause
  document.addEventListener("keydown", (e) => {
    if (e.target === number() && e.key === "Enter") releaseLater(0);
  });
  document.addEventListener("input", (e) => {
    if (e.isTrusted && e.target === number()) releaseLater(PAUSE_MS.typing);
  });

  // the mouse wheel over a view zooms (instead of scrolling the page)
  document.addEventListener("wheel", (e) => {
    if (!e.target.closest?.(VIEWS) || e.deltaY === 0) return;
    e.preventDefault();
    e.stopPropagation();
    setZoom(zoomNow() * (e.deltaY < 0 ? ZOOM_STEP : 1 / ZOOM_STEP), PAUSE_MS.wheel);
  }, { passive: false, capture: true });

  // drag a view to pan; on the comparison, the divider's handle still moves the divider
  let drag = null;
  let swallowClick = false;
  document.addEventListener("pointerdown", (e) => {
    const view = e.target.closest?.(VIEWS);
    const img = view?.querySelector("img");
    if (!img || e.button !== 0 || e.target.closest("button, a, [data-testid=slider]")) return;
    drag = { x: e.clientX, y: e.clientY, view, moved: false, scale: img.naturalWidth / (img.clientWidth || 1) };
    if (view.id === "compare") e.stopPropagation(); // the comparison's divider follows its handle only
  }, { capture: true });
  document.addEventListener("pointermove", (e) => {
    if (!drag) return;
    const dx = e.clientX - drag.x, dy = e.clientY - drag.y;
    if (!drag.moved && Math.hypot(dx, dy) < DRAG_PX) return;
    drag.moved = true;
    e.preventDefault();
    for (const img of drag.view.querySelectorAll("img")) img.style.translate = `${dx}px ${dy}px`;
  }, { capture: true });
  document.addEventListener("pointerup", (e) => {
    if (!drag) return;
    const d = drag;
    drag = null;
    for (const img of d.view.querySelectorAll("img")) img.style.translate = "";
    if (!d.moved) return;
    swallowClick = true; // the click that ends a drag picks nothing
    setTimeout(() => { swallowClick = false; }, 0);
    pan((e.clientX - d.x) * d.scale, (e.clientY - d.y) * d.scale);
  }, { capture: true });
  document.addEventListener("click", (e) => {
    if (swallowClick && e.target.closest?.(VIEWS)) { e.stopPropagation(); e.preventDefault(); }
  }, { capture: true });
  document.addEventListener("dragstart", (e) => {
    if (e.target.closest?.(VIEWS)) e.preventDefault();
  }, { capture: true });

  // keyboard shortcuts (listed on the page), unless typing in a field
  document.addEventListener("keydown", (e) => {
    const t = e.target;
    if (e.ctrlKey || e.metaKey || e.altKey || t.closest?.("input, textarea, select, [contenteditable=true]")) return;
    const quarter = viewSide() / 4;
    const keys = {
      "+": () => setZoom(zoomNow() * ZOOM_STEP, PAUSE_MS.keys),
      "=": () => setZoom(zoomNow() * ZOOM_STEP, PAUSE_MS.keys),
      "-": () => setZoom(zoomNow() / ZOOM_STEP, PAUSE_MS.keys),
      ArrowLeft: () => pan(quarter, 0),
      ArrowRight: () => pan(-quarter, 0),
      ArrowUp: () => pan(0, quarter),
      ArrowDown: () => pan(0, -quarter),
    };
    for (let n = 1; n <= 8; n++) keys[String(n)] = () => setZoom(n, 0);
    if (!keys[e.key]) return;
    e.preventDefault();
    keys[e.key]();
  });
})();
