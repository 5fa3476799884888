"""Load test: many gradio_client clients asking the running studio to zoom and sharpen at once.

    python bench/load.py                          # 20 clients × 5 requests, 3 rounds, bundled weights
    python bench/load.py --clients 30 --requests 3 --rounds 2 --viewport 384

The app is started as its own process (``python app.py``) on a free loopback port, so
its memory can be read from /proc. Each round, every client (one thread, one
``gradio_client.Client``) uploads an example photograph and sends ``--requests``
``/zoom_sharpen`` requests one after another, each for a zoom and centre never asked
before (so MSSNet really runs; the result cache fills up round after round). Every
request ends in one of three ways: answered, told "queue is full" (the app's queue is
bounded, so a crowd is turned away politely rather than piling up), or an error. The
table shows p50/p95 latency of the answered requests, the counts, and the server's
peak and final resident memory per round: with the cache bounded in bytes, memory
must level off instead of growing with every round.

Target: 0 errors; every request answered or told the queue is full; no memory growth.
Everything stops by itself: each request has a deadline (``--timeout``).

``--tiles`` runs the same crowd against the deep-zoom map's tiles instead: each round opens an
example with ``/deep_zoom`` and every client asks at once for ``--requests`` MSSNet tiles of its ×4
and ×8 levels over plain HTTP, as a browser does, never retrying: each is answered (200) or told to
retry (503 with ``Retry-After``), none fails; then every 503 is asked again until answered, so
nothing is lost.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from serving import free_port  # bench/serving.py

ROOT = Path(__file__).resolve().parents[1]

IMAGE = ROOT / "assets" / "examples" / "astronaut.png"


def rss_mib(pid: int) -> float:
    """Resident memory of process ``pid`` in MiB (0 when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class MemoryWatch(threading.Thread):
    """Samples a process's RSS every ``interval`` seconds; ``peak`` since the last ``reset()``."""

    def __init__(self, pid: int, interval: float = 0.1):
        super().__init__(daemon=True)
        self.pid, self.interval, self.peak = pid, interval, 0.0
        self._stop = threading.Event()

    def run(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, rss_mib(self.pid))

    def reset(self) -> None:
        self.peak = rss_mib(self.pid)

    def stop(self) -> None:
        self._stop.set()


def start_server(port: int, weights: str | None, threads: int) -> subprocess.Popen:
    """``python app.py`` on 127.0.0.1:``port`` as its own process, once it answers."""
    cmd = [sys.executable, str(ROOT / "app.py")] + (["--weights", weights] if weights else [])
    return start_process(cmd, port, {"OMP_NUM_THREADS": str(threads)})


def start_process(cmd: list[str], port: int, env: dict[str, str] | None = None,
                  timeout: float = 180.0) -> subprocess.Popen:
    """Run ``cmd`` (a Gradio server that listens on 127.0.0.1:``port``) from the project folder and
    return it once ``/`` answers; raise with its last stderr if it exits or does not answer in time."""
    env = dict(os.environ, GRADIO_SERVER_NAME="127.0.0.1", GRADIO_SERVER_PORT=str(port),
               GRADIO_ANALYTICS_ENABLED="False", **(env or {}))
    # the server's stderr goes to a file (a pipe nobody reads would fill up and stall the server)
    log = tempfile.NamedTemporaryFile("w+", prefix="zs-server-", suffix=".log", delete=False)
    server = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log, text=True)
    server.log_path = log.name
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"{Path(cmd[1]).name} exited with status {server.returncode}: "
                               f"{Path(log.name).read_text()[-2000:]}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2).close()
            return server
        except OSError:
            time.sleep(0.5)
    server.kill()
    raise RuntimeError(f"{Path(cmd[1]).name} did not start within {timeout:.0f} s")


def stop_server(server: subprocess.Popen) -> None:
    """Terminate the server process; kill it if it has not ended in 30 s."""
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()


def client_work(url: str, client_id: int, round_id: int, args, results: list, lock: threading.Lock) -> None:
    """One client: ``args.requests`` zoom-and-sharpen requests in a row -> (outcome, seconds, detail)."""
    from gradio_client import Client, handle_file
    from gradio_client.exceptions import AppError
    from gradio_client.utils import QueueError

    def record(outcome: str, seconds: float, detail: str = "") -> None:
        with lock:
            results.append((outcome, seconds, detail))

    try:
        client = Client(url, verbose=False)
    except Exception as exc:  # noqa: BLE001 (every failure is counted, never raised)
        for _ in range(args.requests):
            record("error", 0.0, f"connect: {exc}")
        return
    for k in range(args.requests):
        # a zoom and centre no other request used: 1.25 .. 6.0, spread over the image
        n = (round_id * args.clients + client_id) * args.requests + k
        zoom = 1.25 + (n * 0.618034 % 1.0) * 4.75
        cx, cy = 64 + (n * 37) % 384, 64 + (n * 53) % 384
        t0 = time.perf_counter()
        try:
            job = client.submit(handle_file(str(IMAGE)), zoom, cx, cy, args.viewport, None, api_name="/zoom_sharpen")
            _, sharp, info = job.result(timeout=args.timeout)
            ok = Path(sharp).is_file() and info.get("viewport") == args.viewport
            record("answered" if ok else "error", time.perf_counter() - t0, "" if ok else f"bad answer {info}")
        except QueueError as exc:
            record("queue full", time.perf_counter() - t0, str(exc))
        except AppError as exc:
            record("error", time.perf_counter() - t0, f"app error: {exc}")
        except Exception as exc:  # noqa: BLE001 (timeouts and connection failures are errors)
            record("error", time.perf_counter() - t0, f"{type(exc).__name__}: {exc}")


def fetch(url: str, timeout: float = 120.0) -> tuple[int | str, bytes, float | None]:
    """GET -> (status, body, Retry-After seconds or None); HTTP errors are statuses, failures their names."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read(), None
    except urllib.error.HTTPError as e:
        retry = e.headers.get("Retry-After")
        return e.code, e.read(), float(retry) if retry else None
    except OSError as e:
        return type(e).__name__, b"", None


def fetch_until_ok(url: str, deadline: float = 300.0) -> tuple[bytes, int]:
    """GET, asking again after each 503's Retry-After (at most 1 s), as the map does -> (body, retries)."""
    end, retries = time.monotonic() + deadline, 0
    while True:
        status, body, retry = fetch(url)
        if status == 200:
            return body, retries
        if status != 503 or time.monotonic() > end:
            raise RuntimeError(f"{url}: HTTP {status} {body[:200]!r}")
        retries += 1
        time.sleep(min(retry or 1.0, 1.0))


def tile_crowd(base: str, info: dict, clients: int, requests: int) -> dict:
    """``clients`` threads ask at once for ``requests`` MSSNet tiles each (the ×4 and ×8 levels of the open image
    ``info``, spread over both), never retrying; then the 503s are asked again until answered.
    -> {"counts": {status: n}, "seconds": s, "retried": n, "lost": n, "retry_seconds": s}."""
    top = info["max_level"]
    wanted = []
    for level in (top - 1, top):
        scale = 1 << (info["scale"].bit_length() - 1 - (top - level))
        cols = -(-info["width"] * scale // info["tile_size"])
        rows = -(-info["height"] * scale // info["tile_size"])
        wanted += [f"{base}/dz/{info['id']}/mssnet_files/{level}/{c}_{r}.png" for r in range(rows) for c in range(cols)]
    results: list[tuple[int | str, str]] = []
    lock = threading.Lock()

    def ask(k: int) -> None:
        for j in range(requests):
            url = wanted[(k * requests + j) * 7 % len(wanted)]
            status = fetch(url)[0]
            with lock:
                results.append((status, url))

    t0 = time.perf_counter()
    threads = [threading.Thread(target=ask, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - t0
    counts: dict[int | str, int] = {}
    for status, _ in results:
        counts[status] = counts.get(status, 0) + 1
    retried = [url for status, url in results if status == 503]
    t0, lost = time.perf_counter(), 0
    for url in retried:
        try:
            fetch_until_ok(url)
        except RuntimeError:
            lost += 1
    return {"counts": counts, "seconds": seconds, "retried": len(retried), "lost": lost,
            "retry_seconds": time.perf_counter() - t0}


def tiles_main(args) -> int:
    """``--tiles``: the crowd against the map's tiles, one example opened per round."""
    from gradio_client import Client, handle_file

    examples = ["astronaut.png", "chelsea.png", "coffee.png", "siemens_star.png", "zone_plate.png"]
    port = free_port()
    server = start_server(port, args.weights, args.threads)
    base = f"http://127.0.0.1:{port}"
    watch = MemoryWatch(server.pid)
    watch.start()
    rows = []
    try:
        client = Client(base + "/", verbose=False)
        for r in range(args.rounds):
            watch.reset()
            name = examples[r % len(examples)]
            info = client.predict(image=handle_file(str(IMAGE.parent / name)), model=None, api_name="/deep_zoom")
            crowd = tile_crowd(base, info, args.clients, args.requests)
            rows.append((r + 1, name, crowd, watch.peak, rss_mib(server.pid)))
            print(f"round {r + 1}: {crowd}", flush=True)
    finally:
        watch.stop()
        stop_server(server)
    print(f"\n## Load on the map's tiles: {args.clients} clients × {args.requests} MSSNet tile requests at once "
          f"(×4 and ×8), no retries, {os.cpu_count()} CPU cores\n")
    print("| round | image | requests | 200 | 503 (retry) | other | wall (s) | 503s answered on retry | lost "
          "| server peak RSS (MiB) | RSS after (MiB) |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    failed = 0
    for r, name, c, peak, after in rows:
        n = sum(c["counts"].values())
        other = n - c["counts"].get(200, 0) - c["counts"].get(503, 0)
        failed += other + c["lost"]
        print(f"| {r} | {name} | {n} | {c['counts'].get(200, 0)} | {c['counts'].get(503, 0)} | {other} | "
              f"{c['seconds']:.1f} | {c['retried'] - c['lost']} of {c['retried']} ({c['retry_seconds']:.1f} s) | "
              f"{c['lost']} | {peak:.0f} | {after:.0f} |")
    return 0 if not failed and rows else 1


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clients", type=int, default=20)
    p.add_argument("--requests", type=int, default=5, help="requests per client per round")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--viewport", type=int, default=256)
    p.add_argument("--weights", help="weights for the server (default: the bundled ones)")
    p.add_argument("--threads", type=int, default=2, help="OpenMP threads in the server")
    p.add_argument("--timeout", type=float, default=600, help="deadline per request, seconds")
    p.add_argument("--tiles", action="store_true", help="the crowd asks for the deep-zoom map's tiles instead")
    args = p.parse_args()
    if args.tiles:
        return tiles_main(args)

    port = free_port()
    server = start_server(port, args.weights, args.threads)
    url = f"http://127.0.0.1:{port}/"
    watch = MemoryWatch(server.pid)
    watch.start()
    rows, all_errors, all_answered = [], [], []
    try:
        print(f"server pid {server.pid} on {url}; RSS after start {rss_mib(server.pid):.0f} MiB", flush=True)
        for r in range(args.rounds):
            watch.reset()
            results: list[tuple[str, float, str]] = []
            lock = threading.Lock()
            t0 = time.perf_counter()
            threads = [threading.Thread(target=client_work, args=(url, c, r, args, results, lock))
                       for c in range(args.clients)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            wall = time.perf_counter() - t0
            answered = [s for o, s, _ in results if o == "answered"]
            counts = {o: sum(1 for x, _, _ in results if x == o) for o in ("answered", "queue full", "error")}
            all_errors += [d for o, _, d in results if o == "error"]
            all_answered += answered
            rows.append((r + 1, len(results), counts, percentile(answered, 0.5), percentile(answered, 0.95),
                         watch.peak, rss_mib(server.pid), wall))
            print(f"round {r + 1}: {counts} in {wall:.0f} s", flush=True)
            if server.poll() is not None:
                print(f"server exited with status {server.returncode}", flush=True)
                break
    finally:
        watch.stop()
        stop_server(server)

    print(f"\n## Load: {args.clients} clients × {args.requests} /zoom_sharpen requests per round, "
          f"{args.viewport}² viewport, {os.cpu_count()} CPU cores\n")
    print("| round | requests | answered | queue full | errors | p50 answered (s) | p95 answered (s) "
          "| server peak RSS (MiB) | RSS after round (MiB) | wall (s) |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r, n, c, p50, p95, peak, after, wall in rows:
        print(f"| {r} | {n} | {c['answered']} | {c['queue full']} | {c['error']} | {p50:.2f} | {p95:.2f} "
              f"| {peak:.0f} | {after:.0f} | {wall:.0f} |")
    if all_errors:
        print("\nerrors:")
        for detail in sorted(set(all_errors))[:10]:
            print(f"- {detail}")
    total = sum(sum(c.values()) for _, _, c, *_ in rows)
    told = sum(c["answered"] + c["queue full"] for _, _, c, *_ in rows)
    print(f"\n{told} of {total} requests answered or told the queue is full; "
          f"{sum(c['error'] for _, _, c, *_ in rows)} errors; answered latency over all rounds: median "
          f"{statistics.median(all_answered) if all_answered else float('nan'):.2f} s, "
          f"p95 {percentile(all_answered, 0.95):.2f} s")
    return 0 if not all_errors and rows else 1


if __name__ == "__main__":
    sys.exit(main())
