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


#: The lines of ``fine_text.png``: (font scale, text). A heading, then body text in shrinking
#: sizes, so the middle of the chart (the studio's default zoom centre) holds small text.
FINE_TEXT_LINES = (
    (1.0, "Zoom & Sharpen"),
    (0.6, "MSSNet: coarse to fine"),
    (0.5, "Sharp edges carry the detail."),
    (0.42, "Bicubic spreads every edge; the network"),
    (0.42, "decides which blurred edges to restore"),
    (0.36, "and which to leave alone. 0123456789"),
    (0.36, "ABCDEFGHIJKLMNOPQRSTUVWXYZ abcdefghijklm"),
    (0.3, "The quick brown fox jumps over the lazy dog."),
    (0.3, "Pack my box with five dozen liquor jugs. 0123456789"),
    (0.26, "How vexingly quick daft zebras jump! nopqrstuvwxyz"),
    (0.26, "Sphinx of black quartz, judge my vow. 9876543210"),
    (0.22, "The quick brown fox jumps over the lazy dog. The five boxing"),
    (0.22, "wizards jump quickly. Bright vixens jump; dozy fowl quack."),
    (0.18, "Fine print: every letter here is whole, and nothing runs off the edge."),
)
#: Margin around the text (final pixels).
FINE_TEXT_MARGIN = 8


def fine_text(width: int = 512, lines=FINE_TEXT_LINES) -> np.ndarray:
    """Lines of text in shrinking sizes, dark on light; the height fits the text, so no line is
    cut, and a line too wide for ``width`` is drawn smaller until it fits. (height, width) uint8."""
    margin = FINE_TEXT_MARGIN * SUPERSAMPLE
    w = width * SUPERSAMPLE
    placed, y = [], margin
    for scale, text in lines:
        s = scale * SUPERSAMPLE
        while True:
            thickness = max(1, round(1.6 * s))
            (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, s, thickness)
            if tw <= w - 2 * margin:
                break
            s *= 0.95
        y += th
        placed.append((s, thickness, text, y))
        y += base + round(5 * s) + SUPERSAMPLE * 2
    height = -(-(y + margin - SUPERSAMPLE * 2) // (4 * SUPERSAMPLE)) * 4  # final px, a multiple of 4
    canvas = np.full((height * SUPERSAMPLE, w), 245, dtype=np.uint8)  # putText draws on 8-bit images
    for s, thickness, text, baseline in placed:
        cv2.putText(canvas, text, (margin, baseline), cv2.FONT_HERSHEY_SIMPLEX, s, 20, thickness, cv2.LINE_AA)
    return _reduce(canvas / 255.0)


def main() -> None:
    charts = {"siemens_star.png": siemens_star(), "zone_plate.png": zone_plate(384), "fine_text.png": fine_text()}
    for name, image in charts.items():
        path = HERE / name
        cv2.imwrite(str(path), image, [cv2.IMWRITE_PNG_COMPRESSION, 9])
        print(f"{path.name}: {image.shape[1]}x{image.shape[0]}, {path.stat().st_size / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
