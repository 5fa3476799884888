"""Speed and memory of ``mssnet.runtime.inference.sharpen`` on this machine; prints tables.

    python bench/speed.py                       # everything (minutes on 2 cores)
    python bench/speed.py --presets small --sizes 256 --repeats 1 --skip-big   # a quick check

1. Median latency (after one warm-up call) per preset, image size, precision
   (``fp32`` and ``auto``, with what ``auto`` resolved to) and mode (whole image or
   ``tile=256``).
2. Peak resident memory of a child process that sharpens one big image
   (default 4096x4096, MSSNet-small, automatic tiling), next to a child that only
   builds the model; ``resource.getrusage(RUSAGE_CHILDREN).ru_maxrss``.
3. With ``--floor``: FLOPs of one forward pass and the latency floor they imply at this
   CPU's fp32 matrix-multiply rate (no kernel runs convolutions faster than a big matmul).
4. With ``--paired``: the presets' 384² passes interleaved, run by run, per precision, and each
   preset's median as a fraction of the first's — the ratio stays steady on a noisy machine.
5. With ``--order``: the original layer order (bilinear 2× upsample, then the 1×1 conv) against
   the model's conv-first order (:class:`mssnet.model.network.Up`), interleaved; the same function.
6. With ``--graph``: the whole-image forward pass eager vs ``torch.jit.trace`` +
   ``torch.jit.freeze`` vs ``torch.compile`` vs ONNX Runtime (when ``onnxruntime`` and
   ``onnx`` are installed), with the max abs difference to eager fp32.
7. With ``--backends torch-fp32,torch-bf16,openvino-fp32,openvino-bf16``: the runtimes of
   :mod:`mssnet.runtime.backend` interleaved, per preset, on each ``--sizes`` square and on one pyramid
   tile (256² + 32 px margins = 320²), beside the default path (``sharpen(model, image)``, no
   options); the default's ratio to the faster PyTorch variant; the difference of each variant
   to PyTorch fp32 (random weights, then the bundled weights on the example photos); OpenVINO's
   first pass at a new shape (compilation) in passes; the cached path's cost over the bare infer
   request; and, in a child process, the RSS growth of compiling the tile shapes of one image
   explored at pyramid level 1. ``--dynamic`` also times one
   dynamic-shape graph against per-shape graphs.

    python bench/speed.py --presets small,tiny --sizes 384 --repeats 5 --skip-latency --skip-big \
        --backends torch-fp32,torch-bf16,openvino-fp32,openvino-bf16 --dynamic

Weights are random (speed does not depend on them).
"""

from __future__ import annotations

import argparse
import functools
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from timing import cpu_kind, median_seconds

from mssnet.model.network import MSSNet, MSSNetConfig
from mssnet.runtime import backend as backends
from mssnet.runtime import compiled, graph
from mssnet.runtime.inference import resolve_precision, sharpen, sharpen_tensor

ROOT = Path(__file__).resolve().parents[1]


def test_image(side: int, seed: int = 0) -> np.ndarray:
    """(side, side, 3) uint8: smooth colour waves plus a little noise, like a zoomed photo."""
    yy, xx = np.mgrid[0:side, 0:side].astype(np.float32) / 64.0
    rng = np.random.default_rng(seed)
    waves = [0.5 + 0.3 * np.sin(a * yy + b * xx) for a, b in rng.uniform(0.3, 2.0, (3, 2))]
    image = np.stack(waves, axis=-1) + rng.normal(0, 0.02, (side, side, 3)).astype(np.float32)
    return np.rint(np.clip(image, 0, 1) * 255).astype(np.uint8)


def build(preset: str) -> MSSNet:
    torch.manual_seed(0)
    return MSSNet(MSSNetConfig.preset(preset)).eval()


def latency_table(presets: list[str], sizes: list[int], repeats: int, tile: int) -> None:
    runtime = compiled.backend_name(build("tiny"), "fp32").split(" · ")[0]
    print(f"\n## Latency (median of {repeats} after a warm-up), torch threads = {torch.get_num_threads()}, "
          f"runtime {runtime} (the default backend)\n")
    print("| preset | size | precision | mode | seconds |")
    print("|--------|------|-----------|------|--------:|")
    for preset in presets:
        model = build(preset)
        for side in sizes:
            image = test_image(side)
            for precision in ("fp32", "auto"):
                label = precision if precision == "fp32" else f"auto ({resolve_precision('auto', 'cpu')})"
                for mode, tile_arg in (("whole", None), (f"tile={tile}", tile)):
                    if tile_arg is not None and tile_arg >= side:
                        continue  # would run whole anyway
                    call = functools.partial(sharpen, model, image, precision=precision, tile=tile_arg)
                    seconds = median_seconds(call, repeats)
                    print(f"| {preset} | {side}² | {label} | {mode} | {seconds:.2f} |", flush=True)


def child_peak_rss_mib(side: int, preset: str) -> float:
    """Peak RSS (MiB) of a fresh Python that builds ``preset`` and sharpens a side x side image.

    ``RUSAGE_CHILDREN`` reports the largest of all finished children, so call this in
    increasing order of memory.
    """
    cmd = [sys.executable, __file__, "--child-side", str(side), "--presets", preset]
    subprocess.run(cmd, check=True)
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # KiB on Linux


def memory_table(side: int, preset: str) -> None:
    print(f"\n## Peak RSS, MSSNet-{preset}, automatic tiling, {compiled.backend_name(build(preset))}\n")
    print("| child process | peak RSS (MiB) | seconds |")
    print("|---------------|---------------:|--------:|")
    for label, child_side in (("build model only", 0), (f"sharpen {side}x{side} uint8", side)):
        start = time.perf_counter()
        mib = child_peak_rss_mib(child_side, preset)
        print(f"| {label} | {mib:.0f} | {time.perf_counter() - start:.1f} |", flush=True)


def child_main(side: int, preset: str) -> None:
    model = build(preset)
    if side:
        sharpen(model, test_image(side), precision="auto")


def onnx_runtime_session(model: torch.nn.Module, x: torch.Tensor):
    """The model exported to ONNX (TorchScript exporter) in an ONNX Runtime CPU session, or None
    when ``onnxruntime``/``onnx`` are not installed (they are optional: ``pip install onnxruntime onnx``)."""
    try:
        import onnxruntime
    except ImportError:
        print("ONNX Runtime not installed: skipped")
        return None
    import io

    buffer = io.BytesIO()
    start = time.perf_counter()
    with torch.no_grad():
        torch.onnx.export(model, (x,), buffer, input_names=["x"], output_names=["y"], opset_version=17,
                          dynamo=False)
    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = torch.get_num_threads()
    session = onnxruntime.InferenceSession(buffer.getvalue(), options, providers=["CPUExecutionProvider"])
    print(f"ONNX export + session took {time.perf_counter() - start:.1f} s", flush=True)
    return session


def graph_table(preset: str, side: int, repeats: int) -> None:
    """Whole-image forward: eager vs trace+freeze vs torch.compile, all fp32 channels_last."""
    model = build(preset)
    x = torch.from_numpy(test_image(side)).permute(2, 0, 1)[None].float().div(255)
    reference = sharpen_tensor(model, x, precision="fp32")  # also converts the weights to channels_last
    xc = x.contiguous(memory_format=torch.channels_last)

    class Final(torch.nn.Module):
        def __init__(self, net: MSSNet):
            super().__init__()
            self.net = net

        def forward(self, inp: torch.Tensor) -> torch.Tensor:
            return self.net(inp)

    candidates: dict[str, Callable[[], torch.Tensor]] = {"eager": lambda: Final(model)(xc)}
    with torch.inference_mode():
        start = time.perf_counter()
        frozen = torch.jit.freeze(torch.jit.trace(Final(model).eval(), xc))
        print(f"trace+freeze took {time.perf_counter() - start:.1f} s", flush=True)
    candidates["jit trace+freeze"] = lambda: frozen(xc)
    try:
        compiled = torch.compile(Final(model))
        start = time.perf_counter()
        with torch.inference_mode():
            compiled(xc)
        print(f"torch.compile first call took {time.perf_counter() - start:.1f} s", flush=True)
        candidates["torch.compile"] = lambda: compiled(xc)
    except Exception as error:  # noqa: BLE001 - a benchmark reports what does not work
        print(f"torch.compile failed: {type(error).__name__}: {error}".splitlines()[0])

    ort = onnx_runtime_session(Final(model), x)
    if ort is not None:
        feed = {"x": x.numpy()}
        candidates["ONNX Runtime"] = lambda: torch.from_numpy(ort.run(None, feed)[0])

    print(f"\n## Whole-image forward, MSSNet-{preset}, {side}², fp32 (median of {repeats})\n")
    print("| variant | seconds | max abs diff to eager |")
    print("|---------|--------:|----------------------:|")
    for name, fn in candidates.items():
        with torch.inference_mode():
            seconds = median_seconds(fn, repeats)
            diff = (fn().clamp(0, 1) - reference).abs().max().item()
        print(f"| {name} | {seconds:.2f} | {diff:.2e} |", flush=True)


def floor_table(presets: list[str], sizes: list[int]) -> None:
    """How fast MSSNet could possibly run here: its FLOPs over this CPU's fp32 matrix-multiply rate.

    A large fp32 matmul is about the most efficient work a CPU does; a forward pass made
    of convolutions cannot beat it, so FLOPs / matmul rate is a floor for the latency.
    """
    from torch.utils.flop_counter import FlopCounterMode

    a, b = torch.rand(2048, 2048), torch.rand(2048, 2048)
    rate = 2 * 2048**3 / median_seconds(lambda: torch.mm(a, b), 5) / 1e9
    print(f"\n## Compute floor: fp32 matmul 2048² runs at {rate:.0f} GFLOP/s with {torch.get_num_threads()} "
          "threads\n")
    print("| preset | size | GFLOP per forward (final output) | floor at matmul rate |")
    print("|--------|------|-------:|------:|")
    for preset in presets:
        model = build(preset)
        for side in sizes:
            with torch.no_grad(), FlopCounterMode(display=False) as counter:
                model(torch.rand(1, 3, side, side))
            gflop = counter.get_total_flops() / 1e9
            print(f"| {preset} | {side}² | {gflop:.0f} | {gflop / rate:.2f} s |")


def _interleaved_times(runs: dict[str, Callable[[], object]], repeats: int,
                       clock: Callable[[], float] = time.perf_counter) -> dict[str, list[float]]:
    """Seconds of each callable per round, run in turn (order alternating) after one warm-up each; ``clock``:
    wall time, or ``time.process_time`` (this process's CPU time: steadier when other processes load the CPU)."""
    for fn in runs.values():
        fn()
    times: dict[str, list[float]] = {name: [] for name in runs}
    for r in range(repeats):
        for name in (list(runs) if r % 2 == 0 else list(runs)[::-1]):
            t0 = clock()
            runs[name]()
            times[name].append(clock() - t0)
    return times


def _interleaved(runs: dict[str, Callable[[], object]], repeats: int,
                 clock: Callable[[], float] = time.perf_counter) -> dict[str, float]:
    """Median seconds of each callable, interleaved as :func:`_interleaved_times` runs them."""
    return {name: float(np.median(t)) for name, t in _interleaved_times(runs, repeats, clock).items()}


def paired_table(presets: list[str], side: int, repeats: int) -> None:
    """The presets' passes interleaved per precision; ratios to the first preset."""
    x = torch.rand(1, 3, side, side)
    models = {p: build(p) for p in presets}
    print(f"\n## Paired passes, {side}², interleaved, median of {repeats}\n")
    ratios = " | ".join(f"{p} / {presets[0]}" for p in presets[1:])
    print("| precision | " + " | ".join(presets) + " | " + ratios + " |")
    print("|---|" + "---:|" * (2 * len(presets) - 1))
    for precision in ("fp32", "bf16"):
        med = _interleaved({p: functools.partial(sharpen_tensor, m, x, precision=precision)
                            for p, m in models.items()}, repeats)
        cells = [f"{med[p]:.3f} s" for p in presets] + [f"{med[p] / med[presets[0]]:.2f}" for p in presets[1:]]
        print(f"| {precision} | " + " | ".join(cells) + " |")


def order_table(presets: list[str], side: int, repeats: int) -> None:
    """Conv-first (the model) vs the original upsample-then-conv order, interleaved."""
    import mssnet.model.network as mm

    conv_first = (mm.Up.forward, mm.ScaleUp.forward, mm.Encoder.forward)

    def original_encoder(self, x, prev_enc=None, prev_dec=None, coarser=False):
        if coarser:
            prev_enc, prev_dec = [mm._up2(t) for t in prev_enc], [mm._up2(t) for t in prev_dec]
        return conv_first[2](self, x, prev_enc, prev_dec, False)

    original = (lambda self, x, skip: self.up[1](mm._up2(x)) + skip, lambda self, x: self.scaleUp[1](mm._up2(x)),
                original_encoder)

    def run(model, x, precision, order):
        mm.Up.forward, mm.ScaleUp.forward, mm.Encoder.forward = order
        try:
            return sharpen_tensor(model, x, precision=precision)
        finally:
            mm.Up.forward, mm.ScaleUp.forward, mm.Encoder.forward = conv_first

    x = torch.rand(1, 3, side, side)
    print(f"\n## Layer order, {side}², interleaved, median of {repeats}\n")
    print("| preset | precision | upsample, then 1×1 conv | 1×1 conv, then upsample | ratio | max abs difference |")
    print("|---|---|---:|---:|---:|---:|")
    for preset in presets:
        model = build(preset)
        for precision in ("fp32", "bf16"):
            med = _interleaved({"original": functools.partial(run, model, x, precision, original),
                                "conv first": functools.partial(run, model, x, precision, conv_first)}, repeats)
            diff = (run(model, x, "fp32", original) - run(model, x, "fp32", conv_first)).abs().max().item()
            print(f"| {preset} | {precision} | {med['original']:.3f} s | {med['conv first']:.3f} s "
                  f"| {med['conv first'] / med['original']:.2f} | {diff:.1e} (fp32) |")


#: --backends variants: (precision, backend) of a sharpen() call.
VARIANTS = {"torch-fp32": ("fp32", "torch"), "torch-bf16": ("bf16", "torch"),
            "openvino-fp32": ("fp32", "openvino"), "openvino-bf16": ("bf16", "openvino")}
#: One pyramid tile's pass: the 256² tile with 32 px of context on every side.
TILE_PASS = 256 + 2 * 32
#: The example photographs (held out from training) the bundled weights are compared on.
PHOTOS = ("astronaut", "chelsea", "coffee")


def _rss_mib() -> float:
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _differences(model: MSSNet, x: torch.Tensor, variants: list[str]) -> dict[str, torch.Tensor]:
    """|variant - PyTorch fp32| of ``sharpen_tensor`` on x (1, 3, H, W), per variant other than torch-fp32."""
    ref = sharpen_tensor(model, x, precision="fp32", backend="torch")
    return {v: (sharpen_tensor(model, x, precision=VARIANTS[v][0], backend=VARIANTS[v][1]) - ref).abs()
            for v in variants if v != "torch-fp32"}


def backends_table(presets: list[str], sizes: list[int], variants: list[str], repeats: int) -> None:
    """Runtimes interleaved per preset and shape; the default path against the faster PyTorch."""
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        raise SystemExit(f"unknown --backends {unknown}; expected some of {sorted(VARIANTS)}")
    fast_bf16 = resolve_precision("auto", "cpu") == "bf16"
    default_label = f"default ({compiled.backend_name(build('tiny'))})"
    print(f"\n## Runtimes: sharpen(model, image), interleaved, median of {repeats}, {torch.get_num_threads()} "
          f"threads; target: default <= {'0.85x the faster PyTorch' if fast_bf16 else '0.55x PyTorch fp32'}\n")
    cols = variants + [default_label]
    print("| preset | input | " + " | ".join(cols) + " | default / PyTorch | same, median of per-round ratios |")
    print("|---|---|" + "---:|" * (len(cols) + 2))
    diffs: list[str] = []
    for preset in presets:
        model = build(preset)
        for side in dict.fromkeys(sizes + [TILE_PASS]):
            image = test_image(side)
            runs = {v: functools.partial(sharpen, model, image, precision=VARIANTS[v][0], backend=VARIANTS[v][1])
                    for v in variants}
            runs[default_label] = functools.partial(sharpen, model, image)
            times = _interleaved_times(runs, repeats)
            med = {name: float(np.median(t)) for name, t in times.items()}
            torch_variants = [v for v in variants if v.startswith("torch")]
            if not fast_bf16 and "torch-fp32" in variants:
                torch_variants = ["torch-fp32"]
            ratio, paired = "-", "-"
            if torch_variants:
                ratio = f"{med[default_label] / min(med[v] for v in torch_variants):.2f}"
                per_round = [d / min(times[v][r] for v in torch_variants) for r, d in enumerate(times[default_label])]
                paired = f"{np.median(per_round):.2f}"
            tag = "tile " if side == TILE_PASS else ""
            print(f"| {preset} | {tag}{side}² | " + " | ".join(f"{med[c]:.3f} s" for c in cols)
                  + f" | {ratio} | {paired} |", flush=True)
            x = torch.from_numpy(image).permute(2, 0, 1)[None].float().div(255)
            for v, d in _differences(model, x, variants).items():
                diffs.append(f"| {preset} | {side}² | {v} | {d.max().item():.1e} | {d.mean().item() * 255:.3f} |")
    print("\n### Difference to PyTorch fp32 (random weights: corrections ~0.8, far larger than trained ones)\n")
    print("| preset | input | variant | max abs | mean abs (/255) |")
    print("|---|---|---|---:|---:|")
    print("\n".join(diffs))


def trained_diff_table(presets: list[str], variants: list[str]) -> None:
    """Each variant's difference to PyTorch fp32 with the bundled weights on the example photos
    (a bicubic x2 zoom of each one's top-left corner, 320² and 384²), as the studio shows them."""
    import cv2
    from PIL import Image

    from mssnet.model.weights import BUNDLED_WEIGHTS, load_model

    print(f"\n### Difference to PyTorch fp32, bundled weights ({', '.join(PHOTOS)}, bicubic x2, "
          "320² and 384², means over them)\n")
    print("| preset | variant | max abs (/255) | mean abs (/255) |")
    print("|---|---|---:|---:|")
    for preset in (p for p in presets if p in BUNDLED_WEIGHTS):
        model = load_model(BUNDLED_WEIGHTS[preset])
        diffs: dict[str, list[tuple[float, float]]] = {}
        for name in PHOTOS:
            rgb = np.asarray(Image.open(ROOT / "assets" / "examples" / f"{name}.png").convert("RGB"),
                             dtype=np.float32) / 255
            for side in (TILE_PASS, 384):
                up = cv2.resize(rgb[: side // 2, : side // 2], (side, side), interpolation=cv2.INTER_CUBIC)
                x = torch.from_numpy(np.clip(up, 0, 1)).permute(2, 0, 1)[None].contiguous()  # (1, 3, side, side)
                for v, d in _differences(model, x, variants).items():
                    diffs.setdefault(v, []).append((d.max().item() * 255, d.mean().item() * 255))
        for v, values in diffs.items():
            print(f"| {preset} | {v} | {np.mean([m for m, _ in values]):.2f} | {np.mean([a for _, a in values]):.3f} |")


def compile_table(presets: list[str], repeats: int) -> None:
    """OpenVINO's first passes (compilation; a new shape) vs cached passes, and the cached path's overhead.

    Each repeat clears the cache, then runs an edge tile (compiles the graph for any shape), another
    edge tile's shape (new to that graph) and the interior tile (compiles its own graph, a static side);
    medians of ``repeats``. In a precision without per-shape graphs (fp32) the interior tile's first
    pass is one more new shape of the graph for any shape."""
    precision = resolve_precision("auto", "cpu")
    print(f"\n## OpenVINO compilation and per-call cost ({precision}, tile {TILE_PASS}², edge tiles "
          f"{TILE_PASS}×176 then {TILE_PASS}×208, medians of {repeats})\n")
    print("| preset | graph build | first pass, graph for any shape (compile + run) | first pass at a new shape "
          f"| first {TILE_PASS}² pass, its own graph (compile + run) | cached edge pass | cached {TILE_PASS}² pass "
          "| first / cached | new shape / cached | own graph first / cached | bare infer request "
          "| cached path overhead |")
    print("|---|" + "---:|" * 11)
    for preset in presets:
        model = build(preset)
        x = torch.rand(1, 3, TILE_PASS, TILE_PASS)
        edge_a, edge_b = torch.rand(1, 3, 176, TILE_PASS), torch.rand(1, 3, 208, TILE_PASS)
        builds, firsts, new_shapes, statics = [], [], [], []
        for _ in range(repeats):
            compiled.compiled_cache().clear()
            start = time.perf_counter()
            graph.openvino_graph(model, None, stages=False)
            builds.append(time.perf_counter() - start)
            for y, times in ((edge_a, firsts), (edge_b, new_shapes)):  # edge tiles' shapes, new to the graph
                start = time.perf_counter()
                sharpen_tensor(model, y)
                times.append(time.perf_counter() - start)
            start = time.perf_counter()
            sharpen_tensor(model, x)
            statics.append(time.perf_counter() - start)
        keys = compiled.compiled_cache().keys()  # the 320² pass's graph: its own, else the one for any shape
        key = next((k for k in keys if k[-1] == tuple(x.shape)), None) or \
            next((k for k in keys if k[-1] is None and not k[1]), None)
        runs = {"path": functools.partial(sharpen_tensor, model, x),
                "a": functools.partial(sharpen_tensor, model, edge_a),
                "b": functools.partial(sharpen_tensor, model, edge_b)}
        if key is not None:  # None: nothing compiled (the passes ran in PyTorch)
            runs["bare"] = functools.partial(compiled.compiled_cache().get(key, lambda: None).request.infer,
                                             {0: x.numpy()})
        med = {"bare": float("nan")} | _interleaved(runs, repeats)
        first, new_shape, static = (float(np.median(t)) for t in (firsts, new_shapes, statics))
        print(f"| {preset} | {np.median(builds) * 1e3:.0f} ms | {first:.3f} s | {new_shape:.3f} s | {static:.3f} s "
              f"| {med['a']:.3f} s | {med['path']:.3f} s | {first / med['a']:.1f} | {new_shape / med['b']:.1f} "
              f"| {static / med['path']:.1f} | {med['bare']:.3f} s | {(med['path'] - med['bare']) * 1e3:+.1f} ms |",
              flush=True)


def dynamic_table(presets: list[str], repeats: int) -> None:
    """One dynamic-shape compiled graph against a graph compiled for each shape, interleaved."""
    import openvino as ov

    precision = resolve_precision("auto", "cpu")
    config = {"INFERENCE_PRECISION_HINT": {"fp32": "f32", "bf16": "bf16"}[precision],
              "INFERENCE_NUM_THREADS": torch.get_num_threads(), "PERFORMANCE_HINT": "LATENCY"}
    core = ov.Core()
    print(f"\n## Static (per-shape) vs dynamic-shape OpenVINO graphs ({precision}, median of {repeats})\n")
    print("| preset | input | static compile | static pass | dynamic compile | dynamic first pass | dynamic pass "
          "| dynamic / static | same, process CPU time |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for preset in presets:
        model = build(preset)
        start = time.perf_counter()
        dynamic = core.compile_model(graph.openvino_graph(model, None, False), "CPU", config)
        dynamic_s = time.perf_counter() - start
        dreq = dynamic.create_infer_request()
        for side in (TILE_PASS, 384):
            x = np.random.default_rng(0).random((1, 3, side, side), dtype=np.float32)
            start = time.perf_counter()
            static = core.compile_model(graph.openvino_graph(model, x.shape, False), "CPU", config)
            static_s = time.perf_counter() - start
            sreq = static.create_infer_request()
            start = time.perf_counter()
            dreq.infer({0: x})
            dfirst = time.perf_counter() - start
            runs = {"static": functools.partial(sreq.infer, {0: x}), "dynamic": functools.partial(dreq.infer, {0: x})}
            med = _interleaved(runs, repeats)
            cpu = _interleaved(runs, repeats, clock=time.process_time)
            print(f"| {preset} | {side}² | {static_s:.2f} s | {med['static']:.3f} s | {dynamic_s:.2f} s "
                  f"| {dfirst:.3f} s | {med['dynamic']:.3f} s | {med['dynamic'] / med['static']:.2f} "
                  f"| {cpu['dynamic'] / cpu['static']:.2f} |", flush=True)


def explore_memory_child(preset: str) -> None:
    """Print the RSS growth of running every tile shape of one image's pyramid level 1."""
    import mssnet.runtime.inference as inference
    from mssnet.pyramid.pyramid import ZoomPyramid
    from mssnet.pyramid.tiles import TileId

    model = build(preset)
    image = test_image(600)[:450]  # (450, 600, 3): level 1 is 1200×900, 5×4 tiles of 256²
    sharpen_tensor(model, torch.rand(1, 3, 32, 32))  # the runtime loaded, its graph compiled
    before = _rss_mib()
    shapes, run = set(), inference.run_openvino

    def recording(model, x, *args):
        shapes.add(tuple(x.shape))
        return run(model, x, *args)

    inference.run_openvino = recording
    pyramid = ZoomPyramid(image.astype(np.float32) / 255, model)
    rows, cols = pyramid.grid(1)
    start = time.perf_counter()
    for r in range(rows):
        for c in range(cols):
            pyramid.get_tile(TileId(1, r, c))
    seconds = time.perf_counter() - start
    print(f"| {preset} | {rows * cols} tiles, {len(shapes)} shapes | {compiled.backend_name(model)} "
          f"| {before:.0f} MiB | {_rss_mib():.0f} MiB | {_rss_mib() - before:+.0f} MiB | {seconds:.1f} s |", flush=True)


def explore_memory_table(presets: list[str]) -> None:
    print("\n## RSS growth exploring one image: every level-1 tile of a 600×450 image (child process each)\n")
    print("| preset | tiles | backend | RSS before | RSS after | growth | seconds |")
    print("|---|---|---|---:|---:|---:|---:|")
    for preset in presets:
        subprocess.run([sys.executable, __file__, "--explore-child", preset], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", default="small,base,large", help="comma-separated presets")
    parser.add_argument("--sizes", default="256,512", help="comma-separated square sides")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--tile", type=int, default=256, help="tile side for the tiled rows")
    parser.add_argument("--skip-latency", action="store_true", help="skip the latency table")
    parser.add_argument("--skip-big", action="store_true", help="skip the peak-memory run")
    parser.add_argument("--big-side", type=int, default=4096, help="side of the peak-memory image")
    parser.add_argument("--graph", action="store_true", help="also try jit trace+freeze and torch.compile")
    parser.add_argument("--floor", action="store_true", help="also print FLOPs and the matmul-rate floor")
    parser.add_argument("--paired", action="store_true", help="also time the presets interleaved (first size)")
    parser.add_argument("--order", action="store_true", help="also time the original layer order (first size)")
    parser.add_argument("--backends", default=None, metavar="LIST",
                        help=f"also time runtimes interleaved: comma-separated of {','.join(VARIANTS)}")
    parser.add_argument("--dynamic", action="store_true", help="also time dynamic- vs static-shape OpenVINO graphs")
    parser.add_argument("--child-side", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--explore-child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    presets = args.presets.split(",")
    if args.child_side is not None:
        child_main(args.child_side, presets[0])
        return
    if args.explore_child is not None:
        explore_memory_child(args.explore_child)
        return

    sizes = [int(s) for s in args.sizes.split(",")]
    ov = compiled.backend_name(build('tiny')) if backends.openvino_available() else 'OpenVINO not installed'
    print(f"CPU: {cpu_kind()}; torch {torch.__version__}; default runtime {ov}; auto precision on CPU -> "
          f"{resolve_precision('auto', 'cpu')}")
    if not args.skip_latency:
        latency_table(presets, sizes, args.repeats, args.tile)
    if args.floor:
        floor_table(presets, sizes)
    if args.paired:
        paired_table(presets, sizes[0], max(args.repeats, 5))
    if args.order:
        order_table(presets, sizes[0], max(args.repeats, 5))
    if args.graph:
        graph_table(presets[0], sizes[0], args.repeats)
    if args.backends:
        backends_table(presets, sizes, args.backends.split(","), args.repeats)
        trained_diff_table(presets, args.backends.split(","))
        if backends.openvino_available():
            compile_table(presets, args.repeats)
            explore_memory_table(presets)
    if args.dynamic:
        dynamic_table(presets, args.repeats)
    if not args.skip_big:
        memory_table(args.big_side, "small")


if __name__ == "__main__":
    main()
