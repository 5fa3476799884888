// Zoom & Sharpen: the deep-zoom map (OpenSeadragon), on the studio page and on a static page.
//
//   const map = ZSMap.open(element, info, {onView, onRest, keys: true, progress: true});
//   map.load(otherInfo);  map.zoomTo(4);  map.setCurtain(0.3);  map.setEdgeGain(true, 0.6);  map.close();
//
// info: {id, width, height, scale, layers: {bicubic, mssnet, edge_gain} (DZI descriptor URLs),
//        view_url (optional), edge_gain_max, edge_gain_unit, open: {zoom, center: [x, y]}}
// Zoom is "screen px per source px" (the DZI image is the source enlarged `scale` times), centres are
// source px. Three stacked layers: bicubic, MSSNet clipped to the right of the curtain, edge gain on top.
// An MSSNet tile the server has not sharpened yet answers 503: the bicubic tile stays visible under it and
// the tile is asked for again after Retry-After. When the map rests (REST_MS), the server's own rendering
// of the view (`view_url`, the pyramid's Lanczos rule) is drawn over the map, pixel for pixel, until it
// moves again. State for scripts and tests is written on the element: data-zoom, data-center-x,
// data-center-y, data-pending, data-at-rest, data-curtain, data-clip-x, data-edge-gain, data-id,
// data-loading (tile requests in flight or queued), data-mssnet-tiles (MSSNet tiles arrived).
// A map the server no longer knows (404 for its descriptor, a tile or its view: the server restarted or let it
// expire) is reported once through options.onExpired({id, zoom, center}) with the place on screen; the caller
// gets a new map for the same image from the server and load()s it there; a new map whose info.reopens names
// the map on screen takes its place without a gap: the old layers stay until the new bicubic layer is in.
// Only OpenSeadragon's public API is used: options, methods, events and documented members.
(() => {
  "use strict";
  const REST_MS = 300; // no movement for this long: the map is at rest
  const RETRY_S = 1; // a 503 without Retry-After is asked again after this
  const GIVE_UP = 8; // errors other than 503 (a tile that is not there) are tried this often
  const TIMEOUT_MS = 25000; // a tile request unanswered by then fails (before OpenSeadragon's own 30 s on a job)
  const KEY_STEP = 1.25; // one + or - key
  const ZOOM_PER_SCROLL = 1.25; // one wheel notch, on the map and over the curtain
  const SWAP_WAIT_MS = 3000; // a reopened map's bicubic layer is waited for this long at most
  const OSD = () => window.OpenSeadragon;

  const MARKUP = `
<div class="zs-osd"></div>
<div class="zs-rest"><img class="zs-rest-bicubic" alt=""><img class="zs-rest-mssnet" alt=""></div>
<div class="zs-curtain" role="slider" tabindex="0" aria-label="Curtain between bicubic (left) and MSSNet (right)"
     aria-valuemin="0" aria-valuemax="100"></div>
<span class="zs-label zs-label-left">Bicubic</span><span class="zs-label zs-label-right">MSSNet</span>
<span class="zs-badge" aria-live="polite"></span>
<div class="zs-progress"></div>
<div class="zs-tools">
  <label><input type="checkbox" class="zs-gain-on"> Edge gain</label>
  <input type="range" class="zs-gain-opacity" min="0.1" max="1" step="0.05" value="0.7" aria-label="Edge-gain opacity">
  <span class="zs-colourbar"><span class="zs-bar-low"></span><i title="blue: MSSNet lowered edge strength, red: raised"></i><span class="zs-bar-high"></span></span>
  <span class="zs-bar-unit"></span>
</div>`;

  const isTyping = (t) => t?.closest?.("input, textarea, select, [contenteditable=true], [contenteditable='']");

  function open(container, info, options = {}) {
    const $ = OSD();
    container.classList.add("zs-map");
    container.innerHTML = MARKUP;
    const part = (cls) => container.querySelector("." + cls);
    const osdBox = part("zs-osd"), curtain = part("zs-curtain"), badge = part("zs-badge"), bar = part("zs-progress");
    const restBicubic = part("zs-rest-bicubic"), restMssnet = part("zs-rest-mssnet");
    const gainOn = part("zs-gain-on"), gainOpacity = part("zs-gain-opacity");
    if (!options.progress) bar.remove();

    const viewer = $({
      element: osdBox,
      drawer: "canvas", // software WebGL draws a few frames per second; the 2-D canvas keeps up
      showNavigationControl: false, // no stock buttons (their images would come from a CDN-like prefixUrl)
      prefixUrl: "",
      showNavigator: true,
      navigatorPosition: "BOTTOM_RIGHT",
      navigatorSizeRatio: 0.18,
      navigatorAutoFade: false,
      animationTime: 0.35,
      springStiffness: 9,
      zoomPerScroll: ZOOM_PER_SCROLL,
      visibilityRatio: 0.5,
      constrainDuringPan: true,
      imageLoaderLimit: 6, // the browser never cancels a started request: queue the rest here
      maxImageCacheCount: 600,
      // level k (the source enlarged 2^k x) for zooms in (2^(k-1), 2^k]: the pyramid's own rule, not one level finer
      minPixelRatio: 0.501,
      immediateRender: false,
      blendTime: 0,
      gestureSettingsMouse: { clickToZoom: false, dblClickToZoom: true },
    });

    // the exact view lies on the drawn canvas, under OpenSeadragon's navigator
    viewer.canvas.appendChild(part("zs-rest"));

    let data = null; // the current info
    let items = null; // {bicubic, mssnet, edge_gain}: TiledImages, once opened
    let split = 0.5; // the curtain, as a fraction of the width
    let gain = { visible: false, opacity: Number(gainOpacity.value) };
    const pending = new Map(); // MSSNet tiles the server is still sharpening: URL -> {tile, tries, timer, unloaded}
    let restTimer = 0, rest = null; // rest: the exact view on screen or being fetched ({key, abort})
    let lastView = "";
    let loaded = 0; // tiles arrived since the map last had nothing to load
    let mssnetTiles = 0; // MSSNet tiles arrived since the image opened
    let closed = false, opening = 0; // opening: the latest load() (an older one that answers late opens nothing)

    const set = (name, value) => { if (container.dataset[name] !== String(value)) container.dataset[name] = value; };

    // ----------------------------------------------------------------- geometry
    const base = () => items?.bicubic;
    const scaleOf = () => base().source.dimensions.x / data.width; // DZI px per source px (8)
    const zoom = () => (base() ? base().viewportToImageZoom(viewer.viewport.getZoom(true)) * scaleOf() : NaN);
    function center() {
      const p = base().viewportToImageCoordinates(viewer.viewport.getCenter(true));
      return [p.x / scaleOf(), p.y / scaleOf()];
    }
    const size = () => ({ w: osdBox.clientWidth, h: osdBox.clientHeight });
    // where the image's top-left corner is, in CSS px of the element
    const origin = () => base().imageToViewerElementCoordinates(new $.Point(0, 0));
    // the part of the element the image covers (CSS px)
    function visible() {
      const o = origin(), z = zoom(), { w, h } = size();
      const x0 = Math.max(0, o.x), y0 = Math.max(0, o.y);
      const x1 = Math.min(w, o.x + data.width * z), y1 = Math.min(h, o.y + data.height * z);
      return { x0, y0, x1, y1, z, o };
    }

    function state() {
      const v = visible();
      const w = Math.max(0, v.x1 - v.x0), h = Math.max(0, v.y1 - v.y0);
      return { id: data.id, zoom: round(v.z, 4), center_x: round((v.x0 + w / 2 - v.o.x) / v.z, 2),
               center_y: round((v.y0 + h / 2 - v.o.y) / v.z, 2), width: Math.round(w), height: Math.round(h) };
    }
    const round = (x, digits) => Math.round(x * 10 ** digits) / 10 ** digits;

    function zoomTo(z, { immediately = false, about = null } = {}) {
      if (!base() || !(z > 0)) return;
      const vz = base().imageToViewportZoom(z / scaleOf());
      const ref = about ? base().imageToViewportCoordinates(about[0] * scaleOf(), about[1] * scaleOf()) : null;
      viewer.viewport.zoomTo(vz, ref, immediately);
      viewer.viewport.applyConstraints(immediately);
    }
    function panTo([x, y], immediately = false) {
      if (base()) viewer.viewport.panTo(base().imageToViewportCoordinates(x * scaleOf(), y * scaleOf()), immediately);
    }

    // ----------------------------------------------------------------- curtain and layers
    function applyCurtain() {
      const { w } = size();
      const px = split * w;
      curtain.style.left = `${px}px`;
      curtain.setAttribute("aria-valuenow", String(Math.round(split * 100)));
      restMssnet.style.clipPath = `inset(0 0 0 ${Math.max(0, px - (parseFloat(restMssnet.style.left) || 0))}px)`;
      set("curtain", split.toFixed(3));
      if (!items) return;
      const dims = items.mssnet.source.dimensions;
      const x = Math.min(dims.x, Math.max(0, base().viewerElementToImageCoordinates(new $.Point(px, 0)).x));
      const old = items.mssnet.getClip();
      if (!old || Math.abs(old.x - x) > 1e-3) items.mssnet.setClip(new $.Rect(x, 0, dims.x - x, dims.y));
      set("clipX", (x / scaleOf()).toFixed(2));
    }
    function setCurtain(fraction) { split = Math.min(1, Math.max(0, fraction)); applyCurtain(); }
    function setEdgeGain(visibleNow, opacity = gain.opacity) {
      gain = { visible: !!visibleNow, opacity: Number(opacity) };
      gainOn.checked = gain.visible;
      gainOpacity.value = String(gain.opacity);
      if (items) items.edge_gain.setOpacity(gain.visible ? gain.opacity : 0);
      set("edgeGain", gain.visible ? gain.opacity.toFixed(2) : "0");
      hideRest(); // the exact view has no edge-gain layer: with the layer on, the map itself is shown
      scheduleRest();
    }

    let dragging = false;
    curtain.addEventListener("pointerdown", (e) => {
      dragging = true;
      curtain.setPointerCapture(e.pointerId);
      e.preventDefault();
      e.stopPropagation();
    });
    curtain.addEventListener("pointermove", (e) => {
      if (!dragging) return;
      const r = container.getBoundingClientRect();
      setCurtain((e.clientX - r.left) / r.width);
    });
    for (const type of ["pointerup", "pointercancel"]) curtain.addEventListener(type, () => { dragging = false; });
    curtain.addEventListener("keydown", (e) => {
      const step = { ArrowLeft: -0.05, ArrowRight: 0.05 }[e.key];
      if (step === undefined) return;
      e.preventDefault();
      e.stopPropagation();
      setCurtain(split + step);
    });
    gainOn.addEventListener("change", () => setEdgeGain(gainOn.checked));
    gainOpacity.addEventListener("input", () => setEdgeGain(true, gainOpacity.value));
    // the map below never sees these pointers; the wheel over the curtain zooms about the pointer as it does
    // everywhere else on the map (the curtain sits where the cursor usually is: the middle)
    part("zs-tools").addEventListener("wheel", (e) => e.stopPropagation());
    curtain.addEventListener("wheel", (e) => {
      e.preventDefault();
      e.stopPropagation();
      if (!base() || e.deltaY === 0) return;
      const r = osdBox.getBoundingClientRect();
      const about = viewer.viewport.pointFromPixel(new $.Point(e.clientX - r.left, e.clientY - r.top), true);
      viewer.viewport.zoomBy(e.deltaY < 0 ? ZOOM_PER_SCROLL : 1 / ZOOM_PER_SCROLL, about);
      viewer.viewport.applyConstraints();
    }, { passive: false });

    // ----------------------------------------------------------------- tile requests
    // Every tile comes through Source, OpenSeadragon's DZI tile source with its documented download hooks
    // overridden: an MSSNet tile still being sharpened (503) finishes at once as a blank stand-in (no slot held).
    let requests = 0; // tile requests in flight (OpenSeadragon empties its queue on every drawn frame)
    class Source extends $.DziTileSource {
      constructor(options, sharpened, mapId) {
        super(options);
        Object.assign(this, { sharpened, mapId, floor: super.getClosestLevel() }); // floor: OSD's last-resort level
        if (sharpened) this.minLevel = this.floor; // TileSource#minLevel, a documented member
      }
      // OpenSeadragon draws the "closest level" (read from here once) in every gap of a layer. For MSSNet it is
      // level 0, one pixel, which never exists: gaps show the bicubic layer; minLevel bounds the fallback instead.
      getClosestLevel() { return this.sharpened ? 0 : super.getClosestLevel(); }
      tileExists(level, x, y) { return (level > 0 || !this.sharpened) && super.tileExists(level, x, y); }
      downloadTileAbort(job) { job.userData.dropped = true; job.userData.stop?.abort(); }
      async downloadTileStart(job) { // job: the documented context (its userData is ours)
        const stop = (job.userData.stop = new AbortController()), timer = setTimeout(() => stop.abort(), TIMEOUT_MS);
        requests += 1;
        const answer = await fetch(job.src, { signal: stop.signal }).catch(() => null); // null: no answer in time
        const blob = answer?.ok ? await answer.blob().catch(() => null) : null;
        requests -= 1;
        clearTimeout(timer);
        if (job.userData.dropped) return; // OpenSeadragon aborted the job and failed it itself
        if (blob?.size) { job.finish(blob, null, "rasterBlob"); return; }
        const status = answer?.status ?? 0, tries = (pending.get(job.src)?.tries || 0) + (status === 503 ? 0 : 1);
        if (status === 404) expired(this.mapId);
        if (!this.sharpened || tries >= GIVE_UP) { job.fail(`HTTP ${status}`, null); return; }
        const blank = Object.assign(document.createElement("canvas"), { width: 1, height: 1 }); // transparent
        const retryAfter = Number(answer?.headers.get("Retry-After")) || RETRY_S;
        job.finish(blank.getContext("2d"), { status, retryAfter, tries }, "context2d"); // "tile-loaded": tileRequest
      }
    }
    const sourceOf = (url, sharpened, mapId) => fetch(url).then(async (answer) => { // the layer's DZI descriptor
      if (answer.status === 404) expired(mapId);
      if (!answer.ok) throw new Error(`HTTP ${answer.status} for ${url}`);
      return new Source(Source.prototype.configure($.parseXml(await answer.text()), url), sharpened, mapId);
    });
    let reported = null; // the id last reported expired
    function expired(mapId) { // once per map, and only for the one shown
      if (!data || mapId !== data.id || reported === mapId) return;
      reported = mapId;
      const where = items ? { zoom: zoom(), center: center() } : (data.open ?? {});
      options.onExpired?.({ id: mapId, zoom: where.zoom ?? null, center: where.center ?? null });
    }

    // ----------------------------------------------------------------- MSSNet tiles still being sharpened
    // While tiles are pending, the MSSNet layer draws only the level the view needs: where a tile of it is
    // missing, the bicubic layer below shows at full resolution (OpenSeadragon would otherwise stretch a
    // coarser sharpened level over the gap, and the curtain would compare bicubic with a blurred MSSNet).
    function limitFallback() {
      if (!items) return;
      const layer = items.mssnet, src = layer.source, iz = zoom() / scaleOf(); // screen px per DZI px
      const coarser = Math.max(0, Math.ceil(Math.log2(0.501 / iz) - 1e-9)); // levels below the top that suffice
      const min = pending.size ? Math.max(0, src.maxLevel - coarser) : src.floor; // needed level, or OSD's own
      if (src.minLevel === min) return;
      src.minLevel = min; // the layer's own Source (see above)
      layer.setClip(layer.getClip()); // a fresh look at its tiles
    }
    function showPending() {
      limitFallback();
      set("pending", pending.size);
      badge.textContent = pending.size ? `MSSNet: ${pending.size} tile${pending.size > 1 ? "s" : ""} sharpening` : "";
      if (pending.size === 0 && rest && rest.waiting) fetchRest(); // the view it waits for may be there now
    }
    viewer.addHandler("tile-loaded", (e) => {
      const after = e.tileRequest?.retryAfter, tile = e.tile, key = tile.getUrl();
      if (!after) loaded += 1;
      if (!items || e.tiledImage !== items.mssnet) return;
      clearTimeout(pending.get(key)?.timer);
      if (!after) { set("mssnetTiles", ++mssnetTiles); if (pending.delete(key)) showPending(); return; }
      const entry = { tile, tries: e.tileRequest.tries, unloaded: 0 }; // a blank stand-in, until Retry-After
      entry.timer = setTimeout(() => {
        entry.unloaded = $.now();
        tile.unload(true); // Tile#unload: no longer loaded, its data erased
        e.tiledImage.setClip(e.tiledImage.getClip()); // a fresh look at its tiles: asked for if still wanted
      }, after * 1000);
      pending.set(key, entry);
      showPending();
    });
    viewer.addHandler("tile-load-failed", (e) => // an MSSNet tile given up after GIVE_UP errors: not pending
      e.tiledImage === items?.mssnet && pending.delete(e.tile.getUrl()) && showPending());
    const sweep = setInterval(() => { // an unloaded stand-in OSD no longer visits (Tile#lastTouchTime): off screen
      const now = $.now(), before = pending.size, gone = (p) => now - Math.max(p.unloaded, p.tile.lastTouchTime) > 1000;
      pending.forEach((p, key) => p.unloaded && gone(p) && pending.delete(key));
      if (pending.size !== before) showPending();
      showProgress();
    }, 250);
    function clearPending() {
      for (const entry of pending.values()) clearTimeout(entry.timer);
      pending.clear();
      showPending();
    }
    function showProgress() {
      set("loading", requests);
      if (!options.progress) return;
      if (requests === 0) { loaded = 0; bar.style.width = "0"; return; }
      bar.style.width = `${(100 * loaded) / (loaded + requests)}%`;
    }

    // ----------------------------------------------------------------- the exact view at rest
    function hideRest() {
      if (rest?.abort) rest.abort.abort();
      rest = null;
      set("atRest", "0");
    }
    // the element's top-left corner in device px of the page: fractional wherever the layout above it is
    function corner() {
      const r = osdBox.getBoundingClientRect(), dpr = window.devicePixelRatio || 1;
      return { x: r.left * dpr, y: r.top * dpr };
    }
    function restKey() {
      const v = visible(), dpr = window.devicePixelRatio || 1, c = corner();
      return [data.id, (v.z * dpr).toFixed(9), (c.x + v.o.x * dpr).toFixed(3), (c.y + v.o.y * dpr).toFixed(3),
              size().w, size().h, dpr].join(" ");
    }
    function scheduleRest() {
      clearTimeout(restTimer);
      restTimer = setTimeout(atRest, REST_MS);
    }
    function atRest() {
      if (!items || closed) return;
      if (viewer.isAnimating?.() || dragging) { scheduleRest(); return; }
      const dpr = window.devicePixelRatio || 1, z = zoom() * dpr;
      // below zoom 1 the map is the image itself; the exact view has no edge-gain layer
      const exact = data.view_url && !gain.visible && z >= 1 - 1e-9 && z <= 8 + 1e-9;
      if (exact) { // the image's corner on a whole device pixel of the page: the exact view needs no resampling
        const o = origin(), c = corner(), px = c.x + o.x * dpr, py = c.y + o.y * dpr;
        const dx = px - Math.round(px), dy = py - Math.round(py);
        if (Math.abs(dx) > 1e-6 || Math.abs(dy) > 1e-6) {
          viewer.viewport.panBy(viewer.viewport.deltaPointsFromPixels(new $.Point(dx / dpr, dy / dpr), true), true);
          viewer.forceRedraw();
        }
      }
      options.onRest?.(state()); // each time the map comes to rest (the caller tells repeats apart)
      if (!exact || (rest && rest.key === restKey())) return;
      hideRest();
      rest = { key: restKey() };
      fetchRest();
    }
    function viewRequest(layer) {
      // in whole device px of the page: the image's corner and the part of it the element shows
      const v = visible(), dpr = window.devicePixelRatio || 1, c = corner(), eps = 1e-6;
      const ox = Math.round(c.x + v.o.x * dpr), oy = Math.round(c.y + v.o.y * dpr);
      const x0 = Math.ceil(c.x + v.x0 * dpr - eps), y0 = Math.ceil(c.y + v.y0 * dpr - eps);
      const w = Math.floor(c.x + v.x1 * dpr + eps) - x0, h = Math.floor(c.y + v.y1 * dpr + eps) - y0;
      const url = new URL(data.view_url, location.href);
      for (const [k, val] of Object.entries({ layer, zoom: v.z * dpr, u0: x0 - ox, v0: y0 - oy, w, h })) {
        url.searchParams.set(k, String(val));
      }
      // where it lies in the element (CSS px)
      return { url: url.href, x0: (x0 - c.x) / dpr, y0: (y0 - c.y) / dpr, w: w / dpr, h: h / dpr, ok: w > 0 && h > 0 };
    }
    async function fetchRest() {
      const mine = rest;
      if (!mine) return;
      mine.waiting = false;
      mine.abort = new AbortController();
      const requests = [viewRequest("bicubic"), viewRequest("mssnet")];
      if (!requests[0].ok) return;
      try {
        const answers = await Promise.all(requests.map((r) => fetch(r.url, { signal: mine.abort.signal })));
        if (rest !== mine) return;
        if (answers.some((a) => a.status === 404)) { expired(data.id); return; }
        const busy = answers.find((a) => a.status === 503);
        if (busy) { // tiles under the view are not sharpened yet: again when they are, or after Retry-After
          mine.waiting = true;
          const after = Number(busy.headers.get("Retry-After")) || RETRY_S;
          setTimeout(() => { if (rest === mine && mine.waiting) fetchRest(); }, Math.max(after, 1) * 1000);
          return;
        }
        if (!answers.every((a) => a.ok)) return;
        const blobs = await Promise.all(answers.map((a) => a.blob()));
        const urls = blobs.map((b) => URL.createObjectURL(b));
        await Promise.all([restBicubic, restMssnet].map((img, i) => {
          img.src = urls[i];
          return img.decode();
        }));
        urls.forEach((u) => URL.revokeObjectURL(u));
        if (rest !== mine || restKey() !== mine.key) return;
        const r = requests[0];
        for (const img of [restBicubic, restMssnet]) {
          Object.assign(img.style, { left: `${r.x0}px`, top: `${r.y0}px`, width: `${r.w}px`, height: `${r.h}px` });
        }
        mine.shown = { urls: requests.map((q) => q.url), x: r.x0, y: r.y0, width: r.w, height: r.h };
        applyCurtain();
        set("atRest", "1");
        options.onExact?.(requests.map((q) => q.url));
      } catch (err) {
        if (err?.name !== "AbortError") console.warn("Zoom & Sharpen: exact view failed", err);
      }
    }

    // ----------------------------------------------------------------- each drawn frame
    // the right side is bicubic + α × MSSNet's correction, α of the pyramid level in view
    function labelStrength(z) {
      const alphas = data.strengths || [], k = Math.min(alphas.length, Math.ceil(Math.log2(z) - 1e-9));
      const text = k >= 1 ? `MSSNet at strength α ${Number(alphas[k - 1]).toFixed(2)}` : "MSSNet";
      const label = part("zs-label-right");
      if (label.textContent !== text) label.textContent = text;
    }
    function onViewChange() {
      if (!items) return;
      applyCurtain();
      if (pending.size) limitFallback();
      const z = zoom(), [cx, cy] = center();
      const key = `${z.toFixed(5)} ${cx.toFixed(3)} ${cy.toFixed(3)}`;
      if (key !== lastView) {
        lastView = key;
        labelStrength(z);
        set("zoom", z.toFixed(4));
        set("centerX", cx.toFixed(2));
        set("centerY", cy.toFixed(2));
        options.onView?.({ id: data.id, zoom: z, center: [cx, cy] });
      }
      if (rest && restKey() !== rest.key) hideRest(); // moved: the map itself again, at once
      scheduleRest();
    }
    viewer.addHandler("viewport-change", onViewChange);
    viewer.addHandler("resize", () => { hideRest(); scheduleRest(); });

    // ----------------------------------------------------------------- keys: + - and 1-8
    function onKey(e) {
      if (closed || !items || e.ctrlKey || e.metaKey || e.altKey || isTyping(e.target)) return;
      if (options.keys === "inside" && !container.contains(document.activeElement)) return;
      const z = zoom();
      const keys = { "+": z * KEY_STEP, "=": z * KEY_STEP, "-": z / KEY_STEP, "_": z / KEY_STEP };
      for (let n = 1; n <= 8; n++) keys[String(n)] = n;
      if (!(e.key in keys)) return;
      e.preventDefault();
      e.stopPropagation(); // OpenSeadragon's own + and - would zoom a second time
      zoomTo(Math.min(8, Math.max(1, keys[e.key])));
    }
    if (options.keys) document.addEventListener("keydown", onKey, true);

    // ----------------------------------------------------------------- opening an image
    function load(info) {
      if (items && data && info.reopens === data.id) { swap(info); return; }
      data = info;
      items = null;
      forgetView();
      part("zs-bar-low").textContent = `−${fmt(info.edge_gain_max)}`;
      part("zs-bar-high").textContent = `+${fmt(info.edge_gain_max)}`;
      part("zs-bar-unit").textContent = `blue: MSSNet lowered edge strength, red: raised · ${info.edge_gain_unit || ""}`;
      const mine = ++opening;
      layerSources(info).then(
        ([b, m, g]) => mine === opening && !closed && viewer.open([{ tileSource: b }, { tileSource: m },
                                                                   { tileSource: g, opacity: 0 }]),
        (err) => console.warn("Zoom & Sharpen: the map cannot open", err.message));
    }
    // the three layers' tile sources, in drawing order: bicubic, MSSNet, edge gain
    const layerSources = ({ layers: L, id }) => Promise.all([
      sourceOf(L.bicubic, false, id), sourceOf(L.mssnet, true, id), sourceOf(L.edge_gain, false, id)]);
    function forgetView() { // what belonged to the map shown before: the exact view, pending tiles, counts
      hideRest();
      clearPending();
      lastView = "";
      set("mssnetTiles", (mssnetTiles = 0));
    }
    function showLayers() { // the layers in items are the map's now: edge gain, curtain, view state, then its id
      setEdgeGain(gain.visible, gain.opacity);
      applyCurtain();
      onViewChange();
      set("id", data.id); // last: data-id names an image whose map is open
    }
    // The server's new map of the image on screen (it lost the old one): the new bicubic layer opens under the
    // old layers, which stay until it has every tile of the view; then the new MSSNet and edge-gain layers take
    // the old ones' places in one step. No hole: at most bicubic, where the new MSSNet tiles are still due.
    function swap(info) {
      const mine = ++opening, current = () => mine === opening && !closed;
      const add = (tileSource, index, opacity) => new Promise((ok, fail) => viewer.addTiledImage({
        tileSource, index, opacity, success: (e) => ok(e.item), error: (e) => fail(new Error(e.message)) }));
      const fullyLoaded = (item) => new Promise((ok) => {
        if (item.getFullyLoaded()) { ok(); return; }
        const done = () => { item.removeHandler("fully-loaded-change", on); ok(); };
        const on = (e) => e.fullyLoaded && done();
        item.addHandler("fully-loaded-change", on);
        setTimeout(done, SWAP_WAIT_MS);
      });
      const drop = (...layers) => layers.forEach((item) => viewer.world.removeItem(item));
      layerSources(info).then(async ([b, m, g]) => {
        const bicubic = await add(b, 0, 1);
        await fullyLoaded(bicubic);
        if (!current()) { drop(bicubic); return; }
        const top = viewer.world.getItemCount();
        const mssnet = await add(m, top, 0), edgeGain = await add(g, top + 1, 0);
        if (!current()) { drop(bicubic, mssnet, edgeGain); return; }
        drop(items.bicubic, items.mssnet, items.edge_gain);
        data = info;
        items = { bicubic, mssnet, edge_gain: edgeGain };
        forgetView();
        mssnet.setOpacity(1);
        showLayers();
      }).catch((err) => console.warn("Zoom & Sharpen: the map cannot reopen", err.message));
    }
    const fmt = (x) => (x === undefined || x === null ? "?" : Number(x).toPrecision(3).replace(/\.?0+$/, ""));
    viewer.addHandler("open", () => {
      if (viewer.world.getItemCount() < 3) return;
      const w = viewer.world;
      items = { bicubic: w.getItemAt(0), mssnet: w.getItemAt(1), edge_gain: w.getItemAt(2) };
      const vp = viewer.viewport;
      vp.maxZoomLevel = base().imageToViewportZoom(1); // 8 screen px per source px: the pyramid's top
      vp.minZoomLevel = Math.min(vp.getHomeZoom() * 0.9, base().imageToViewportZoom(1 / scaleOf()));
      if (data.open) { // where the server says; else the whole image
        zoomTo(data.open.zoom || 1, { immediately: true });
        panTo(data.open.center || [data.width / 2, data.height / 2], true);
      } else {
        vp.goHome(true);
      }
      vp.applyConstraints(true);
      showLayers(); // at its opening zoom and centre
      options.onOpen?.(handle);
    });
    viewer.addHandler("open-failed", (e) => console.warn("Zoom & Sharpen: the map cannot open", e.message));

    function close() {
      closed = true;
      clearTimeout(restTimer);
      clearInterval(sweep);
      clearPending();
      hideRest();
      document.removeEventListener("keydown", onKey, true);
      viewer.destroy();
      container.innerHTML = "";
    }

    const handle = {
      viewer, element: container, load, close, zoomTo, panTo, setCurtain, setEdgeGain, state,
      zoom, center, get info() { return data; }, get pending() { return pending.size; },
      // the exact view on screen: {urls: [bicubic, mssnet], x, y, width, height (CSS px in the element)} or null
      get exact() { return rest?.shown ?? null; },
    };
    if (info) load(info);
    return handle;
  }

  window.ZSMap = { open, REST_MS };
})();
