"""The awkward-file corpus (tests/corpus.py) through all three doors: the Python API, the
command line and the running app through ``gradio_client``.

Each file gives a correct result (rotation applied, alpha kept, 16-bit kept) or one
clear line of error; nothing hangs, and the server keeps answering afterwards.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from corpus import Case, build, non_finite_arrays
from PIL import Image

import mssnet
from mssnet.__main__ import main


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> tuple[Path, dict[str, Case]]:
    folder = tmp_path_factory.mktemp("corpus")
    return folder, {c.name: c for c in build(folder)}


def _names() -> list[str]:
    """Case names, known without writing files (build into a throwaway folder once)."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        return [c.name for c in build(Path(tmp))]


NAMES = _names()


@pytest.fixture(scope="module")
def tiny_model(tiny_weights):
    return mssnet.load_model(tiny_weights)


def _one_line(message: str, *parts: str) -> None:
    assert message.strip() and "\n" not in message.strip(), message
    assert "Traceback" not in message
    for part in parts:
        assert part.lower() in message.lower(), (part, message)


def _png_facts(path: Path) -> tuple[tuple[int, int], bool, bool]:
    """(width, height), has alpha, is 16-bit — of an image file written by a door."""
    raw = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    with Image.open(path) as im:
        size = im.size
    channels = 1 if raw.ndim == 2 else raw.shape[2]
    return size, channels in (2, 4), raw.dtype == np.uint16


# ------------------------------------------------------------------ the Python API


@pytest.mark.parametrize("name", NAMES)
def test_python_api(corpus, tiny_model, name):
    folder, cases = corpus
    case = cases[name]
    if not case.good:
        with pytest.raises(mssnet.ImageError) as exc:
            mssnet.load_image(folder / name)
        _one_line(str(exc.value), name, case.error)
        return
    image = mssnet.load_image(folder / name)
    assert image.size == case.size
    assert (image.alpha is not None) == case.alpha
    assert (image.bit_depth == 16) == case.deep
    w, h = case.size
    array = image.array  # (H, W, 3 or 4) float32
    zoomed = mssnet.zoom(array, 2.0).view
    assert zoomed.shape == (2 * h, 2 * w, array.shape[2])
    sharp = mssnet.sharpen(tiny_model, np.clip(zoomed, 0, 1))
    assert sharp.shape == zoomed.shape and sharp.dtype == zoomed.dtype and np.isfinite(sharp).all()
    if case.alpha:  # alpha passes through unchanged
        np.testing.assert_array_equal(sharp[..., 3], np.clip(zoomed, 0, 1)[..., 3])
    view = mssnet.ZoomPyramid(image.rgb, tiny_model).view(3.0, None, (32, 24))
    assert view.sharpened.shape == (24, 32, 3)
    assert mssnet.pyramid_zoom_image(tiny_model, image.rgb, 3.0).shape == (round(3 * h), round(3 * w), 3)


@pytest.mark.parametrize("kind", ["nan", "inf", "-inf"])
def test_python_api_refuses_non_finite_arrays(tiny_model, kind):
    array = non_finite_arrays()[kind]
    calls = [
        lambda: mssnet.sharpen(tiny_model, array),
        lambda: mssnet.sharpen_tensor(tiny_model, torch.from_numpy(array).permute(2, 0, 1)[None]),
        lambda: mssnet.zoom(array, 2.0),
        lambda: mssnet.zoom(array, 2.0, viewport=(8, 8)),
        lambda: mssnet.ZoomPyramid(array, tiny_model),
        lambda: mssnet.pyramid_zoom_image(tiny_model, array, 3.0),
    ]
    for call in calls:
        with pytest.raises(ValueError, match="NaN or infinite") as exc:
            call()
        _one_line(str(exc.value))


# ------------------------------------------------------------------ the command line


@pytest.mark.parametrize("name", NAMES)
def test_cli(corpus, tiny_weights, tmp_path, capsys, name):
    folder, cases = corpus
    case = cases[name]
    out = tmp_path / (Path(name).stem + ".png")
    code = main(["zoom", str(folder / name), "-o", str(out), "--zoom", "3", "--weights", str(tiny_weights)])
    err = capsys.readouterr().err
    if not case.good:
        assert code == 2 and not out.exists()
        _one_line(err, "error: ", name, case.error)
        return
    assert code == 0, err
    size, alpha, deep = _png_facts(out)
    assert size == (3 * case.size[0], 3 * case.size[1])
    assert (alpha, deep) == (case.alpha, case.deep)


def test_cli_folder_run_writes_every_good_file(corpus, tiny_weights, tmp_path, capsys):
    folder, cases = corpus
    (folder / "readme.txt").write_text("not an image, skipped by extension")
    out = tmp_path / "out"
    try:
        code = main(["zoom", str(folder), "-o", str(out), "--zoom", "2", "--weights", str(tiny_weights)])
    finally:
        (folder / "readme.txt").unlink()
    err = capsys.readouterr().err
    assert code == 2
    good = {n for n, c in cases.items() if c.good}
    written = {n: Path(n).stem + ".png" for n in good}  # folder runs write PNG by default (--format png)
    assert {p.name for p in out.iterdir()} == set(written.values())
    for name in good:
        with Image.open(out / written[name]) as im:
            assert im.format == "PNG", name
        size, alpha, deep = _png_facts(out / written[name])
        assert size == (2 * cases[name].size[0], 2 * cases[name].size[1]), name
        assert (alpha, deep) == (cases[name].alpha, cases[name].deep), name  # PNG keeps alpha and 16 bits
    assert "skipped 1 other file(s): readme.txt" in err
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(errors) == len(cases) - len(good)
    for name, case in cases.items():
        if not case.good:
            assert sum(name in line and case.error in line.lower() for line in errors) == 1, (name, errors)
    assert f"{len(good)} of {len(cases)} images written" in err


# ------------------------------------------------------------------ the running app (gradio_client)


@pytest.fixture(scope="module")
def client(tiny_weights):
    gradio_client = pytest.importorskip("gradio_client")
    from bench.serving import running

    with running(tiny_weights) as (url, _demo):
        yield gradio_client.Client(url, verbose=False)


def _call(client, api_name: str, *args, timeout: float = 120):
    """One request, with a deadline so that a hang fails the test instead of blocking it."""
    return client.submit(*args, api_name=api_name).result(timeout=timeout)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::Warning:gradio.queueing")
def test_app_through_gradio_client(client, corpus):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    folder, cases = corpus
    good_file = handle_file(str(folder / "seven-by-five.png"))
    for name, case in cases.items():
        upload = handle_file(str(folder / name))
        if case.good:
            result = _call(client, "/zoom_sharpen_full", upload, 1.5, None)
            size, alpha, deep = _png_facts(Path(result))
            assert size == (round(1.5 * case.size[0]), round(1.5 * case.size[1])), name
            assert (alpha, deep) == (case.alpha, case.deep), name
            bicubic, sharp, info = _call(client, "/zoom_sharpen", upload, 3.0, None, None, 32, None)
            assert Image.open(sharp).size == (32, 32) and Image.open(bicubic).size == (32, 32)
            assert info["level"] == 2 and info["zoom"] == pytest.approx(3.0), name  # ×3 reads level ⌈log2 3⌉
            tiles = info["tiles"]
            assert set(tiles) == {"computed", "reused"} and tiles["computed"] + tiles["reused"] >= 1, name
            assert 0.0 <= info["strength"] <= 3.0, name  # the calibrated α of the last 2× step
        else:
            for api, args in (("/zoom_sharpen", (3.0, None, None, 32, None)), ("/zoom_sharpen_full", (2.0, None))):
                with pytest.raises(AppError) as exc:
                    _call(client, api, upload, *args)
                _one_line(str(exc.value), case.error)
        # whatever came before, the server answers the next request
        assert Image.open(_call(client, "/zoom_sharpen_full", good_file, 2.0, None)).size == (14, 10)

