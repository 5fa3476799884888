"""Tests for the command line (python -m mssnet); tiny images, in-process main(argv)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from mssnet.__main__ import main
from mssnet.model import weights

ROOT = Path(__file__).resolve().parents[2]


def _write(path: Path, w: int = 24, h: int = 20, mode: str = "RGB", seed: int = 0) -> Path:
    channels = {"RGB": 3, "RGBA": 4}[mode]
    pixels = np.random.default_rng(seed).integers(0, 256, (h, w, channels), dtype=np.uint8)
    Image.fromarray(pixels, mode).save(path)
    return path


def _size(path: Path) -> tuple[int, int]:
    with Image.open(path) as im:
        return im.size


def _one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ") and "Traceback" not in err
    return lines[0]


# ---------------------------------------------------------------------- zoom only


@pytest.mark.parametrize(("zoom", "method"), [(2, "bicubic"), (1.5, "lanczos"), (0.5, "bicubic"), (2.7, "bicubic")])
def test_zoom_output_size(tmp_path, capsys, zoom, method):
    src = _write(tmp_path / "in.png", 25, 19)
    out = tmp_path / "out.png"
    assert main(["zoom", str(src), "-o", str(out), "--zoom", str(zoom), "--method", method]) == 0
    assert _size(out) == (round(25 * zoom), round(19 * zoom))
    assert capsys.readouterr().err == ""


def test_zoom_bicubic_matches_opencv(tmp_path):
    src = _write(tmp_path / "in.png")
    out = tmp_path / "out.png"
    assert main(["zoom", str(src), "-o", str(out), "--zoom", "2", "--method", "bicubic"]) == 0
    pixels = np.asarray(Image.open(src), np.float32) / 255
    expected = np.clip(cv2.resize(pixels, (48, 40), interpolation=cv2.INTER_CUBIC), 0, 1)
    np.testing.assert_allclose(np.asarray(Image.open(out)) / 255, expected, atol=1 / 255 + 1e-6)


def test_alpha_is_kept_and_resized(tmp_path):
    src = _write(tmp_path / "in.png", mode="RGBA")
    out = tmp_path / "out.png"
    assert main(["zoom", str(src), "-o", str(out), "--zoom", "2", "--method", "bicubic"]) == 0
    with Image.open(out) as im:
        assert im.mode == "RGBA" and im.size == (48, 40)


def test_16bit_input_gives_16bit_png(tmp_path):
    src = tmp_path / "in16.png"
    cv2.imwrite(str(src), np.random.default_rng(0).integers(0, 65536, (20, 24, 3), dtype=np.uint16))
    out = tmp_path / "out16.png"
    assert main(["zoom", str(src), "-o", str(out), "--zoom", "2", "--method", "bicubic"]) == 0
    written = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
    assert written.dtype == np.uint16 and written.shape == (40, 48, 3)


def test_output_into_existing_folder(tmp_path):
    src = _write(tmp_path / "in.png")
    (tmp_path / "out").mkdir()
    assert main(["zoom", str(src), "-o", str(tmp_path / "out"), "--zoom", "1.5", "--method", "bicubic"]) == 0
    assert _size(tmp_path / "out" / "in.png") == (36, 30)


# -------------------------------------------------------------------------- MSSNet


def test_zoom_with_mssnet(tmp_path, tiny_weights, capsys):
    src = _write(tmp_path / "in.png", mode="RGBA")
    out = tmp_path / "out.png"
    argv = ["zoom", str(src), "-o", str(out), "--zoom", "2", "--weights", str(tiny_weights), "--precision", "fp32"]
    assert main(argv) == 0, capsys.readouterr().err
    with Image.open(out) as im:
        assert im.size == (48, 40) and im.mode == "RGBA"


def test_zoom_with_mssnet_follows_the_pyramid_rule(tmp_path, tiny_weights):
    """×3 is level 2 (two 2× steps) resampled to ×3 — exactly pyramid_zoom_image; alpha stays bicubic."""
    import mssnet

    src = _write(tmp_path / "in.png", 24, 20, mode="RGBA")
    base = ["zoom", str(src), "--zoom", "3", "--weights", str(tiny_weights), "--precision", "fp32"]
    assert main([*base, "-o", str(tmp_path / "out.png"), "--tile", "64"]) == 0
    out = np.asarray(Image.open(tmp_path / "out.png"))
    assert out.shape == (60, 72, 4)
    image = mssnet.load_image(src)
    expected = mssnet.pyramid_zoom_image(mssnet.load_model(tiny_weights), np.ascontiguousarray(image.rgb), 3.0,
                                         tile=64, precision="fp32")
    assert np.abs(out[..., :3].astype(np.int16) - mssnet.to_uint8(expected)).max() <= 1
    alpha = mssnet.to_uint8(np.clip(mssnet.zoom(image.alpha, 3.0).view, 0, 1)).reshape(60, 72)
    assert np.abs(out[..., 3].astype(np.int16) - alpha).max() <= 1


def test_sharpen_keeps_size(tmp_path, tiny_weights):
    src = _write(tmp_path / "in.jpg")
    out = tmp_path / "out.png"
    assert main(["sharpen", str(src), "-o", str(out), "--weights", str(tiny_weights)]) == 0
    assert _size(out) == (24, 20)


def test_sharpen_with_tiles_reports_progress(tmp_path, tiny_weights, monkeypatch):
    calls = []
    import mssnet.__main__ as cli

    real = cli.sharpen

    def spy(model, image, precision="auto", tile=None, progress=None):
        return real(model, image, precision, tile, lambda d, t: (calls.append((d, t)), progress(d, t)))

    monkeypatch.setattr(cli, "sharpen", spy)
    src = _write(tmp_path / "in.png", 100, 70)
    out = tmp_path / "out.png"
    assert main(["sharpen", str(src), "-o", str(out), "--weights", str(tiny_weights), "--tile", "64"]) == 0
    assert calls and calls[-1][0] == calls[-1][1] > 1


def test_preset_mismatch_is_one_line(tmp_path, tiny_weights, capsys):
    src = _write(tmp_path / "in.png")
    code = main(["sharpen", str(src), "-o", str(tmp_path / "o.png"), "--weights", str(tiny_weights),
                 "--preset", "small"])
    assert code == 2
    assert "preset 'small'" in _one_error_line(capsys.readouterr().err)


def test_bundled_weights_missing(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(weights, "DEFAULT_WEIGHTS", tmp_path / "none.safetensors")
    src = _write(tmp_path / "in.png")
    assert main(["zoom", str(src), "-o", str(tmp_path / "o.png"), "--zoom", "2"]) == 2
    assert "no bundled weights" in _one_error_line(capsys.readouterr().err)


def test_bad_weights_file(tmp_path, capsys):
    bad = tmp_path / "bad.pt"
    bad.write_text("not weights")
    src = _write(tmp_path / "in.png")
    assert main(["sharpen", str(src), "-o", str(tmp_path / "o.png"), "--weights", str(bad)]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert str(bad) in line and "not a checkpoint" in line


# --------------------------------------------------------------------------- folders


def test_folder_with_one_corrupt_file(tmp_path, capsys):
    src = tmp_path / "in"
    src.mkdir()
    _write(src / "a.png")
    _write(src / "b.jpg", seed=1)
    (src / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    (src / "notes.txt").write_text("ignored: not an image extension")
    out = tmp_path / "out"
    assert main(["zoom", str(src), "-o", str(out), "--zoom", "2", "--method", "bicubic"]) == 2
    assert sorted(p.name for p in out.iterdir()) == ["a.png", "b.png"]  # PNG by default
    assert _size(out / "a.png") == (48, 40)
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "broken.png" in errors[0] and "Traceback" not in err
    assert "2 of 3 images written" in err


def test_folder_with_mssnet_loads_model_once(tmp_path, tiny_weights, monkeypatch):
    import mssnet.__main__ as cli

    loads = []
    real = cli.load_model
    monkeypatch.setattr(cli, "load_model", lambda *a, **k: (loads.append(a), real(*a, **k))[1])
    src = tmp_path / "in"
    src.mkdir()
    for i in range(2):
        _write(src / f"{i}.png", 16, 16, seed=i)
    out = tmp_path / "out"
    assert main(["zoom", str(src), "-o", str(out), "--zoom", "1.5", "--weights", str(tiny_weights)]) == 0
    assert len(loads) == 1 and len(list(out.iterdir())) == 2


def test_folder_refuses_to_overwrite_itself(tmp_path, capsys):
    src = tmp_path / "in"
    src.mkdir()
    _write(src / "a.png")
    assert main(["zoom", str(src), "-o", str(src), "--zoom", "2", "--method", "bicubic"]) == 2
    assert "overwrite" in _one_error_line(capsys.readouterr().err)


def test_empty_folder(tmp_path, capsys):
    assert main(["zoom", str(tmp_path), "-o", str(tmp_path / "o"), "--zoom", "2", "--method", "bicubic"]) == 2
    assert "no images" in _one_error_line(capsys.readouterr().err)


# ---------------------------------------------------------------------- bad input


def test_missing_input(tmp_path, capsys):
    missing = tmp_path / "missing.png"
    assert main(["zoom", str(missing), "-o", str(tmp_path / "o.png"), "--zoom", "2"]) == 2
    assert str(missing) in _one_error_line(capsys.readouterr().err)


@pytest.mark.parametrize("zoom", ["0", "-1", "8.5", "abc", "nan", "inf"])
def test_bad_zoom(tmp_path, capsys, zoom):
    src = _write(tmp_path / "in.png")
    assert main(["zoom", str(src), "-o", str(tmp_path / "o.png"), "--zoom", zoom]) == 2
    assert "--zoom" in _one_error_line(capsys.readouterr().err)


def test_zoom_8_is_allowed(tmp_path):
    src = _write(tmp_path / "in.png", 3, 2)
    out = tmp_path / "o.png"
    assert main(["zoom", str(src), "-o", str(out), "--zoom", "8", "--method", "bicubic"]) == 0
    assert _size(out) == (24, 16)


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["zoom", "x.png", "--zoom", "2"],  # no -o
        ["zoom", "x.png", "-o", "y.png"],  # no --zoom
        ["sharpen", "x.png", "-o", "y.png", "--tile", "50"],
        ["zoom", "x.png", "-o", "y.png", "--zoom", "2", "--method", "nearest"],
    ],
)
def test_usage_errors_are_one_line(capsys, argv):
    assert main(argv) == 2
    _one_error_line(capsys.readouterr().err)


def test_corrupt_single_file(tmp_path, capsys):
    src = tmp_path / "bad.png"
    src.write_text("not an image")
    assert main(["zoom", str(src), "-o", str(tmp_path / "o.png"), "--zoom", "2", "--method", "bicubic"]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert line.startswith(f"error: {src}: ") and "not an image" in line


def test_unknown_output_extension(tmp_path, capsys):
    src = _write(tmp_path / "in.png")
    assert main(["zoom", str(src), "-o", str(tmp_path / "o.xyz"), "--zoom", "2", "--method", "bicubic"]) == 2
    assert "unknown image format" in _one_error_line(capsys.readouterr().err)


def test_help_in_subprocess():
    result = subprocess.run(
        [sys.executable, "-m", "mssnet", "--help"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 0
    assert "zoom" in result.stdout and "sharpen" in result.stdout and "Exit status" in result.stdout


# -------------------------------------------------------------------- --format, progress


def test_folder_runs_write_png_unless_asked(tmp_path):
    from mssnet.__main__ import _output_names

    src = tmp_path / "in"
    src.mkdir()
    _write(src / "a.jpg")
    _write(src / "b.png", seed=1)
    _write(src / "b.tif", seed=2)
    base = ["zoom", str(src), "--zoom", "1.5", "--method", "bicubic"]
    assert main([*base, "-o", str(tmp_path / "png")]) == 0
    assert sorted(p.name for p in (tmp_path / "png").iterdir()) == ["a.png", "b.png", "b.tif.png"]
    with Image.open(tmp_path / "png" / "a.png") as im:
        assert im.format == "PNG" and im.size == (36, 30)
    assert main([*base, "-o", str(tmp_path / "jpg"), "--format", "jpg"]) == 0
    assert sorted(p.name for p in (tmp_path / "jpg").iterdir()) == ["a.jpg", "b.png.jpg", "b.tif.jpg"]
    assert main([*base, "-o", str(tmp_path / "same"), "--format", "same"]) == 0
    assert sorted(p.name for p in (tmp_path / "same").iterdir()) == ["a.jpg", "b.png", "b.tif"]
    assert _output_names([Path("x.gif")], "same") == ["x.gif.png"]
    assert main([*base, "-o", str(tmp_path / "bad"), "--format", "gif"]) == 2


def test_single_file_into_a_folder_follows_format(tmp_path):
    src = _write(tmp_path / "photo.jpg")
    (tmp_path / "out").mkdir()
    assert main(["zoom", str(src), "-o", str(tmp_path / "out"), "--zoom", "2", "--method", "bicubic"]) == 0
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["photo.png"]


def test_single_file_bar_starts_before_the_first_tile():
    import io

    from mssnet.__main__ import _TileBar

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    bar = _TileBar("big.png", single=True, file=Terminal())
    assert bar.bar is not None and bar.bar.total is None  # open before any tile is done
    bar(0, 1)
    assert bar.bar.total == 1  # one tile still gets a bar
    bar(1, 1)
    assert bar.bar.n == 1
    bar.close()
    folder = _TileBar("small.png", file=Terminal())
    folder(1, 1)
    assert folder.bar is None  # folder runs: no bar for one-tile images
    folder(1, 4)
    assert folder.bar is not None and folder.bar.total == 4 and folder.bar.n == 1
    folder.close()


def test_zoom_refuses_a_pyramid_level_above_the_limit(tmp_path, tiny_weights, monkeypatch, capsys):
    """×3 is computed at ×4: the level, not only the output, must fit MAX_OUTPUT_PIXELS."""
    import mssnet.__main__ as cli

    src = _write(tmp_path / "in.png", 30, 20)
    monkeypatch.setattr(cli, "MAX_OUTPUT_PIXELS", 60 * 90 + 1)  # the ×3 output fits, level 2 (×4) does not
    base = ["zoom", str(src), "-o", str(tmp_path / "out.png"), "--zoom", "3", "--weights", str(tiny_weights)]
    assert main(base) == 2
    err = capsys.readouterr().err
    _one_error_line(err)
    assert "sharpened at ×4 first" in err and not (tmp_path / "out.png").exists()
    assert main([*base[:-2], "--method", "bicubic"]) == 0  # plain interpolation has no level


@pytest.mark.parametrize("choice", ["torch", "openvino"])
def test_backend_option_reaches_every_pass(tmp_path, tiny_weights, monkeypatch, capsys, choice):
    """--backend decides where the passes run, the pyramid's tiles (zoom) and sharpen alike."""
    if choice == "openvino":
        pytest.importorskip("openvino")
    from mssnet.runtime import backend, compiled

    runs, real = [], compiled.run_openvino

    def spy(*args, **kwargs):
        runs.append(args[1].shape)
        return real(*args, **kwargs)

    monkeypatch.setattr("mssnet.runtime.inference.run_openvino", spy)
    src = _write(tmp_path / "in.png", 40, 36)
    base = ["--weights", str(tiny_weights), "--precision", "fp32", "--backend", choice]
    assert main(["zoom", str(src), "-o", str(tmp_path / "z.png"), "--zoom", "2", *base]) == 0, capsys.readouterr().err
    zoom_runs = len(runs)
    assert main(["sharpen", str(src), "-o", str(tmp_path / "s.png"), *base]) == 0, capsys.readouterr().err
    if choice == "torch":
        assert runs == []
    else:
        assert zoom_runs >= 1 and len(runs) == zoom_runs + 1
    assert backend.default_backend() == "auto"  # the option does not outlive the command
    assert main(["sharpen", str(src), "-o", str(tmp_path / "x.png"), "--backend", "onnx"]) == 2
    _one_error_line(capsys.readouterr().err)
