"""MSSNet: Multi-Scale-Stage Network for single-image deblurring.

Kiyeon Kim, Seungyong Lee, Sunghyun Cho, "MSSNet: Multi-Scale-Stage Network for
Single Image Deblurring", ECCV 2022 Workshops (AIM).
Paper: https://cg.postech.ac.kr/Research/MSSNet/MSSNet.pdf
Original code: https://github.com/kky7/MSSNet

Written from the paper's description of the architecture; the module and parameter
names follow the original so that its checkpoints load unchanged. Differences from
the original implementation, none of which changes the function computed:

* pixel-unshuffle uses ``nn.PixelUnshuffle`` (same channel order) instead of a
  grouped convolution whose kernel is rebuilt on every call;
* the bilinear 0.5x resize inside the encoders is written as a 2x2 average pool,
  which is the same operation for even sizes (H and W are multiples of 16);
* ``forward(x)`` skips the four intermediate output heads that only feed the
  training loss and the stage gallery; ``forward_stages(x)`` returns all six.

Layout (``x`` is the blurred image, ``(B, 3, H, W)``, H and W multiples of 16):

* scale 1 works on the half-resolution image, pixel-unshuffled to ``H/4``;
  one encoder-decoder stage;
* scale 2 works on the full-resolution image pixel-unshuffled to ``H/2``;
  two stages;
* scale 3 works at full resolution; three stages.

Each stage is a three-level U-Net of residual blocks. Stages pass their encoder
and decoder features to the next stage (cross-stage feature fusion, "csff"), each
scale hands its last decoder features up to the next scale, and every stage head
predicts a correction that is added to the (resized) blurred input.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["MSSNet", "MSSNetConfig", "PRESETS", "STAGE_NAMES"]

#: Names of the six outputs, in the order ``forward`` returns them.
STAGE_NAMES = (
    "scale 1 · stage 1 (half res.)",
    "scale 2 · stage 1",
    "scale 2 · stage 2",
    "scale 3 · stage 1",
    "scale 3 · stage 2",
    "scale 3 · stage 3 (final)",
)


@dataclass(frozen=True)
class MSSNetConfig:
    """Channel widths of MSSNet.

    ``wf`` channels at U-Net level 1, ``wf + scale`` at level 2 and
    ``wf + scale + vscale`` at level 3.
    """

    wf: int = 20
    scale: int = 40
    vscale: int = 40

    @staticmethod
    def preset(name: str) -> MSSNetConfig:
        """Return a width setting: the published ``"small"``, ``"base"``, ``"large"``, or ``"tiny"``."""
        if name not in PRESETS:
            raise ValueError(f"unknown MSSNet preset {name!r}; expected one of {sorted(PRESETS)}")
        return PRESETS[name]

    @property
    def name(self) -> str | None:
        """The preset name of this config, or ``None`` for a custom width."""
        for key, value in PRESETS.items():
            if value == self:
                return key
        return None


PRESETS = {
    "tiny": MSSNetConfig(8, 16, 16),  # this project's, for live views on CPUs without fast bf16
    "small": MSSNetConfig(20, 40, 40),
    "base": MSSNetConfig(54, 42, 42),
    "large": MSSNetConfig(80, 50, 50),
}


def _conv3(cin: int, cout: int) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, padding=1, bias=False)


def _conv1(cin: int, cout: int) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 1, bias=False)


class ResBlock(nn.Module):
    """conv3x3 -> PReLU -> conv3x3, plus identity. The PReLU is shared model-wide."""

    def __init__(self, ch: int, act: nn.Module):
        super().__init__()
        self.body = nn.Sequential(_conv3(ch, ch), act, _conv3(ch, ch))

    def forward(self, x: Tensor) -> Tensor:  # (B, C, H, W) -> (B, C, H, W)
        return self.body(x) + x


def _blocks(ch: int, act: nn.Module, n: int = 2) -> nn.Sequential:
    return nn.Sequential(*[ResBlock(ch, act) for _ in range(n)])


class Down(nn.Module):
    """Halve the resolution (bilinear 0.5x == 2x2 mean) and widen with a 1x1 conv."""

    def __init__(self, cin: int, extra: int):
        super().__init__()
        # index 0 of the original Sequential was the parameter-free resize
        self.down = nn.Sequential(nn.Identity(), _conv1(cin, cin + extra))

    def forward(self, x: Tensor) -> Tensor:  # (B, C, H, W) -> (B, C+extra, H/2, W/2)
        return self.down[1](F.avg_pool2d(x, 2))


class Up(nn.Module):
    """Bilinear 2x upsample, narrow with a 1x1 conv. The original upsamples first; a 1x1 conv
    commutes with bilinear interpolation (its weights sum to 1, so the bias passes through),
    so the conv runs first, on a quarter of the pixels, and fewer channels are upsampled."""

    def __init__(self, cout: int, extra: int):
        super().__init__()
        self.up = nn.Sequential(nn.Identity(), _conv1(cout + extra, cout))

    def forward(self, x: Tensor, skip: Tensor) -> Tensor:  # (B, C+e, H, W) -> (B, C, 2H, 2W)
        return _up2(self.up[1](x)) + skip


class ScaleUp(nn.Module):
    """Carry decoder features from one scale to the next (2x) with a 1x1 conv (run before the
    upsample, on a quarter of the pixels: the same function, see :class:`Up`)."""

    def __init__(self, ch: int):
        super().__init__()
        self.scaleUp = nn.Sequential(nn.Identity(), _conv1(ch, ch))

    def forward(self, x: Tensor) -> Tensor:  # (B, C, H, W) -> (B, C, 2H, 2W)
        return _up2(self.scaleUp[1](x))


def _up2(x: Tensor) -> Tensor:
    return F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)


class Encoder(nn.Module):
    """Three-level encoder; with ``csff`` it adds the previous stage's features."""

    def __init__(self, cfg: MSSNetConfig, act: nn.Module, csff: bool):
        super().__init__()
        c1, c2, c3 = cfg.wf, cfg.wf + cfg.scale, cfg.wf + cfg.scale + cfg.vscale
        self.encoder_level1 = _blocks(c1, act)
        self.encoder_level2 = _blocks(c2, act)
        self.encoder_level3 = _blocks(c3, act)
        self.down12 = Down(c1, cfg.scale)
        self.down23 = Down(c2, cfg.vscale)
        self.csff = csff
        if csff:
            self.csff_enc1, self.csff_enc2, self.csff_enc3 = _conv1(c1, c1), _conv1(c2, c2), _conv1(c3, c3)
            self.csff_dec1, self.csff_dec2, self.csff_dec3 = _conv1(c1, c1), _conv1(c2, c2), _conv1(c3, c3)

    def forward(
        self, x: Tensor, prev_enc: list[Tensor] | None = None, prev_dec: list[Tensor] | None = None,
        coarser: bool = False,
    ) -> list[Tensor]:
        """x: (B, c1, H, W) -> [(B, c1, H, W), (B, c2, H/2, W/2), (B, c3, H/4, W/4)].

        ``prev_enc`` / ``prev_dec``: the previous stage's features, at these sizes, or at half of
        them with ``coarser`` (the previous scale). The original upsamples both lists and then
        applies the two 1x1 convs; here the convs run at the coarse size and their sum is
        upsampled once — the same function (see :class:`Up`), on a quarter of the pixels."""
        fuse = prev_enc is not None and prev_dec is not None
        convs = ((self.csff_enc1, self.csff_dec1), (self.csff_enc2, self.csff_dec2),
                 (self.csff_enc3, self.csff_dec3)) if fuse else ()

        def added(level: int, e: Tensor) -> Tensor:
            if not fuse:
                return e
            enc, dec = convs[level]
            fused = enc(prev_enc[level]) + dec(prev_dec[level])
            return e + (_up2(fused) if coarser else fused)

        e1 = added(0, self.encoder_level1(x))
        e2 = added(1, self.encoder_level2(self.down12(e1)))
        e3 = added(2, self.encoder_level3(self.down23(e2)))
        return [e1, e2, e3]


class Decoder(nn.Module):
    """Three-level decoder with residual-block "skip attention" on the skips."""

    def __init__(self, cfg: MSSNetConfig, act: nn.Module):
        super().__init__()
        c1, c2, c3 = cfg.wf, cfg.wf + cfg.scale, cfg.wf + cfg.scale + cfg.vscale
        self.decoder_level1 = _blocks(c1, act)
        self.decoder_level2 = _blocks(c2, act)
        self.decoder_level3 = _blocks(c3, act)
        self.skip_attn1 = ResBlock(c1, act)
        self.skip_attn2 = ResBlock(c2, act)
        self.up32 = Up(c2, cfg.vscale)
        self.up21 = Up(c1, cfg.scale)

    def forward(self, enc: list[Tensor]) -> list[Tensor]:
        """[e1, e2, e3] -> [d1, d2, d3], same shapes."""
        e1, e2, e3 = enc
        d3 = self.decoder_level3(e3)
        d2 = self.decoder_level2(self.up32(d3, self.skip_attn2(e2)))
        d1 = self.decoder_level1(self.up21(d2, self.skip_attn1(e1)))
        return [d1, d2, d3]


class ShuffleTail(nn.Module):
    """conv3x3 to 12 channels, then pixel-shuffle to 3 channels at twice the size."""

    def __init__(self, cin: int):
        super().__init__()
        self.tail = _conv3(cin, 12)
        self.pixelshuffle = nn.PixelShuffle(2)

    def forward(self, x: Tensor) -> Tensor:  # (B, C, H, W) -> (B, 3, 2H, 2W)
        return self.pixelshuffle(self.tail(x))


class MSSNet(nn.Module):
    """MSSNet with the original parameter names.

    ``forward(x)`` takes ``x: (B, 3, H, W)`` with H, W divisible by 16 and returns
    the final output ``(B, 3, H, W)``. ``forward_stages(x)`` returns the six stage
    outputs (see ``STAGE_NAMES``): the first is ``(B, 3, H/2, W/2)``, the other five
    ``(B, 3, H, W)``; the last is the same tensor ``forward`` returns.
    """

    def __init__(self, config: MSSNetConfig | None = None):
        super().__init__()
        cfg = config or MSSNetConfig()
        self.config = cfg
        #: Correction strength α per zoom-step factor ({factor: α}, :mod:`mssnet.model.strength`), read from
        #: a weights file's metadata by :func:`mssnet.load_model`; None: no calibration (α = 1).
        self.zoom_strength: dict[float, float] | None = None
        #: Correction strength α per zoom-pyramid level ({level: α}), read the same way; None: α(2)
        #: of ``zoom_strength`` at every level.
        self.level_strength: dict[int, float] | None = None
        wf = cfg.wf
        act = nn.PReLU()  # one PReLU shared by every residual block, as in the original
        self.pixel_unshuffle = nn.PixelUnshuffle(2)
        # scale 1: half-resolution image, pixel-unshuffled
        self.shallow_feat1 = nn.Sequential(_conv3(12, wf), ResBlock(wf, act))
        self.E1_1, self.D1_1 = Encoder(cfg, act, csff=False), Decoder(cfg, act)
        self.tail1_1 = ShuffleTail(wf)
        # scale 2: full-resolution image, pixel-unshuffled
        self.shallow_feat2 = nn.Sequential(_conv3(12, wf), ResBlock(wf, act))
        self.up_scale1_feat = ScaleUp(wf)
        self.fusion12 = _conv3(2 * wf, wf)
        self.E2_1, self.D2_1 = Encoder(cfg, act, csff=True), Decoder(cfg, act)
        self.E2_2, self.D2_2 = Encoder(cfg, act, csff=True), Decoder(cfg, act)
        self.tail2_1, self.tail2_2 = ShuffleTail(wf), ShuffleTail(wf)
        # scale 3: full resolution
        self.shallow_feat3 = nn.Sequential(_conv3(3, wf), ResBlock(wf, act))
        self.up_scale2_feat = ScaleUp(wf)
        self.fusion23 = _conv3(2 * wf, wf)
        self.E3_1, self.D3_1 = Encoder(cfg, act, csff=True), Decoder(cfg, act)
        self.E3_2, self.D3_2 = Encoder(cfg, act, csff=True), Decoder(cfg, act)
        self.E3_3, self.D3_3 = Encoder(cfg, act, csff=True), Decoder(cfg, act)
        self.tail3_1, self.tail3_2, self.tail3_3 = _conv3(wf, 3), _conv3(wf, 3), _conv3(wf, 3)

    def forward(self, x: Tensor) -> Tensor:
        """x: (B, 3, H, W), H % 16 == W % 16 == 0 -> final output (B, 3, H, W) float32."""
        return self._run(x, all_stages=False)[-1]

    def forward_stages(self, x: Tensor) -> list[Tensor]:
        """x: (B, 3, H, W), H % 16 == W % 16 == 0 -> the six stage outputs, float32."""
        return self._run(x, all_stages=True)

    def corrections(self, x: Tensor, all_stages: bool = False) -> list[Tensor]:
        """The stage heads' corrections, before the residual additions.

        x: (B, 3, H, W), H % 16 == W % 16 == 0 (not checked here) -> with ``all_stages`` six tensors,
        the first (B, 3, H/2, W/2), the others (B, 3, H, W), else only the final (B, 3, H, W); in the
        computation's dtype. Stage output i is correction i plus the input (for i = 0, the input
        halved bilinearly). Written without checks or shape-dependent branches, so that it traces
        (``torch.fx``): the OpenVINO runtime builds its graph from this method.
        """
        half = F.interpolate(x, scale_factor=0.5, mode="bilinear", align_corners=True)  # (B, 3, H/2, W/2)

        # scale 1 -------------------------------------------------------------
        f1 = self.shallow_feat1(self.pixel_unshuffle(half))  # (B, wf, H/4, W/4)
        e11 = self.E1_1(f1)
        d11 = self.D1_1(e11)

        # scale 2 -------------------------------------------------------------
        f2 = self.shallow_feat2(self.pixel_unshuffle(x))  # (B, wf, H/2, W/2)
        f2 = self.fusion12(torch.cat([f2, self.up_scale1_feat(d11[0])], 1))
        e21 = self.E2_1(f2, e11, d11, coarser=True)
        d21 = self.D2_1(e21)
        e22 = self.E2_2(d21[0], e21, d21)
        d22 = self.D2_2(e22)

        # scale 3 -------------------------------------------------------------
        f3 = self.shallow_feat3(x)  # (B, wf, H, W)
        f3 = self.fusion23(torch.cat([f3, self.up_scale2_feat(d22[0])], 1))
        e31 = self.E3_1(f3, e22, d22, coarser=True)
        d31 = self.D3_1(e31)
        e32 = self.E3_2(d31[0], e31, d31)
        d32 = self.D3_2(e32)
        e33 = self.E3_3(d32[0], e32, d32)
        d33 = self.D3_3(e33)

        final = self.tail3_3(d33[0])
        if not all_stages:
            return [final]
        return [self.tail1_1(d11[0]), self.tail2_1(d21[0]), self.tail2_2(d22[0]), self.tail3_1(d31[0]),
                self.tail3_2(d32[0]), final]

    def _run(self, x: Tensor, all_stages: bool) -> list[Tensor]:
        if x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(f"MSSNet expects (B, 3, H, W); got {tuple(x.shape)}")
        if x.shape[-2] % 16 or x.shape[-1] % 16:
            raise ValueError(f"MSSNet needs H and W divisible by 16; got {tuple(x.shape[-2:])}")
        heads = self.corrections(x, all_stages)
        x32 = x.float()  # the residual additions run in fp32, also under bf16 autocast
        if not all_stages:
            return [heads[-1].float() + x32]
        half = F.interpolate(x, scale_factor=0.5, mode="bilinear", align_corners=True)  # (B, 3, H/2, W/2)
        return [heads[0].float() + half.float()] + [h.float() + x32 for h in heads[1:]]
