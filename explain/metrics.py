"""Image quality on the Y channel (Y-PSNR, Y-SSIM): re-exported from :mod:`mssnet.image.metrics`,
which training and the benchmarks use too, so there is one definition."""

from mssnet.image.metrics import psnr_y, rgb_to_y, ssim_y

__all__ = ["psnr_y", "rgb_to_y", "ssim_y"]
