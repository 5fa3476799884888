"""The answer to "how does the network decide which edges to sharpen?", for the region on screen.

:func:`answer_markdown` gives two or three plain sentences: how MSSNet learned what to sharpen (the
bundled weights' training recipe, ``assets/weights/README.md``) and what it did in this view, in the
one measure (:mod:`explain.measure`) per structure class (:mod:`explain.decision`). :func:`why_markdown`
lists the panels that back each claim. Both take the studio's :class:`mssnet.serve.views.View`, the object
every panel gets; no network pass (the decision panel's numbers, computed once per view when passed).
"""

from __future__ import annotations

from mssnet.serve.views import View

from .decision import Decision, decide
from .measure import DEFINITION, NAME, NEAR_ZERO, UNCHANGED_PCT, change_phrase, format_pct

__all__ = ["LEARNED", "answer_markdown", "why_markdown"]

#: How the bundled weights learned what to sharpen (assets/weights/README.md).
LEARNED = ("MSSNet learned from pairs of pictures: a photograph, and the same photograph shrunk and enlarged "
           "again, which blurs it. It learned the correction that undoes that blur.")
#: The same for weights the studio did not train (e.g. the original GoPro checkpoints).
LEARNED_OTHER = ("These weights were not trained by the studio on zoom blur (the original MSSNet weights learned to "
                 "remove camera-motion blur from pairs of blurred and sharp video frames), so they sharpen what "
                 "that blur takes away, which is not quite what zooming does.")


def _bundled(label: str) -> bool:
    """Whether a model label names the studio's bundled zoom weights."""
    return label.startswith("MSSNet-") or "zoom" in label.lower()


def _class_part(decision: Decision) -> str:
    """'+24 % on corners and fine texture, +9 % on edges and lines and +35 % in flat areas' — the classes
    large enough to speak for, largest change first; near-zero and unchanged classes said as such."""
    parts = []
    classes = sorted((s for s in decision.structure.values() if s.large_enough),
                     key=lambda s: -(s.pct if s.pct is not None else -1e9))
    for s in classes:
        where = ("in " if s.name == "flat areas" else "on ") + s.name
        pct = s.pct
        if pct is None:
            parts.append(f"almost no edges {where} before or after" if s.after < NEAR_ZERO else
                         f"a little {NAME} {where}, which had almost none")
        else:
            parts.append(f"{format_pct(pct)} {where}" + (" (unchanged)" if abs(pct) < UNCHANGED_PCT else ""))
    if not parts:
        return ""
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def answer_markdown(view: View, decision: Decision | None = None) -> str:
    """Two or three sentences: how MSSNet learned what to sharpen, and what it did in this view (the whole
    view's change of edge strength and each structure class's). ``decision``: the view's
    :func:`explain.decision.decide` when already computed. -> Markdown."""
    learned = LEARNED if _bundled(view.model_label) else LEARNED_OTHER
    if view.level == 0:
        return (f"{learned} At ×{view.zoom:g} nothing is enlarged, so there is no blur to undo and MSSNet leaves "
                "the image as it is: zoom in to see what it sharpens.")
    if decision is None:
        decision = decide(view.bicubic, view.sharpened)
    whole = change_phrase(decision.before, decision.after)
    here = f"Here, at ×{view.zoom:g}, it {whole} over the view"
    classes = _class_part(decision)
    if classes:
        here += f" ({classes})"
    return f"{learned} {here}."


def why_markdown(view: View) -> str:
    """The panels that back each claim of :func:`answer_markdown`, as a Markdown list (for a fold)."""
    lines = [f"- **The measure.** {DEFINITION}",
             "- **How it learned** — the *Lesson* (input → model → output) and the model card "
             "(`assets/weights/README.md`): photographs shrunk and enlarged back, the network trained to undo it.",
             f"- **How much, per kind of pixel** — the *decision panel*: the bars give the change of {NAME} for "
             "edges and lines, corners and fine texture, flat areas, by contrast and by orientation; the table "
             "under it the numbers.",
             f"- **Where** — the *edge maps*: {NAME} of both views on one scale, and the change map (red: stronger, "
             "blue: weaker).",
             "- **What in the input drove it** — the *saliency* pair: a map that passes the random-weights check, "
             "beside the same map with random weights; and the *attribution* of one window.",
             "- **Not where the eye looks** — *visual saliency vs MSSNet*: conspicuity from the image alone beside "
             f"MSSNet's {NAME} gain, with their correlation.",
             "- **Coarse to fine** — the *Stages*: what each of MSSNet's six stages changed and its "
             f"{NAME}.",
             "- **Is it right?** — *Simulate*: the same zoom on a crop whose true detail is known, scored by PSNR."]
    if view.level == 0:
        lines.insert(1, "- At ×1 no MSSNet pass runs; the panels show the image itself.")
    return "\n".join(lines)
