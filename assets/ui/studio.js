// Zoom & Sharpen: the studio page's glue around the deep-zoom map (loaded in the page head by app.launch_options).
//
// The map is a gr.HTML component (#viewer-box) whose value is the map JSON the server writes (the image's id,
// size, layer URLs, where to open); its js_on_load calls zsStudio.mount(element, props, watch, trigger). Then
// - the map (assets/ui/map.js, served with OpenSeadragon under /zs/ui/) opens in #viewer from that value and
//   follows each new one (a new image or model);
// - the zoom slider (#zoom: its range and number inputs) and the map follow each other, in the browser only:
//   the slider moves the map, and the wheel, pinch and keys move the slider;
// - when the map comes to rest, the region on screen goes into the component's value as "rest" and an input
//   event tells the server, which explains what is visible (only when that region changed);
// - when the server no longer knows the map (restarted, or it expired), the map's place goes into the value as
//   "expired" and an input event asks the server for a new map of the same image there;
// - the answer (#answer) carries data-state: "pending" while the map moves or its view at rest is being
//   explained ("Updating for ×6…" above it), "fresh" once its text is about the zoom at rest ("At ×6, …").
(() => {
  "use strict";
  const UI = window.ZS_UI_PREFIX || "/zs/ui/";
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

  // ------------------------------------------------------------------ the map follows the component's value
  function mount(element, props, watch, trigger) {
    const viewer = element.querySelector("#viewer");
    if (map && !map.element.isConnected) { map.close(); map = null; shownInfo = ""; } // Gradio drew it anew
    let told = "";
    function show() {
      const text = typeof props.value === "string" ? props.value.trim() : "";
      if (!viewer || !text || text === shownInfo) return;
      let info;
      try {
        info = JSON.parse(text);
      } catch {
        return;
      }
      if (!info?.id || !info.layers || info.rest || info.expired) return; // the page wrote it: nothing new to show
      shownInfo = text;
      if (map && map.element === viewer) map.load(info);
      else map = window.ZSMap.open(viewer, info, { keys: true, onView: moved, onRest: tell, onOpen: opened, onExpired });
    }
    function tell(state) { // the map at rest -> the server's explanation
      atRest = state.zoom;
      restView = lastView;
      answerState();
      const text = JSON.stringify(state);
      if (text === told || !shownInfo) return;
      told = text;
      props.value = JSON.stringify({ ...JSON.parse(shownInfo), rest: state });
      trigger("input");
    }
    function onExpired(where) { // the server lost this map: a new one of the same image, where the map is now
      if (!shownInfo || JSON.parse(shownInfo).id !== where.id) return;
      props.value = JSON.stringify({ ...JSON.parse(shownInfo), expired: where });
      trigger("input");
    }
    ready.then(() => { show(); watch("value", show); }).catch((err) => console.error("Zoom & Sharpen:", err));
    const answer = $("#answer"); // a new text from the server: is it about the view at rest?
    if (answer) new MutationObserver(() => answerState()).observe(answer, { childList: true, subtree: true,
      characterData: true });
  }
  const opened = (m) => { follow({ zoom: m.zoom() }); answerState(m.zoom()); }; // the slider shows it too
  let lastView = null, restView = null; // the map's view now, and when it came to rest
  function moved(view) {
    lastView = view;
    follow(view);
    const r = restView, still = r && Math.abs(view.zoom - r.zoom) < 1e-4 && // the map aligning itself to the
      Math.hypot(view.center[0] - r.center[0], view.center[1] - r.center[1]) < 0.5; // pixels is no move
    if (still) return;
    atRest = restView = null;
    answerState(view.zoom);
  }

  // ------------------------------------------------------------------ is the answer about the view at rest?
  let atRest = null; // the zoom of the view at rest, null while the map moves
  const shown = (z) => `×${Number(z).toFixed(2).replace(/\.?0+$/, "")}`; // as the answer and the slider write it
  function answerState(zoom = atRest) {
    const box = $("#answer");
    if (!box) return;
    const about = /\bAt ×([\d.]+)/.exec(box.innerText || "")?.[1];
    const fresh = atRest !== null && about !== undefined && shown(about) === shown(atRest);
    box.dataset.state = fresh ? "fresh" : "pending";
    if (!fresh && zoom !== null && zoom !== undefined) box.dataset.pendingText = `Updating for ${shown(zoom)}…`;
  }

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

  window.zsStudio = { mount, get map() { return map; } }; // mount: for the component; map: tests, benchmarks
})();
