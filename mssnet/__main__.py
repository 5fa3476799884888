"""Command-line tool: enlarge images and remove the zoom blur with MSSNet.

    python -m mssnet zoom INPUT -o OUTPUT --zoom Z [--method mssnet|bicubic|lanczos]
    python -m mssnet sharpen INPUT -o OUTPUT
    python -m mssnet deepzoom INPUT -o FOLDER [--max-zoom 8]

``zoom`` enlarges the whole image to ``round(W·Z) × round(H·Z)``. With the default
``--method mssnet`` it follows the zoom pyramid's rule (:mod:`mssnet.pyramid.levels`, the same as
the app's views, download, sweep and Simulate): the image is sharpened to level ⌈log2 Z⌉ in
2× steps (bicubic 2×, then MSSNet at the strength calibrated for that pyramid level;
``--strength`` overrides it) on a fixed tile grid (``--tile``, default 256), then resampled with Lanczos-3
to the zoom; a progress bar counts the tiles. ``--method bicubic`` / ``lanczos`` resize
only. ``sharpen`` runs MSSNet without resizing. INPUT may be a folder: every image in it (png, jpg,
jpeg, bmp, tif, tiff, webp, gif) is written into the folder OUTPUT as PNG, lossless whatever
the input (``--format jpg`` or ``--format same`` to choose; other files are skipped and
listed), with the model loaded once; a tile progress bar shows on a terminal, for a single
file too. Alpha is kept (resized with bicubic interpolation,
never sharpened) and 16-bit input gives 16-bit output when OUTPUT is PNG or TIFF.

``deepzoom`` writes a static, sharpened deep-zoom site into FOLDER: the three Deep Zoom (DZI)
layers of :mod:`mssnet.serve.deepzoom` (``bicubic.dzi``, ``mssnet.dzi``, ``edge_gain.dzi`` with their
``*_files/`` tile folders; the highest level is the image ×``--max-zoom``) and an ``index.html``
that opens them in the bundled viewer (OpenSeadragon, curtain and edge-gain layer), which any
static web server can host; a progress bar counts the tiles.

``--backend`` chooses the runtime of every MSSNet pass of the command (:mod:`mssnet.runtime.backend`):
``openvino``, ``torch``, or ``auto`` (default: OpenVINO where it is installed).

Exit status: 0 when every image was written; 2 on bad arguments, an unusable
weights file, or when any image failed (a folder run reports each bad file as
``error: <file>: <message>`` on stderr, finishes the others, then exits 2).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from .argtypes import float_in_range, tile_size
from .image.io import IMAGE_SUFFIXES, SIXTEEN_BIT_SUFFIXES, load_image, output_format, save_image
from .image.zoom import MAX_FACTOR, zoom
from .model.network import PRESETS, MSSNet
from .model.strength import LIMITS as STRENGTH_LIMITS
from .model.weights import load_model
from .pyramid.cache import TileCache
from .pyramid.levels import pyramid_level, pyramid_zoom_image
from .pyramid.pyramid import ZoomPyramid
from .pyramid.tiles import DEFAULT_TILE
from .runtime.backend import BACKENDS, using
from .runtime.inference import PRECISIONS, sharpen
from .runtime.tiling import MIN_TILE, MULTIPLE
from .serve.deepzoom import DeepZoomImage, write_deep_zoom

__all__ = ["MAX_OUTPUT_PIXELS", "build_parser", "main"]

#: Largest output image (width x height), and with MSSNet largest pyramid level (the image
#: enlarged to the next power of two); bigger results are refused before any work.
MAX_OUTPUT_PIXELS = 100_000_000
#: Exit status for bad input of any kind.
EXIT_ERROR = 2

_METHODS = ("mssnet", "bicubic", "lanczos")
_BACKEND_HELP = "runtime of MSSNet's passes: openvino (faster on CPUs), torch, or auto = openvino when installed"


class _UsageError(Exception):
    """Raised instead of argparse's print-usage-and-exit, so errors stay on one line."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse hook: raise instead of print-and-exit
        raise _UsageError(message)


# ---------------------------------------------------------------------- arguments


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m mssnet`` (errors raise instead of exiting)."""
    parser = _Parser(
        prog="python -m mssnet",
        description="Enlarge images and remove the zoom blur with MSSNet.",
        epilog="Exit status: 0 when every image was written, 2 on any error "
        "(a folder run reports each bad file, finishes the rest, then exits 2).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="{zoom,sharpen,deepzoom}")

    def common(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("input", type=Path, metavar="INPUT", help="an image file, or a folder of images")
        sub.add_argument("-o", "--output", type=Path, required=True, metavar="OUTPUT",
                         help="output image file (format from the extension), or a folder for folder input")
        sub.add_argument("--format", choices=OUTPUT_FORMATS, default="png",
                         help="files written into a folder: png (default; lossless), jpg, or same as each input")
        model = sub.add_argument_group("model")
        model.add_argument("--preset", choices=sorted(PRESETS),
                           help="architecture of --weights (default: read from the tensor shapes)")
        model.add_argument("--weights", type=Path, metavar="PATH",
                           help="checkpoint (.pt/.pth or .safetensors); default: the bundled weights")
        model.add_argument("--tile", type=tile_size, metavar="N",
                           help=f"zoom: the pyramid's tile grid (multiple of {MULTIPLE}, 64–512, default 256); "
                                f"sharpen: N×N tiles (>= {MIN_TILE}; default automatic)")
        model.add_argument("--precision", choices=PRECISIONS, default="auto",
                           help="bf16 is faster on CPUs with AMX/AVX-512 BF16 (default: auto)")
        model.add_argument("--backend", choices=BACKENDS, default="auto", help=_BACKEND_HELP)

    zoom_cmd = commands.add_parser("zoom", help="enlarge, then sharpen with MSSNet",
                                   description="Enlarge the whole image by --zoom, then sharpen it.")
    common(zoom_cmd)
    zoom_cmd.add_argument("--zoom", type=float_in_range(0, MAX_FACTOR, low_open=True), required=True, metavar="Z",
                          help=f"scale factor, > 0 and <= {MAX_FACTOR:g}; output is round(W·Z) × round(H·Z)")
    zoom_cmd.add_argument("--method", choices=_METHODS, default="mssnet",
                          help="mssnet = bicubic then MSSNet (default); bicubic or lanczos alone")
    zoom_cmd.add_argument("--strength", type=float_in_range(*STRENGTH_LIMITS), metavar="A",
                          help="with mssnet, apply A times MSSNet's correction at every 2× step (1 = its output as "
                          "is; default: the strength calibrated for each pyramid level, stored in the weights)")
    sharpen_cmd = commands.add_parser("sharpen", help="sharpen with MSSNet, no resizing",
                                      description="Run MSSNet on the image without resizing it.")
    common(sharpen_cmd)
    deep = commands.add_parser("deepzoom", help="write a sharpened deep-zoom site (DZI layers + index.html)",
                               description="Write the bicubic, MSSNet and edge-gain Deep Zoom layers of an image "
                               "and an index.html that opens them in the bundled viewer.")
    deep.add_argument("input", type=Path, metavar="INPUT", help="an image file")
    deep.add_argument("-o", "--output", type=Path, required=True, metavar="FOLDER", help="output folder")
    deep.add_argument("--max-zoom", type=int, choices=(2, 4, 8), default=8,
                      help="zoom of the highest level (default 8: the zoom pyramid's level 3)")
    deep.add_argument("--overlap", type=int, choices=(0, 1), default=1, help="tile overlap in px (default 1)")
    group = deep.add_argument_group("model")
    group.add_argument("--preset", choices=sorted(PRESETS), help="architecture of --weights (default: from shapes)")
    group.add_argument("--weights", type=Path, metavar="PATH", help="checkpoint; default: the bundled weights")
    group.add_argument("--precision", choices=PRECISIONS, default="auto", help="default: auto")
    group.add_argument("--backend", choices=BACKENDS, default="auto", help=_BACKEND_HELP)
    return parser


# ---------------------------------------------------------------------------- work


#: Also read in folder runs; written as PNG (``name.gif`` -> ``name.gif.png``): GIF output would be lossy.
READ_ONLY_SUFFIXES = (".gif",)
#: ``--format`` choices for files written into a folder.
OUTPUT_FORMATS = ("png", "jpg", "same")


def _output_names(files: Sequence[Path], fmt: str) -> list[str]:
    """Output file names for ``files`` written into a folder in ``fmt`` (see :data:`OUTPUT_FORMATS`).

    ``png``/``jpg``: the stem with that suffix (``photo.jpg`` -> ``photo.png``), or the whole name
    plus the suffix where two inputs would share a name (``a.jpg`` and ``a.tif`` -> ``a.jpg.png``,
    ``a.tif.png``); ``same``: the input's name (GIFs get ``.png`` appended)."""
    if fmt == "same":
        return [p.name if p.suffix.lower() in IMAGE_SUFFIXES else p.name + ".png" for p in files]
    suffix = "." + fmt
    stems = [p.stem for p in files]
    return [p.stem + suffix if p.suffix.lower() == suffix or stems.count(p.stem) == 1 else p.name + suffix
            for p in files]


def _jobs(src: Path, dst: Path, fmt: str = "png") -> tuple[list[tuple[Path, Path]], list[str]]:
    """(input, output) file pairs and the names of skipped files (not images by their extension).

    A folder gives one pair per image, named by :func:`_output_names` in ``fmt``; so does a single
    file written into an existing folder."""
    if src.is_dir():
        entries = sorted(p for p in src.iterdir() if p.is_file())
        readable = IMAGE_SUFFIXES + READ_ONLY_SUFFIXES
        files = [p for p in entries if p.suffix.lower() in readable]
        skipped = [p.name for p in entries if p.suffix.lower() not in readable]
        if not files:
            raise ValueError(f"{src}: no images in this folder ({' '.join(s[1:] for s in readable)})")
        if dst.exists() and not dst.is_dir():
            raise ValueError(f"{dst}: the output for a folder must be a folder")
        if dst.exists() and dst.resolve() == src.resolve():
            raise ValueError(f"{dst}: the output folder is the input folder; refusing to overwrite the originals")
        dst.mkdir(parents=True, exist_ok=True)
        names = _output_names(files, fmt)
        return [(p, dst / n) for p, n in zip(files, names, strict=True)], skipped
    if not src.exists():
        raise FileNotFoundError(f"{src}: no such file or folder")
    out = dst / _output_names([src], fmt)[0] if dst.is_dir() else dst
    if out.exists() and out.resolve() == src.resolve():
        raise ValueError(f"{out}: the output is the input; refusing to overwrite it")
    output_format(out)  # unknown extension: fail now, not after the work
    if not out.parent.is_dir():
        raise FileNotFoundError(f"{out.parent}: the output folder does not exist")
    return [(src, out)], []


def _resize(image: np.ndarray, factor: float, method: str) -> np.ndarray:
    """image: (H, W, C) float32 -> (round(H·f), round(W·f), C), bicubic or Lanczos."""
    if method == "lanczos":
        h, w = image.shape[:2]
        size = (max(1, round(w * factor)), max(1, round(h * factor)))
        out = cv2.resize(image, size, interpolation=cv2.INTER_LANCZOS4)
        return out if out.ndim == 3 else out[:, :, None]
    return zoom(image, factor).view


class _TileBar:
    """``progress(done, total)`` callback showing a tqdm bar of tiles (on a terminal only).

    ``single=True`` (a one-file run): the bar shows from the start, before the first tile is
    done, and even for a one-tile image; otherwise only when there is more than one tile."""

    def __init__(self, label: str, single: bool = False, file=None):
        self.label, self.single, self.file, self.bar = label, single, file or sys.stderr, None
        if single:
            self._open(None)

    def _open(self, total: int | None) -> None:
        self.bar = tqdm(total=total, desc=self.label, unit="tile", leave=False, disable=None, file=self.file)

    def __call__(self, done: int, total: int) -> None:
        if total <= 1 and not self.single:
            return
        if self.bar is None:
            self._open(total)
        if self.bar.total != total:
            self.bar.total = total
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _process(src: Path, dst: Path, args: argparse.Namespace, model: MSSNet | None) -> None:
    """Load ``src``, resize and/or sharpen it, write ``dst``."""
    image = load_image(src)
    array = image.array  # (H, W, 3 or 4) float32
    if args.command == "zoom":
        h, w = array.shape[:2]
        out_w, out_h = max(1, round(w * args.zoom)), max(1, round(h * args.zoom))
        if out_w * out_h > MAX_OUTPUT_PIXELS:
            raise ValueError(
                f"output would be {out_w}×{out_h} = {out_w * out_h:,} pixels, "
                f"above the limit of {MAX_OUTPUT_PIXELS:,}; use a smaller --zoom"
            )
        level = pyramid_level(args.zoom)
        if args.method == "mssnet" and w * h << (2 * level) > MAX_OUTPUT_PIXELS:
            raise ValueError(
                f"×{args.zoom:g} is sharpened at ×{1 << level} first: {w << level}×{h << level} = "
                f"{w * h << (2 * level):,} pixels, above the limit of {MAX_OUTPUT_PIXELS:,}; use a smaller --zoom"
            )
        if model is None:
            array = _resize(array, args.zoom, args.method)
    rgb, alpha = array[:, :, :3], (array[:, :, 3] if array.shape[2] == 4 else None)
    if model is not None:
        bar = _TileBar(src.name, single=not args.input.is_dir())
        rgb = np.ascontiguousarray(rgb)
        try:
            if args.command == "zoom":
                rgb = pyramid_zoom_image(model, rgb, args.zoom, precision=args.precision,
                                         tile=args.tile or DEFAULT_TILE, progress=bar, strength=args.strength)
                alpha = None if alpha is None else zoom(alpha, args.zoom).view
            else:
                rgb = sharpen(model, rgb, precision=args.precision, tile=args.tile, progress=bar)
        finally:
            bar.close()
    rgb = np.clip(rgb, 0.0, 1.0)  # bicubic and Lanczos overshoot a little
    alpha = None if alpha is None else np.clip(alpha, 0.0, 1.0)
    deep = image.bit_depth == 16 and dst.suffix.lower() in SIXTEEN_BIT_SUFFIXES
    save_image(dst, rgb, alpha, bit_depth=16 if deep else 8)


#: The viewer files an index.html of ``deepzoom`` needs, copied beside it.
UI_DIR = Path(__file__).resolve().parent.parent / "assets" / "ui"
VIEWER_FILES = ("openseadragon/openseadragon.min.js", "openseadragon/LICENSE.txt", "map.js", "studio.css")
#: Placeholder in assets/ui/deepzoom_index.html for the viewer info (JSON).
INFO_PLACEHOLDER = "/*ZS_INFO*/null"


def _deep_zoom(args: argparse.Namespace) -> int:
    """``deepzoom``: every tile of the three layers, the viewer files and index.html into the output folder."""
    image = load_image(args.input)
    w, h = image.size
    top = pyramid_level(args.max_zoom)
    if (w << top) * (h << top) > MAX_OUTPUT_PIXELS:
        raise ValueError(f"×{args.max_zoom} would be {w << top}×{h << top} = {(w << top) * (h << top):,} pixels, "
                         f"above the limit of {MAX_OUTPUT_PIXELS:,}; use a smaller --max-zoom")
    model = load_model(args.weights, preset=args.preset)
    rgb = np.ascontiguousarray(image.array[:, :, :3])
    pyramid = ZoomPyramid(rgb, model, cache=TileCache(1024 * 2**20), precision=args.precision)
    deep = DeepZoomImage(pyramid, overlap=args.overlap, top=top)
    bar = _TileBar(args.input.name, single=True)
    try:
        info = write_deep_zoom(deep, args.output, progress=bar)
    finally:
        bar.close()
    info["id"] = info["name"] = args.input.name  # the page's title
    for name in VIEWER_FILES:
        target = args.output / Path(name).name
        shutil.copyfile(UI_DIR / name, target)
    page = (UI_DIR / "deepzoom_index.html").read_text(encoding="utf-8")
    assert INFO_PLACEHOLDER in page, "the page template lost its info placeholder"
    data = json.dumps(info).replace("<", "\\u003c")  # safe inside <script>
    (args.output / "index.html").write_text(page.replace(INFO_PLACEHOLDER, data), encoding="utf-8")
    print(f"wrote {args.output}/index.html and {sum(1 for _ in deep.tiles())} tiles (×{args.max_zoom} at the top)",
          file=sys.stderr)
    return 0


def _message(exc: BaseException, path: Path | None) -> str:
    """One line naming the file: ``<file>: <message>``."""
    if isinstance(exc, OSError) and exc.filename and exc.strerror:
        return f"{exc.filename}: {exc.strerror}"
    if isinstance(exc, MemoryError):
        text = "out of memory (try a smaller --zoom or a --tile size)"
    else:
        lines = str(exc).strip().splitlines()
        text = lines[0] if lines else type(exc).__name__
    if path is None or str(path) in text:
        return text
    return f"{path}: {text}"


def _report(exc: BaseException, path: Path | None) -> None:
    tqdm.write(f"error: {_message(exc, path)}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (0 ok, 2 on any error)."""
    try:
        args = build_parser().parse_args(argv)
    except _UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    with using(args.backend):  # every MSSNet pass of the command, the pyramid's tiles included
        return _run_command(args)


def _run_command(args: argparse.Namespace) -> int:
    """The parsed command; return the exit status."""
    if args.command == "deepzoom":
        try:
            return _deep_zoom(args)
        except (ValueError, OSError, MemoryError) as exc:
            _report(exc, args.input)
            return EXIT_ERROR
        except KeyboardInterrupt:
            print("error: interrupted", file=sys.stderr)
            return 130
    try:
        jobs, skipped = _jobs(args.input, args.output, args.format)
        needs_model = args.command == "sharpen" or args.method == "mssnet"
        model = load_model(args.weights, preset=args.preset) if needs_model else None
    except (ValueError, OSError) as exc:  # ImageError and CheckpointError are ValueErrors
        _report(exc, None)
        return EXIT_ERROR

    failed = 0
    try:
        for src, dst in tqdm(jobs, desc="images", unit="img", disable=None if len(jobs) > 1 else True,
                             file=sys.stderr):
            try:
                _process(src, dst, args, model)
            except (ValueError, OSError, MemoryError) as exc:
                failed += 1
                _report(exc, src)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    if args.input.is_dir():
        shown = ", ".join(skipped[:5]) + (", ..." if len(skipped) > 5 else "")
        print(f"{len(jobs) - failed} of {len(jobs)} images written to {args.output}"
              + (f"; {failed} failed" if failed else "")
              + (f"; skipped {len(skipped)} other file(s): {shown}" if skipped else ""), file=sys.stderr)
    return EXIT_ERROR if failed else 0


if __name__ == "__main__":
    sys.exit(main())
