"""The studio's result objects as the Markdown the app shows (one function per panel).

Pure text: every number comes from :mod:`mssnet.serve.views`, :mod:`explain.window` and
:mod:`explain.studio` result objects; nothing here computes, and the app never reads
this text back.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path

from mssnet.pyramid.levels import pyramid_level
from mssnet.serve.session import MAX_DOWNLOAD_PIXELS, SWEEP_FACTORS
from mssnet.serve.source import Source
from mssnet.serve.views import View

from .decision import Decision, decision_sentence, decision_table_markdown
from .measure import NAME, change_text
from .sanity import RandomisationCheck
from .spread import attribution_shares
from .studio import Simulation, StageChanges, StageChecks, SweepRow
from .truth import TruthCheck, truth_sentence
from .window import WindowExplanation

__all__ = ["PAGE", "decision_markdown", "fmt_seconds", "randomisation_markdown",
           "decision_summary_markdown", "simulation_markdown", "source_markdown",
           "stage_changes_markdown",
           "stages_markdown", "sweep_markdown", "timing_markdown", "weights_loaded_markdown", "weights_note",
           "window_markdown"]

#: The page's fixed text: intro, keys, and the note at the top of each tab (app.py lays it out).
PAGE = {
    "maps": ("### Where the edges changed\nBoth edge maps share one colour scale: the brighter one has the stronger"
             " edges. Signed maps are red/blue around white = 0."),
    "decision": ("### Where the network added sharpness\nThe bicubic view's pixels sorted by structure, contrast and "
                 "orientation, and each kind's share of the sharpness MSSNet added (the structure bars add up to "
                 "100 %)."),
    "saliency": ("### What in the input drove it (saliency)\nFor every pixel of the view: would making it brighter "
                 "raise (red) or lower (blue) the sharpness MSSNet adds to the whole view? Beside it the same map "
                 "for a network with random weights: a map worth reading differs from it."),
    "attribution": ("The **window** (green) starts on the view's strongest sharpened edge; click the view "
                    "here to move it (the view is the middle of the map when it is still), then press *Explain "
                    "this window*. The attribution is computed on the blue crop around it."),
    "methods": ("Blur path (LAM): from a blurred input to the real one. Saliency: one gradient. SmoothGrad: gradients"
                " of noisy copies, averaged."),
    "stages": ("MSSNet's six outputs, coarse to fine: how much of the lost detail each stage has put back and how "
               "much it invents (checked where the truth is known), and what each changed in the current view."),
    "simulate": ("The honest check: treat the image as ground truth, shrink a crop by the zoom factor, enlarge it back"
                 " with bicubic and with MSSNet, and measure how close each gets. Uses the zoom slider's factor and "
                 "the zoom centre."),
    "sweep": ("Bicubic and MSSNet at zoom " + ", ".join(f"×{f:g}" for f in SWEEP_FACTORS) + " around the "
              "same centre. The plot checks every zoom on the same crop of the photo: how much detail the zoom "
              "removes, how much of it MSSNet puts back, how much of what it adds is invented. The views go to "
              "the cache, so the slider is instant at these zooms afterwards."),
    "download": (f"Zooms the *whole* image by the slider's factor and sharpens it in tiles (PNG, at most "
                 f"{MAX_DOWNLOAD_PIXELS / 1e6:.1f} MP)."),
    "intro": ("# Zoom & Sharpen\n*When you zoom into an image, how does a neural network decide which edges to "
              "sharpen?* Zoom the map, drag it, slide the curtain: **bicubic** on the left, **MSSNet** on the right."),
    "shortcuts": ("**On the map:** wheel or pinch zooms about the pointer · drag pans · `+` / `−` zoom · `1`–`8` zoom "
                  "×1–×8 · drag the curtain's handle to compare · *Edge gain* shows where MSSNet raised (red) or "
                  "lowered (blue) edge strength · click the overview to go there. The slider and its number box zoom "
                  "the map too; the panels below explain the middle of what is on screen once the map is still. "
                  "**MSSNet at strength α:** the right side is the bicubic view plus α × MSSNet's correction; α was "
                  "measured on training photos as the strength that brings each 2× step closest to the real photo."),
}

#: Diffusion Index bounds of "concentrated" and "moderately spread".
DI_CONCENTRATED, DI_MODERATE = 25, 50


def fmt_seconds(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def _steps_phrase(zoom: float) -> str:
    """How the pyramid rule zooms: 'to level 1 (one 2× step of bicubic + MSSNet), then resampled to ×1.50'."""
    level = pyramid_level(zoom)
    steps = "one 2× step" if level == 1 else f"{level} 2× steps"
    down = "" if 2 ** level == zoom else f", then resampled (Lanczos) to ×{zoom:.2f}"
    return f"to level {level} ({steps} of bicubic + MSSNet){down}"


def _strength_phrase(view: View) -> str:
    """'; correction strength α = 1.05 at level 1, 0.78 at level 2' — empty when every α is 1 or no pass ran."""
    if view.level == 0:
        return "; at ×1 there is no zoom blur to undo: the view is the image"
    if all(a == 1.0 for a in view.strengths):
        return ""
    if len(set(view.strengths)) == 1:
        return f"; correction strength α = {view.strengths[0]:.2f} per 2× step (calibrated)"
    per_level = ", ".join(f"{a:.2f} at level {k}" for k, a in enumerate(view.strengths, 1))
    return f"; correction strength α = {per_level} (calibrated per level)"


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


def tiles_phrase(view: View, cached: bool = False) -> str:
    """'level 1 (×2): 3 tiles computed, 1 reused' — how the pyramid served a view; with ``cached``
    (the view shown again, nothing computed now) every tile under it counts as reused."""
    if view.level == 0:
        return "level 0 (the image itself, no MSSNet)"
    if cached:
        return f"level {view.level} (×{1 << view.level}): {view.tiles_computed + view.tiles_reused} tile(s) reused"
    return (f"level {view.level} (×{1 << view.level}): {view.tiles_computed} tile(s) computed, "
            f"{view.tiles_reused} reused")


def timing_markdown(view: View, cached: bool) -> str:
    """The time line under the controls: each step of this view (heat maps once drawn), with the
    pyramid's tiles computed and reused."""
    parts = [f"bicubic zoom {fmt_seconds(view.seconds['bicubic zoom'])}"]
    if cached or not view.tiles_computed:
        parts.append(f"MSSNet 0 ms (every tile cached; {tiles_phrase(view, cached=True)})")
    else:
        parts.append(f"MSSNet {fmt_seconds(view.seconds['MSSNet'])} ({tiles_phrase(view)})")
    parts[-1] += f" with {html.escape(view.model_label)}"
    if "downsample" in view.seconds:
        parts.append(f"downsample {fmt_seconds(view.seconds['downsample'])}")
    if "heat maps" in view.seconds:
        parts.append(f"heat maps {fmt_seconds(view.seconds['heat maps'])}")
    x0, y0, w, h = view.rect
    return (f"Time: {' · '.join(parts)}  \nView {view.viewport}×{view.viewport} px at ×{view.zoom:.2f} of "
            f"source region x {x0:.0f}–{x0 + w:.0f}, y {y0:.0f}–{y0 + h:.0f}" + _strength_phrase(view))


#: Edge gain per window pixel below which a window counts as "almost unchanged".
GAIN_PER_PIXEL_NEUTRAL = 0.002


def _direction(gain: float, side: int) -> str:
    """The sentence on the sign of the window's edge gain (``side``: the window's side in the
    pixels the gain was summed over)."""
    per_pixel = gain / max(side * side, 1)
    if per_pixel > GAIN_PER_PIXEL_NEUTRAL:
        return (f"MSSNet **sharpened** the edges in this window: their gradients rose by {gain:+.3f} in all "
                f"({per_pixel:+.4f} per pixel).")
    if per_pixel < -GAIN_PER_PIXEL_NEUTRAL:
        return (f"MSSNet **weakened** the edges in this window: their gradients fell by {-gain:.3f} in all "
                f"({per_pixel:+.4f} per pixel): it smoothed what it took for noise or ringing.")
    return (f"MSSNet left this window **almost unchanged** (gradients {gain:+.3f} in all, {per_pixel:+.4f} per pixel): "
            "try a window on an edge that looks crisper on the right.")


def _spread(di: float, inside: float, near: float) -> str:
    """The sentence on where the influence came from (Diffusion Index and shares)."""
    shares = (f"{100 * inside:.0f} % of the influence comes from inside the window and "
              f"{100 * near:.0f} % from within one window width of it")
    if di < DI_CONCENTRATED:
        return (f"The influence is **concentrated**: {shares}; the decision here rests on the pixels right "
                "at the edge, not on the wider scene.")
    if di < DI_MODERATE:
        return (f"The influence is **moderately spread**: {shares}; edges running through the window "
                "and nearby structure took part.")
    return (f"The influence is **widely spread**: only {shares}; MSSNet drew on context far from the "
            "window, which its coarse-to-fine, multi-scale design makes possible.")


def window_markdown(result: WindowExplanation) -> str:
    """What the attribution of a window means, sentences that follow its numbers."""
    if result.attribution is None:
        return (f"At ×{result.zoom:.2f} there is no zoom blur to undo: the calibrated correction strength "
                "is 0, MSSNet's view is the bicubic view, and no pixel pushed any edge. Zoom in to see "
                "what the network sharpens.")
    if result.tile is not None:
        k, row, col = result.tile
        last = (f" for tile (row {row}, column {col}) of level {k} — the pass that produced the pixels under the "
                f"window; its input is the 2× bicubic enlargement of level {k - 1}"
                + (" (the image)" if k == 1 else " (already sharpened)") + ", shown in level pixels")
    else:
        last = " (the bicubic view)"
    strength = f", at the calibrated correction strength α = {result.strength:.2f}" if result.strength != 1.0 else ""
    _, _, side, _ = result.window
    crop = result.input_crop[2]
    return (f"{_direction(result.gain, result.local_window[2])}  \n"
            f"**Diffusion Index {result.diffusion_index:.1f}** (0 = a few pixels, 100 = evenly everywhere). "
            f"{_spread(result.diffusion_index, *attribution_shares(result.attribution, result.local_window))}  \n"
            f"Explained quantity: the gradient MSSNet *added* inside the {side}×{side} px window "
            f"(the sum of the {NAME} change map{strength}). The maps show which pixels of MSSNet's input{last}, in a "
            f"{crop}×{crop} px crop around the window, pushed that number: **red** pixels raised it, "
            "**blue** ones lowered it (signed map); the glow (magnitude) shows how much, whatever the "
            f"direction.  \nTime: {result.method}, {result.gradients} gradient step(s): "
            f"{fmt_seconds(result.seconds)}")


def randomisation_markdown(check: RandomisationCheck) -> str:
    """The "same window, random weights" comparison in two sentences."""
    if check.trained.attribution is None:
        return "Nothing to compare: at this zoom MSSNet applies no correction."
    mag, sig = check.magnitude_similarity, check.signed_similarity

    def level(r: float) -> str:
        return "very similar" if r > 0.7 else "somewhat similar" if r > 0.4 else "nearly unrelated"

    verdict = ("so the signed map shows what training taught the network" if sig < mag - 0.2 else
               "so here even the sign mostly reflects the network's shape, not what it learned")
    return (f"**Same window, random weights** (re-initialised, seed {check.seed}): the magnitude maps are "
            f"{level(mag)} (rank correlation {mag:.2f}) and the signed maps {level(sig)} ({sig:.2f}), "
            f"{verdict}. Gradient added with random weights: {check.random.gain:+.3f} "
            f"(trained: {check.trained.gain:+.3f}).")


def stages_markdown(view: View, checks: StageChecks | None, seconds: float) -> str:
    """The Stages tab's text: each stage checked against the truth (:class:`~explain.studio.StageChecks`) as a
    sentence and a table computed from its numbers, and which pass the view's stage maps come from."""
    level = view.level
    maps = (f"The maps below are this ×{view.zoom:.2f} view's own: the MSSNet pass that made the tile under its "
            f"centre, at pyramid level {level}, whose input is the 2× bicubic enlargement of level {level - 1}"
            + (" (the image)." if level == 1 else " (already sharpened).")
            if level else "At ×1 the view is the image: no pass runs; the maps show what MSSNet would do to it.")
    if checks is None:
        return f"The photo is too small to check the stages against the truth. {maps}"
    names = list(checks.stages)
    first, last = checks.stages[names[0]], checks.stages[names[-1]]
    gains = {names[k]: checks.stages[names[k]].put_back - (checks.stages[names[k - 1]].put_back if k else 0.0)
             for k in range(len(names))}
    best = max(gains, key=gains.__getitem__)
    claim = (f"Checked on {checks.side} px of the photo around the view's centre, shrunk ×2 and enlarged back (one "
             f"2× step, as *Simulate* does): after **{names[0]}** MSSNet has put back {_pc(first.put_back)} of the "
             f"detail the step removed, after **{names[-1]}** {_pc(last.put_back)}; the stage that put back most "
             f"is **{best}** (+{100 * gains[best]:.0f} points). Of what the last stage added, "
             f"{_pc(last.invented)} is not in the photo. The level keeps input + {checks.strength:.2f} × (last stage "
             f"− input): {truth_sentence(checks.result).split(': ', 1)[1]}")
    rows = ["| after stage | put back (of what the step removed) | invented (of what it added) |",
            "| --- | ---: | ---: |"]
    rows += [f"| {name} | {_pc(c.put_back)} | {_pc(c.invented)} |" for name, c in checks.stages.items()]
    rows.append(f"| kept (α = {checks.strength:.2f}) | {_pc(checks.result.put_back)} | "
                f"{_pc(checks.result.invented)} |")
    return claim + "  \n" + maps + "\n\n" + "\n".join(rows) + f"\n\nTime: {fmt_seconds(seconds)}"


def _pc(share: float) -> str:
    return f"{100 * share:.0f} %"


def sweep_markdown(rows: Sequence[SweepRow], seconds: float) -> str:
    """The sweep's checks against the truth (the same crop at every zoom) as a table, with what its numbers show."""
    lines = ["| zoom | the zoom removed (of the photo's detail) | MSSNet put back (of what was removed) | "
             "invented (of what MSSNet added) | view: MSSNet time |", "| ---: | ---: | ---: | ---: | ---: |"]
    for row in rows:
        took = "cached" if row.seconds is None else fmt_seconds(row.seconds)
        c = row.check
        cells = ("–", "–", "–") if c is None else (_pc(c.removed), _pc(c.put_back), _pc(c.invented))
        lines.append(f"| ×{row.factor:g} | " + " | ".join(cells) + f" | {took} |")
    checked = [r for r in rows if r.check is not None]
    claim = ""
    if checked:
        first, last = checked[0], checked[-1]
        claim = (f"Every zoom is checked on the same {first.check.side} px of the photo around the view's centre, "
                 "shrunk by the zoom and zoomed back (as *Simulate* does). ")
    if len(checked) >= 2:
        a, b = first.check, last.check
        claim += (f"At ×{first.factor:g} the zoom removed {_pc(a.removed)} of its detail and MSSNet put back "
                  f"{_pc(a.put_back)} of that; at ×{last.factor:g} it removed {_pc(b.removed)} and MSSNet put back "
                  f"{_pc(b.put_back)}. Of what MSSNet added, {_pc(a.invented)} (×{first.factor:g}) and "
                  f"{_pc(b.invented)} (×{last.factor:g}) is not in the photo.")
    if claim:
        claim += "  \nThe pictures below are the views at each zoom: the further you zoom, the smaller the region.\n\n"
    return claim + "\n".join(lines) + f"\n\nTime: total {fmt_seconds(seconds)}"


def simulation_markdown(sim: Simulation, check: TruthCheck | None = None) -> str:
    """Simulate's scores and how to read its figures; ``check``: the answer's check against the truth for the
    same zoom and centre (:func:`explain.studio.check_against_truth`), said in the answer's words."""
    cw, ch = sim.size
    verdict = "closer to" if sim.psnr[1] > sim.psnr[0] else "further from"
    said = "" if check is None else f" {truth_sentence(check)}"
    return (f"The {cw}×{ch} px crop around the zoom centre is the **ground truth**. It was shrunk "
            f"×{sim.zoom:.2f} and enlarged back with bicubic (the blur of zooming); MSSNet enlarged and sharpened "
            f"it {_steps_phrase(sim.zoom)}. "
            f"MSSNet's result is **{verdict}** the truth than bicubic.{said}\n\n"
            "| | PSNR (Y) | SSIM (Y) |\n| --- | ---: | ---: |\n"
            f"| bicubic | {sim.psnr[0]:.2f} dB | {sim.ssim[0]:.4f} |\n"
            f"| MSSNet | {sim.psnr[1]:.2f} dB ({sim.gain_db:+.2f}) | "
            f"{sim.ssim[1]:.4f} ({sim.ssim[1] - sim.ssim[0]:+.4f}) |\n\n"
            "The spectrum shows what came back: power to the right of the dashed line (finer than the "
            "shrunk image could hold) that follows the black curve is recovered detail; power above it "
            "is invented. Borders of "
            f"{sim.shave} px are left out of the scores.  \nTime: blur + MSSNet {fmt_seconds(sim.seconds)}")


def weights_note(path: Path | None, why: str | None = None) -> str:
    """The weights file behind a model label, and why it is the default (``why``) when it is."""
    if not path:
        return ""
    return f"Weights file: `{path.name}`" + (f". In use by default: {why}." if why else "")


def weights_loaded_markdown(path: str | Path, config) -> str:
    """After an upload: the file's name and the architecture read from it."""
    return f"Loaded **{html.escape(Path(path).name)}**: MSSNet-{config.name or 'custom'} (wf={config.wf})."


def stage_changes_markdown(changes: StageChanges) -> str:
    """What each stage changed, as a table and sentences that follow its numbers."""
    rows = [f"| stage | mean \\|ΔY\\| from the previous | {NAME} change |", "| --- | ---: | ---: |"]
    for name, value in changes.mean_abs_change.items():
        rows.append(f"| {name} | {value:.4f} | {change_text(changes.edge_before[name], changes.edge_after[name])} |")
    first = next(iter(changes.mean_abs_change))
    strongest = changes.strongest
    return (f"The stage that changed the image most: **{changes.busiest}** (mean |ΔY| "
            f"{changes.mean_abs_change[changes.busiest]:.4f}); the one that raised {NAME} most: **{strongest}** "
            f"({change_text(changes.edge_before[strongest], changes.edge_after[strongest])}). The first row compares "
            f"{first} with MSSNet's input; every other row with the stage before it. The maps are amplified on one "
            "shared scale (the factor is on the figure; red: brighter, blue: darker).\n\n" + "\n".join(rows))


def decision_summary_markdown(decision: Decision) -> str:
    """The decision panel's sentence and how the classes are made (the numbers: :func:`decision_table_markdown`)."""
    return (f"**{decision_sentence(decision)}**  \n"
            "Classes come from the structure tensor of the bicubic view (what MSSNet was given): *edges and "
            "lines* have one dominant gradient direction, *corners and fine texture* strong gradients in several "
            "directions (letters' corners, hair, fur, weave), *flat areas* almost none. No extra network pass: the "
            "numbers compare the two views you see.")


def decision_markdown(decision: Decision) -> str:
    """The decision panel: its sentence, how the classes are made, and the table of every class's numbers."""
    return decision_summary_markdown(decision) + "\n\n" + decision_table_markdown(decision)
