"""A class on one server: N pages open a photograph each at once and fetch one screenful of the map at ×2.

    python bench/classroom.py                     # 24 pages, bundled quality weights, a 900×520 map
    python bench/classroom.py --pages 30 --screen 1200 600 --per-page

The app runs as its own process (``python app.py``) on a loopback port, so its memory can be read from
/proc. The unit is one MSSNet pass of the same weights on 384², timed in this process before the server
starts; a tile's pass (256² + 32 px margins = 320²) is given in those passes too. After one page nobody times
(the server's first passes compile its graphs), the runs below, each page a thread that, at one common start:

1. asks ``/deep_zoom`` to open its image as a page does (the file to Gradio's upload route, then the event through
   Gradio's HTTP API; ``--gradio-client``: a ``gradio_client.Client`` per page instead, made before the start, at
   about 0.1 s of CPU per call on this machine's cores); a page turned away ("queue is full") counts as such;
2. fetches every MSSNet tile of a ``--screen`` map at ×2 around the image's middle as a browser does: six
   connections, nearest the middle first, a 503 asked again after its Retry-After (1 s at most); any other
   answer (404: the map was lost) counts the tile as lost.

Times per page, from the common start, in passes: ``/deep_zoom``'s answer, the first MSSNet tile, the whole
screenful (median, p90, max); the class served is the last page's screenful, set against the sum of every
screenful's tile passes (distinct pyramid tiles × one tile pass). Runs: one page alone on a new photograph (the
reference), ``--pages`` pages each on a photograph of its own (the examples shifted, mirrored and cropped, so no
two are the same image), ``--pages`` pages on one new photograph (a photograph handed round), and the same pages
opening it again without fetching tiles (what opening alone costs), and the same pages opening it on
bench/echo_app.py's do-nothing ``/deep_zoom`` (Gradio's floor: the upload and the queue, no work). The server's
RSS is its peak over each run; the CPU seconds the server used during each run are set beside those this
benchmark's own clients used (they share the server's cores here, where a class's browsers run on machines of
their own).

Targets: no page turned away and 0 tiles lost; p90 of the first MSSNet tile ≤ ``--pages`` passes; the class's
screenfuls within 1.3× the sum of their tile passes; RSS < 2 GB; on one photograph the class within 1.5× one
page's screenful. Requests go to 127.0.0.1 only, each run ends by ``--deadline`` seconds.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from deepzoom import pyramid_tiles, screen_tiles, unit_passes  # bench/deepzoom.py
from load import MemoryWatch, fetch, start_process, stop_server  # bench/load.py
from serving import free_port  # bench/serving.py
from timing import cpu_kind  # bench/timing.py

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "assets" / "examples"
CONNECTIONS = 6  # a browser's limit per host


def photographs(n: int, folder: Path, first: int = 0) -> list[Path]:
    """``n`` different images from the examples (each shifted, mirrored and cropped its own way), as PNG files."""
    import cv2

    sources = sorted(EXAMPLES.glob("*.png"))
    out = []
    for k in range(first, first + n):
        image = cv2.imread(str(sources[k % len(sources)]))
        turn = k // len(sources)
        if turn % 2:
            image = image[:, ::-1]
        cut = 8 * (turn // 2 + 1)  # a different crop on every pass over the examples
        image = image[cut:, cut:]
        path = folder / f"photo_{k:02d}.png"
        cv2.imwrite(str(path), image)
        out.append(path)
    return out


def fetch_tile(url: str, end: float) -> tuple[float | None, int]:
    """GET until 200, asking again after each 503's Retry-After (1 s at most) -> (perf_counter at 200 or None
    for a lost tile, 503s)."""
    retries = 0
    while time.monotonic() < end:
        status, _, retry = fetch(url, timeout=max(1.0, end - time.monotonic()))
        if status == 200:
            return time.perf_counter(), retries
        if status != 503:
            return None, retries
        retries += 1
        time.sleep(min(retry or 1.0, 1.0))
    return None, retries


def open_http(base: str, image: Path) -> dict:
    """``/deep_zoom`` of ``image`` as a page does it, with nothing but HTTP: the file to Gradio's upload route, then
    the event through Gradio's HTTP API (``/gradio_api/call/deep_zoom``), its answer read from the event stream ->
    the map description; raises where the server answers an error."""
    boundary = uuid.uuid4().hex
    head = (f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{image.name}"\r\n'
            "Content-Type: image/png\r\n\r\n")
    body = head.encode() + image.read_bytes() + f"\r\n--{boundary}--\r\n".encode()
    upload = urllib.request.Request(f"{base}/gradio_api/upload", body,
                                    {"Content-Type": f"multipart/form-data; boundary={boundary}"})
    with urllib.request.urlopen(upload, timeout=120) as answer:
        path = json.load(answer)[0]
    call = json.dumps({"data": [{"path": path, "meta": {"_type": "gradio.FileData"}}, None]}).encode()
    join = urllib.request.Request(f"{base}/gradio_api/call/deep_zoom", call, {"Content-Type": "application/json"})
    with urllib.request.urlopen(join, timeout=120) as answer:
        event = json.load(answer)["event_id"]
    kind = None
    with urllib.request.urlopen(f"{base}/gradio_api/call/deep_zoom/{event}", timeout=600) as stream:
        for line in map(bytes.decode, stream):
            if line.startswith("event:"):
                kind = line[6:].strip()
            elif line.startswith("data:") and kind in ("complete", "error"):
                if kind == "error":
                    raise RuntimeError(f"/deep_zoom: {line[5:].strip()}")
                return json.loads(line[5:])[0]
    raise RuntimeError("/deep_zoom: the event stream ended without an answer")


def open_client(client, image: Path) -> dict:
    """``/deep_zoom`` of ``image`` through ``client`` (a ``gradio_client.Client``) -> the map description."""
    from gradio_client import handle_file

    return client.predict(image=handle_file(str(image)), model=None, api_name="/deep_zoom")


def visit(base: str, client, image: Path, screen: tuple[int, int] | None, start: threading.Barrier, end: float
          ) -> dict:
    """One page: open ``image`` at the common start (``client``: a ``gradio_client.Client``, None: plain HTTP), then
    fetch a ``screen`` at ×2 (None: nothing) -> times (s from the start)."""
    start.wait()
    t0 = time.perf_counter()
    try:
        info = open_http(base, image) if client is None else open_client(client, image)
    except Exception as exc:  # noqa: BLE001 (the queue turning a page away is an outcome to count)
        return {"turned_away": f"{type(exc).__name__}: {exc}"[:120]}
    opened = time.perf_counter() - t0
    if screen is None:
        return {"open": opened, "first": None, "screen": None, "tiles": 0, "pyramid_tiles": 0, "lost": 0, "retries": 0}
    middle = (info["width"] / 2, info["height"] / 2)
    tiles = screen_tiles(info, 2, middle, screen)
    level = tiles[0][0]
    tile = info["tile_size"]

    def distance(t: tuple) -> float:
        return math.hypot((t[1] + 0.5) * tile - middle[0] * 2, (t[2] + 0.5) * tile - middle[1] * 2)

    urls = [f"{base}/dz/{info['id']}/mssnet_files/{level}/{c}_{r}.png" for _, c, r in sorted(tiles, key=distance)]
    with ThreadPoolExecutor(CONNECTIONS) as pool:
        answers = list(pool.map(lambda u: fetch_tile(u, end), urls))
    done = [t for t, _ in answers if t is not None]
    return {"open": opened, "first": min(done) - t0 if done else None,
            "screen": max(done) - t0 if len(done) == len(urls) else None, "tiles": len(urls),
            "pyramid_tiles": pyramid_tiles(tiles, info["overlap"], (info["width"] * 2, info["height"] * 2)),
            "lost": len(urls) - len(done), "retries": sum(n for _, n in answers)}


def run_class(base: str, images: list[Path], screen: tuple[int, int] | None, deadline: float, memory: MemoryWatch,
              gradio_client: bool = False) -> dict:
    """Every page at once -> {"pages": [visit results], "peak_mib": server RSS peak, "server_cpu", "clients_cpu":
    CPU seconds of the server and of this process during the run}. ``gradio_client``: pages open their image with a
    ``gradio_client.Client`` each (made before the start), else with plain HTTP."""
    clients = [None] * len(images)
    if gradio_client:
        from gradio_client import Client

        with ThreadPoolExecutor(8) as pool:
            clients = list(pool.map(lambda _: Client(base + "/", verbose=False), images))
    start = threading.Barrier(len(images))
    end = time.monotonic() + deadline
    memory.reset()
    server, ours = cpu_seconds(memory.pid), resource.getrusage(resource.RUSAGE_SELF)
    with ThreadPoolExecutor(len(images)) as pool:
        pages = list(pool.map(lambda a: visit(base, a[0], a[1], screen, start, end), zip(clients, images, strict=True)))
    after = resource.getrusage(resource.RUSAGE_SELF)
    return {"pages": pages, "peak_mib": memory.peak, "server_cpu": cpu_seconds(memory.pid) - server,
            "clients_cpu": after.ru_utime + after.ru_stime - ours.ru_utime - ours.ru_stime}


def cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) process ``pid`` has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def gradio_floor(images: list[Path], deadline: float, gradio_client: bool) -> dict:
    """The same pages opening ``images`` on bench/echo_app.py's ``/deep_zoom``, which answers at once: what the
    upload and Gradio's queue cost a class with no work behind them -> :func:`run_class`'s result."""
    port = free_port()
    server = start_process([sys.executable, str(ROOT / "bench" / "echo_app.py"), str(port)], port)
    memory = MemoryWatch(server.pid)
    memory.start()
    try:
        run_class(f"http://127.0.0.1:{port}", images[:1], None, deadline, memory, gradio_client)  # starts it up
        return run_class(f"http://127.0.0.1:{port}", images, None, deadline, memory, gradio_client)
    finally:
        memory.stop()
        stop_server(server)


def number(x: float, digits: int) -> str:
    """``x`` with ``digits`` decimals, "–" where there is none (nan)."""
    return "–" if math.isnan(x) else f"{x:.{digits}f}"


def spread(values: list[float]) -> str:
    """median / p90 / max of ``values`` (already in passes), or "–"."""
    if not values:
        return "–"
    s = sorted(values)
    p90 = s[min(len(s) - 1, math.ceil(0.9 * len(s)) - 1)]
    return f"{statistics.median(s):.1f} / {p90:.1f} / {s[-1]:.1f}"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--pages", type=int, default=24)
    p.add_argument("--model", choices=("quality", "fast"), default="quality")
    p.add_argument("--screen", type=int, nargs=2, default=(900, 520), metavar=("W", "H"))
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--deadline", type=float, default=600.0, help="seconds a run may take at most")
    p.add_argument("--per-page", action="store_true", help="also print every page of every run")
    p.add_argument("--gradio-client", action="store_true", help="pages open their image with gradio_client")
    args = p.parse_args()
    if not 1 <= args.pages <= 64:
        p.error("--pages must be 1…64")

    unit, tile_pass = unit_passes(args.model, args.threads)
    folder = Path(tempfile.mkdtemp(prefix="zs-classroom-"))
    alone = photographs(1, folder, first=3 * args.pages)
    own = photographs(args.pages, folder)
    shared = photographs(1, folder, first=3 * args.pages + 6) * args.pages  # the same example as alone, mirrored
    port = free_port()
    server = start_process([sys.executable, str(ROOT / "app.py")], port,
                           {"ZS_MODEL": args.model, "OMP_NUM_THREADS": str(args.threads)})
    print(f"server log: {server.log_path}", file=sys.stderr)
    memory = MemoryWatch(server.pid)
    memory.start()
    base = f"http://127.0.0.1:{port}"
    runs = []
    try:  # first a page nobody times: the server's first passes compile its graphs
        run_class(base, photographs(1, folder, first=3 * args.pages + 12), tuple(args.screen), args.deadline, memory,
                  args.gradio_client)
        screen = tuple(args.screen)
        for name, images, fetch in (("one page alone", alone, screen),
                                    (f"{args.pages} pages, a photograph each", own, screen),
                                    (f"{args.pages} pages, one photograph", shared, screen),
                                    (f"{args.pages} pages opening only (its map already made)", shared, None)):
            run = run_class(base, images, fetch, args.deadline, memory, args.gradio_client)
            runs.append((name, len(set(images)), run))
            print(f"{name}: done", file=sys.stderr)
    finally:
        memory.stop()
        stop_server(server)
    runs.append((f"{args.pages} pages opening on a do-nothing endpoint (Gradio's floor)", 1,
                 gradio_floor(shared, args.deadline, args.gradio_client)))

    print(f"\nA class on one server — {cpu_kind()}, {args.threads} threads, {args.model} weights; unit = one MSSNet "
          f"pass on 384² = {unit:.3f} s (a tile's 320² pass = {tile_pass / unit:.2f} passes); map "
          f"{args.screen[0]}×{args.screen[1]} at ×2; times from the common start, median / p90 / max\n")
    print("| run | pages | images | turned away | tiles lost | 503s asked again | /deep_zoom answered (passes) | "
          "first MSSNet tile (passes) | screenful (passes) | class served (passes) | that / its tile passes | "
          "peak RSS (MiB) | CPU s: server / this bench's clients |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    wholes = []
    for name, n_images, run in runs:
        pages = run["pages"]
        ok = [q for q in pages if "turned_away" not in q]
        served = [q["screen"] for q in ok if q["screen"] is not None]
        whole = max(served) / unit if served and len(served) == len(pages) else math.nan
        # tile passes: each page's own tiles; pages on one photograph share theirs
        counts = [q["pyramid_tiles"] for q in ok]
        tiles = sum(counts) if n_images > 1 else max(counts, default=0)
        work = tiles * tile_pass / unit or math.nan
        wholes.append(whole)
        print(f"| {name} | {len(pages)} | {n_images} | {len(pages) - len(ok)} | {sum(q['lost'] for q in ok)} | "
              f"{sum(q['retries'] for q in ok)} | {spread([q['open'] / unit for q in ok])} | "
              f"{spread([q['first'] / unit for q in ok if q['first'] is not None])} | "
              f"{spread([s / unit for s in served])} | {number(whole, 1)} | {number(whole / work, 2)} | "
              f"{run['peak_mib']:.0f} | "
              f"{run['server_cpu']:.1f} / {run['clients_cpu']:.1f} |")
    print(f"\nOn one photograph the class was served in {wholes[2] / wholes[0]:.2f}× one page's screenful alone "
          f"({wholes[0]:.1f} passes).")
    if args.per_page:
        for name, _, run in runs:
            print(f"\n{name}: " + "; ".join(
                q.get("turned_away") or f"open {q['open'] / unit:.1f}, first {(q['first'] or math.nan) / unit:.1f}, "
                f"screen {(q['screen'] or math.nan) / unit:.1f}, lost {q['lost']}" for q in run["pages"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
