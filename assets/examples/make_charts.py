"""Generate the test charts in this folder: a Siemens star, a zone plate and fine text.

    python assets/examples/make_charts.py          # writes the three PNGs next to this file

Each chart puts detail of every size into one picture, so zoom blur is obvious: the
Siemens star's spokes get finer towards the centre, the zone plate's rings rise in
frequency towards the corners, and the text comes in shrinking sizes. Charts are
rendered 4x larger and reduced with area averaging, so they are anti-aliased (no
staircase edges that would themselves look like detail). Only numpy and OpenCV.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

HERE = Path(__file__).resolve().parent
SUPERSAMPLE = 4


def _reduce(big: np.ndarray) -> np.ndarray:
    """Float image rendered SUPERSAMPLE times larger -> uint8 at the final size (area average)."""
    h, w = big.shape[:2]
    small = cv2.resize(big, (w // SUPERSAMPLE, h // SUPERSAMPLE), interpolation=cv2.INTER_AREA)
    return np.clip(np.rint(small * 255.0), 0, 255).astype(np.uint8)


def siemens_star(size: int = 512, spokes: int = 36) -> np.ndarray:
    """Black and white sectors around the centre: ever finer towards the middle. (size, size) uint8."""
    n = size * SUPERSAMPLE
    y, x = np.mgrid[0:n, 0:n].astype(np.float64) + 0.5 - n / 2
    theta = np.arctan2(y, x)
    radius = np.hypot(x, y)
    star = (np.sin(spokes * theta) > 0).astype(np.float64)
    star[radius > 0.47 * n] = 1.0  # white surround
    ring = np.abs(radius - 0.47 * n) < 0.004 * n  # thin outline
    star[ring] = 0.0
    return _reduce(star)


def zone_plate(size: int = 512) -> np.ndarray:
    """cos(k r^2) rings whose frequency rises linearly to 0.5 cycles/pixel at the edge midpoints."""
    n = size * SUPERSAMPLE
    y, x = (np.mgrid[0:n, 0:n].astype(np.float64) + 0.5 - n / 2) / SUPERSAMPLE  # final-pixel units
    r2 = x * x + y * y
    # local frequency f(r) = k r / pi; f = 0.5 cycles/px at r = size / 2 -> k = pi / size
    k = np.pi / size
    return _reduce(0.5 + 0.5 * np.cos(k * r2))


def fine_text(width: int = 512, height: int = 184) -> np.ndarray:
    """Lines of text in shrinking sizes, dark on light. (height, width) uint8."""
    w, h = width * SUPERSAMPLE, height * SUPERSAMPLE
    canvas = np.full((h, w), 245, dtype=np.uint8)  # putText draws on 8-bit images
    lines = [
        (1.6, "Zoom & Sharpen"),
        (1.1, "MSSNet: coarse to fine"),
        (0.8, "Sharp edges carry the detail."),
        (0.6, "Bicubic spreads every edge; the network"),
        (0.45, "decides which blurred edges to restore and which"),
        (0.35, "to leave alone. 0123456789 ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
        (0.28, "The quick brown fox jumps over the lazy dog. 0123456789"),
        (0.22, "The quick brown fox jumps over the lazy dog. The quick brown fox"),
    ]
    y = 0
    for scale, text in lines:
        s = scale * SUPERSAMPLE
        thickness = max(1, round(1.6 * s))
        (_, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, s, thickness)
        y += th + base + round(6 * s) + SUPERSAMPLE * 4
        cv2.putText(canvas, text, (8 * SUPERSAMPLE, y), cv2.FONT_HERSHEY_SIMPLEX, s, 20, thickness, cv2.LINE_AA)
    return _reduce(canvas / 255.0)


def main() -> None:
    charts = {"siemens_star.png": siemens_star(), "zone_plate.png": zone_plate(384), "fine_text.png": fine_text()}
    for name, image in charts.items():
        path = HERE / name
        cv2.imwrite(str(path), image, [cv2.IMWRITE_PNG_COMPRESSION, 9])
        print(f"{path.name}: {image.shape[1]}x{image.shape[0]}, {path.stat().st_size / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
