"""The studio's result objects as the Markdown the app shows (one function per panel).

Pure text: every number comes from :mod:`mssnet.studio`, :mod:`explain.window` and
:mod:`explain.studio` result objects; nothing here computes, and the app never reads
this text back.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path

from mssnet.pipeline import zoom_steps
from mssnet.studio import Source, View

from .studio import Simulation, StageTable, SweepRow
from .window import WindowExplanation

__all__ = ["fmt_seconds", "preview_timing_markdown", "simulation_markdown", "source_markdown", "stages_markdown",
           "sweep_markdown", "timing_markdown", "weights_loaded_markdown", "weights_note", "window_markdown"]

#: Diffusion Index bounds of "concentrated" and "moderately spread".
DI_CONCENTRATED, DI_MODERATE = 25, 50


def fmt_seconds(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def _step_list(steps: Sequence[float]) -> str:
    """'2 steps, ×2.00 then ×1.50' for the zoom step factors."""
    return f"{len(steps)} steps, " + " then ".join(f"×{s:.2f}" for s in steps)


def _steps_phrase(zoom: float) -> str:
    """'in one step' or 'in 2 steps, ×2.00 then ×1.50 (bicubic + MSSNet each)'."""
    steps = zoom_steps(zoom)
    return "in one step" if len(steps) == 1 else f"in {_step_list(steps)} (bicubic + MSSNet each)"


def _strength_phrase(view: View) -> str:
    """'; correction strength α = 0.37 (calibrated for a ×1.50 step)' — empty when α is 1."""
    if not view.strengths or all(a == 1.0 for a in view.strengths):
        return ""
    if not any(view.strengths):
        return "; correction strength α = 0: without zoom blur there is nothing to undo"
    if len(view.strengths) == 1:
        return f"; correction strength α = {view.strengths[0]:.2f} (calibrated for a ×{view.steps[0]:.2f} step)"
    return "; correction strength α = " + " then ".join(f"{a:.2f}" for a in view.strengths) + " (calibrated per step)"


def source_markdown(source: Source) -> str:
    """The image's name, size and mode, with a note for each unusual property."""
    w, h = source.size
    lines = [f"**{html.escape(source.name)}**: {w}×{h} px, {source.mode}, {source.bit_depth}-bit"]
    if source.alpha is not None:
        lines.append("Transparency: the views show the colour channels; the download keeps the alpha.")
    if source.bit_depth == 16:
        lines.append("16-bit image: processed in floating point, shown as 8-bit, downloaded as 16-bit PNG.")
    if source.mode in ("L", "LA", "1", "I;16", "I", "F"):
        lines.append("Gray image: processed as RGB (all three channels equal).")
    if min(w, h) < 64:
        lines.append("Very small image: at any zoom the viewport shows single pixels enlarged.")
    return "  \n".join(lines)


def timing_markdown(view: View, cached: bool) -> str:
    """The time line under the controls: each step of this view (heat maps once drawn)."""
    parts = [f"bicubic zoom {fmt_seconds(view.seconds['bicubic zoom'])}"]
    mss = fmt_seconds(view.seconds["MSSNet"])
    if len(view.steps) > 1:
        mss += f" ({_step_list(view.steps)})"
    parts.append(f"MSSNet 0 ms (cached; computed in {mss})" if cached else f"MSSNet {mss}")
    if "heat maps" in view.seconds:
        parts.append(f"heat maps {fmt_seconds(view.seconds['heat maps'])}")
    x0, y0, w, h = view.rect
    return (f"Time: {' · '.join(parts)}  \nView {view.viewport}×{view.viewport} px at ×{view.zoom:.2f} of "
            f"source region x {x0:.0f}–{x0 + w:.0f}, y {y0:.0f}–{y0 + h:.0f}" + _strength_phrase(view))


def preview_timing_markdown(seconds: float) -> str:
    """The time line while the slider moves (bicubic only)."""
    return f"Time: bicubic zoom {fmt_seconds(seconds)} · MSSNet: runs when you release the slider"


def _spread(di: float) -> str:
    if di < DI_CONCENTRATED:
        return ("the attribution is **concentrated** near the window: MSSNet sharpened these edges "
                "mostly from the pixels right around them.")
    if di < DI_MODERATE:
        return ("the attribution is **moderately spread**: besides the window, MSSNet used "
                "structure from the surrounding area (edges continuing through the window).")
    return ("the attribution is **widely spread** over the crop: MSSNet drew on context far from "
            "the window, which its coarse-to-fine, multi-scale design makes possible.")


def window_markdown(result: WindowExplanation) -> str:
    """What the attribution of a window means, with its numbers."""
    if result.attribution is None:
        return (f"At ×{result.zoom:.2f} there is no zoom blur to undo: the calibrated correction strength "
                "is 0, MSSNet's view is the bicubic view, and no pixel pushed any edge. Zoom in to see "
                "what the network sharpens.")
    last = (f" (the last of {result.zoom_steps} zoom steps: the bicubic enlargement of the previous step's "
            "result)" if result.zoom_steps > 1 else " (the bicubic view)")
    strength = f", at the calibrated correction strength α = {result.strength:.2f}" if result.strength != 1.0 else ""
    _, _, side, _ = result.window
    crop = result.crop[2]
    return (f"**Diffusion Index {result.diffusion_index:.1f}** (0 = a few pixels, 100 = evenly everywhere): "
            f"{_spread(result.diffusion_index)}  \n"
            f"Explained quantity: edge strength MSSNet *added* inside the {side}×{side} px window "
            f"(sum of Sobel gain {result.gain:+.3f}{strength}). The map shows which pixels of MSSNet's input{last}, "
            f"in a {crop}×{crop} px crop around the window, pushed that number up or down; bright = strong "
            f"influence.  \nTime: {result.method}, {result.gradients} gradient step(s): "
            f"{fmt_seconds(result.seconds)}")


def stages_markdown(table: StageTable, seconds: float) -> str:
    """The stage table with what the stages are."""
    stepped = len(table.steps) > 1
    rows = ["| output | mean edge energy | vs MSSNet's input |", "| --- | ---: | ---: |",
            f"| input ({'last step' if stepped else 'bicubic view'}) | {table.input_energy:.4f} | |"]
    for name, energy in table.energies.items():
        ratio = table.ratio(name)
        rows.append(f"| {name} | {energy:.4f} | {'' if ratio is None else f'{ratio:.2f}×'} |")
    steps = (f"This ×{table.zoom:.2f} zoom ran in {_step_list(table.steps)}; the "
             "stages shown are the last step's, whose input is the bicubic enlargement of the previous "
             "step's sharpened image.  \n" if stepped else "")
    applied = ("" if table.strength == 1.0 else f"The view shows input + {table.strength:.2f} × (final stage − "
               f"input): the correction strength calibrated for ×{table.steps[-1]:.2f} steps.  \n")
    return (steps + "Each stage adds a correction to the blurry input; the coarse stage fixes the large "
            "edges at half resolution, the later stages add finer and finer detail.  \n" + applied + "\n"
            + "\n".join(rows) + f"\n\nTime: figure {fmt_seconds(seconds)}")


def sweep_markdown(rows: Sequence[SweepRow], seconds: float) -> str:
    """The sweep's table of edge energies and times."""
    lines = ["| zoom | edge energy bicubic | edge energy MSSNet | MSSNet time |", "| ---: | ---: | ---: | ---: |"]
    for row in rows:
        took = "cached" if row.seconds is None else fmt_seconds(row.seconds)
        lines.append(f"| ×{row.factor:g} | {row.bicubic_energy:.4f} | {row.mssnet_energy:.4f} | {took} |")
    return ("The further you zoom, the wider bicubic smears each edge and the lower its edge energy. "
            "The gap between the curves is what MSSNet puts back.  \n\n" + "\n".join(lines)
            + f"\n\nTime: total {fmt_seconds(seconds)}")


def simulation_markdown(sim: Simulation) -> str:
    """Simulate's scores and how to read its figures."""
    cw, ch = sim.size
    verdict = "closer to" if sim.psnr[1] > sim.psnr[0] else "further from"
    return (f"The {cw}×{ch} px crop around the zoom centre is the **ground truth**. It was shrunk "
            f"×{sim.zoom:.2f} and enlarged back with bicubic (the blur of zooming); MSSNet enlarged and sharpened "
            f"it {_steps_phrase(sim.zoom)}. "
            f"MSSNet's result is **{verdict}** the truth than bicubic.\n\n"
            "| | PSNR (Y) | SSIM (Y) |\n| --- | ---: | ---: |\n"
            f"| bicubic | {sim.psnr[0]:.2f} dB | {sim.ssim[0]:.4f} |\n"
            f"| MSSNet | {sim.psnr[1]:.2f} dB ({sim.gain_db:+.2f}) | "
            f"{sim.ssim[1]:.4f} ({sim.ssim[1] - sim.ssim[0]:+.4f}) |\n\n"
            "The spectrum shows what came back: power to the right of the dashed line (finer than the "
            "shrunk image could hold) that follows the black curve is recovered detail; power above it "
            "is invented. Borders of "
            f"{sim.shave} px are left out of the scores.  \nTime: blur + MSSNet {fmt_seconds(sim.seconds)}")


def weights_note(path: Path | None) -> str:
    """The weights file behind a model label."""
    return f"Weights file: `{path.name}`" if path else ""


def weights_loaded_markdown(path: str | Path, config) -> str:
    """After an upload: the file's name and the architecture read from it."""
    return f"Loaded **{html.escape(Path(path).name)}**: MSSNet-{config.name or 'custom'} (wf={config.wf})."
