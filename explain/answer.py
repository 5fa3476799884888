"""The answer to "how does the network decide which edges to sharpen?", for the region on screen.

:func:`answer_markdown` gives two or three plain sentences: how MSSNet learned what to sharpen (the
bundled weights' training recipe, ``assets/weights/README.md``) and what it did in this view, as shares
of the added sharpness per structure class (:mod:`explain.measure`, :mod:`explain.decision`).
:func:`why_markdown` lists the panels that back each claim. Both take the studio's
:class:`mssnet.serve.views.View`, the object every panel gets; no network pass (the decision panel's
numbers, computed once per view when passed).
"""

from __future__ import annotations

from dataclasses import dataclass

from mssnet.serve.views import View

from .decision import Decision, decide
from .measure import ADDED, ADDED_DEFINITION, DEFINITION, NAME, NEAR_ZERO, change_text
from .truth import TruthCheck, truth_sentence

__all__ = ["LEARNED", "LOCAL_WINDOW", "Locality", "answer_markdown", "locality_sentence", "shares_part", "why_markdown",
           "zoom_text"]

#: How the bundled weights learned what to sharpen (assets/weights/README.md).
LEARNED = "MSSNet learned this from photographs shrunk and enlarged again: it undoes that blur."
#: The same for weights the studio did not train (e.g. the original GoPro checkpoints).
LEARNED_OTHER = ("These weights were not trained by the studio on zoom blur (the original MSSNet weights learned to "
                 "remove camera-motion blur), so they sharpen what that blur takes away, not quite what zooming does.")


#: Side of the window (screen px) whose attribution says how local the decision is.
LOCAL_WINDOW = 8


@dataclass(frozen=True)
class Locality:
    """How local the decision is: ``near`` (0..1), the share of the input gradient of the edge strength MSSNet
    added in a ``side`` px window at the strongest sharpened edge that lies within ``side`` px of the window."""

    near: float
    side: int


def locality_sentence(local: Locality) -> str:
    """'It decides from what is close: at the strongest sharpened edge here, 83 % of what drove the change lies
    within 8 px of it.'"""
    how = "close" if local.near >= 0.5 else "far and near"
    return (f"It decides from what is {how}: at the strongest sharpened edge here, {100 * local.near:.0f} % of what "
            f"drove the change lies within {local.side} px of it.")


def _bundled(label: str) -> bool:
    """Whether a model label names the studio's bundled zoom weights."""
    return label.startswith("MSSNet-") or "zoom" in label.lower()


def zoom_text(zoom: float) -> str:
    """The zoom as the slider shows it (two decimals at most): 3.0 -> '×3', 5.8594 -> '×5.86'."""
    return "×" + f"{zoom:.2f}".rstrip("0").rstrip(".")


def shares_part(decision: Decision) -> str:
    """'71 % of the sharpness MSSNet added went to edges and lines, 24 % to corners and fine texture and 5 % to
    flat areas': the view's added sharpness split by structure class, whole per cents summing to 100; '' when
    MSSNet added none."""
    if decision.added <= 0:
        return ""
    shares = decision.shares()
    parts = [f"{shares[name]} % " + (f"of the sharpness MSSNet added went to {name}" if not k else f"to {name}")
             for k, name in enumerate(n for n, s in decision.structure.items() if s.pixels)]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def answer_markdown(view: View, decision: Decision | None = None, truth: TruthCheck | None = None,
                    local: Locality | None = None) -> str:
    """The decision statement for the view, shortest first: where the sharpness MSSNet added went (shares per
    structure class that add up to 100 %, in bold), with ``truth`` (:func:`explain.truth.truth_check` of this
    spot) how much of the lost detail it put back and how much it invented, then with ``local`` how local its
    decision is (:class:`Locality`; last of the three, so that it joins a text already read), the whole view's
    change of edge strength against bicubic, and, for weights the studio did not train, what they learned
    instead (how the bundled ones learned: :func:`why_markdown`). ``decision``: the view's
    :func:`explain.decision.decide` when already computed. -> Markdown."""
    learned = "" if _bundled(view.model_label) else f" {LEARNED_OTHER}"  # the bundled weights': in the "why?" list
    at = zoom_text(view.zoom)
    if view.level == 0:
        return (f"At {at} nothing is enlarged, so there is no blur to undo and MSSNet leaves the image as it is: "
                "zoom in to see what it sharpens.")
    if decision is None:
        decision = decide(view.bicubic, view.sharpened)
    if decision.before < NEAR_ZERO and decision.after < NEAR_ZERO:
        return f"At {at} this view has almost no edges: there is nothing for MSSNet to sharpen."
    shares = shares_part(decision)
    lead = f"**At {at}, {shares}.**" if shares else f"At {at}, MSSNet made no edge steeper."
    checked = f" {truth_sentence(truth)}" if truth is not None else ""
    rule = f" {locality_sentence(local)}" if local is not None and shares else ""
    whole = f" Over the view: {change_text(decision.before, decision.after)} against bicubic."
    return f"{lead}{checked}{rule}{whole}{learned}"


def why_markdown(view: View) -> str:
    """The panels that back each claim of :func:`answer_markdown`, as a Markdown list (for a fold)."""
    lines = [f"- **The measures.** {ADDED_DEFINITION} {DEFINITION}",
             f"- **How it learned** — {LEARNED} The *Lesson* (input → model → output) and the model card "
             "(`assets/weights/README.md`).",
             f"- **Where the {ADDED} went** — the *decision panel*: the bars give each class's share of it (edges "
             "and lines, corners and fine texture, flat areas; by contrast and by orientation); the table under it "
             f"the numbers, with each class's {NAME} before and after.",
             f"- **Where** — the *edge maps*: {NAME} of both views on one scale, and the change map (red: stronger, "
             "blue: weaker).",
             "- **What in the input drove it** — the *saliency* pair (its button, at the end of *Explore*): a map "
             "that passes the random-weights check, "
             "beside the same map with random weights; and the *attribution* of one window.",
             "- **Not where the eye looks** — *visual saliency vs MSSNet*: conspicuity from the image alone beside "
             f"MSSNet's {NAME} gain, with their correlation.",
             "- **Coarse to fine** — the *Stages*: what each of MSSNet's six stages changed and its "
             f"{NAME}.",
             "- **Is it right?** — the answer's last sentence and *Simulate*: the same zoom on a crop whose true "
             "detail is known; the detail put back and invented against it, and PSNR."]
    if view.level == 0:
        lines.insert(1, "- At ×1 no MSSNet pass runs; the panels show the image itself.")
    return "\n".join(lines)
