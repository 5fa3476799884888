// Zoom & Sharpen: the studio page's glue around the deep-zoom map (loaded by app.launch_options).
//
// The map itself is assets/ui/map.js (served with OpenSeadragon under /zs/ui/). This script
// - opens it in #viewer from the JSON the server writes into the hidden #deep-zoom-info textbox
//   (polled: a new image or model is a new JSON) and reopens it if Gradio re-renders #viewer;
// - ties the zoom slider (#zoom: its range and number inputs) to the map both ways, in the browser
//   only: the slider moves the map, and the wheel, pinch and keys move the slider;
// - when the map comes to rest, writes the region on screen into #map-rest and clicks #map-rest-go,
//   so the server explains what is visible (only when that region changed).
(() => {
  "use strict";
  const UI = window.ZS_UI_PREFIX || "/zs/ui/";
  const POLL_MS = 200;
  const FOLLOW_MS = 80; // the slider follows the map at most this often while it moves
  const HANDS_OFF_MS = 400; // after the slider itself was used, the map does not write into it
  const $ = (selector) => document.querySelector(selector);
  const range = () => $("#zoom input[type=range]");
  const number = () => $("#zoom input[type=number]");

  let map = null, shownInfo = "", writing = false, sliderUsed = 0;

  function script(src) {
    return new Promise((resolve, reject) => {
      const s = document.createElement("script");
      s.src = src;
      s.onload = resolve;
      s.onerror = () => reject(new Error(`cannot load ${src}`));
      document.head.appendChild(s);
    });
  }
  const ready = (window.OpenSeadragon ? Promise.resolve() : script(UI + "openseadragon/openseadragon.min.js"))
    .then(() => (window.ZSMap ? null : script(UI + "map.js")));

  // ------------------------------------------------------------------ the map follows #deep-zoom-info
  function poll() {
    const box = $("#deep-zoom-info textarea");
    const viewer = $("#viewer");
    const text = box?.value?.trim() ?? "";
    if (map && (!viewer || map.element !== viewer || !viewer.isConnected)) { // Gradio drew #viewer anew
      map.close();
      map = null;
      shownInfo = "";
    }
    if (map && map.info && Number.isFinite(map.zoom())) { // the map is the truth: a slider set by anyone else follows it
      const r = range(), z = map.zoom(), step = Number(r?.step) || 0.05;
      const target = Math.min(Number(r?.max ?? 8), Math.max(Number(r?.min ?? 1), z));
      if (r && Math.abs(Number(r.value) - target) > step / 2 + 1e-9 && !followTimer) follow({ zoom: z });
    }
    if (!viewer || !text || text === shownInfo) return;
    let info;
    try {
      info = JSON.parse(text);
    } catch {
      return; // half-written: the next poll reads it whole
    }
    if (!info?.id || !info.layers) return;
    shownInfo = text;
    if (map) map.load(info);
    else map = window.ZSMap.open(viewer, info, { keys: true, onView: follow, onRest: tellServer });
  }
  ready.then(() => setInterval(poll, POLL_MS)).catch((err) => console.error("Zoom & Sharpen:", err));

  // ------------------------------------------------------------------ slider -> map
  function fromSlider(e) {
    if (writing || !map) return;
    const t = e.target;
    if (t !== range() && t !== number()) return;
    const z = Number(t.value);
    if (!(z >= Number(range()?.min ?? 1) && z <= Number(range()?.max ?? 8))) return; // typing "0." or "" in the box
    sliderUsed = performance.now();
    map.zoomTo(z, { immediately: t === range() }); // the thumb is followed at once, a typed number animates
  }
  // only "input": what the user drags, presses or types. A "change" may carry a value the server wrote into
  // the slider meanwhile, which the map must not follow.
  document.addEventListener("input", fromSlider, true);

  // ------------------------------------------------------------------ map -> slider
  let followTimer = 0, lastFollow = 0, wanted = null;
  function follow(view) {
    wanted = view.zoom;
    const wait = FOLLOW_MS - (performance.now() - lastFollow);
    clearTimeout(followTimer);
    followTimer = setTimeout(writeSlider, Math.max(0, wait));
  }
  function writeSlider() {
    followTimer = 0;
    const r = range(), n = number();
    if (!r || wanted === null) return;
    const busy = performance.now() - sliderUsed < HANDS_OFF_MS || document.activeElement === n;
    if (busy) { followTimer = setTimeout(writeSlider, HANDS_OFF_MS); return; }
    lastFollow = performance.now();
    const step = Number(r.step) || 0.05;
    const z = Math.min(Number(r.max), Math.max(Number(r.min), Math.round(wanted / step) * step));
    const text = z.toFixed(2);
    if (r.value === text && (!n || Number(n.value) === z)) return;
    writing = true; // Gradio's value follows; the server has no handler on the slider's events
    try {
      r.value = text;
      r.dispatchEvent(new Event("input", { bubbles: true }));
      if (n) {
        n.value = text;
        n.dispatchEvent(new Event("input", { bubbles: true }));
      }
    } finally {
      writing = false;
    }
  }

  // ------------------------------------------------------------------ map at rest -> the server's explanation
  let told = "";
  function tellServer(state) {
    const box = $("#map-rest textarea, #map-rest input"), go = $("#map-rest-go");
    const text = JSON.stringify(state);
    if (!box || !go || text === told) return;
    told = text;
    box.value = text;
    box.dispatchEvent(new Event("input", { bubbles: true }));
    setTimeout(() => go.click(), 0);
  }

  window.zsStudio = { get map() { return map; } }; // for tests and benchmarks
})();
