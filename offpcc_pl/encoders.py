"""Image observations: the convolutional encoder and DrQ's random-shift augmentation.

An env whose observation space is an image (:func:`offpcc_pl.envs.wrappers.is_image_space`) gets a
:class:`ConvEncoder` in front of the encoders of :mod:`offpcc_pl.algorithms.base` (the
pass-through of DDPG/TD3/SAC, the summarizers of RDPG/RTD3/RSAC), as in the seed's
convolutional SAC (offpcc ``algorithms/convolutional_sac.py``, ``basics/convnet.py``), which
follows SAC-AE (Yarats et al. 2019) and DrQ (Kostrikov et al. 2020): one encoder trained by
the critic loss, a Polyak-averaged target copy for the TD target, and the actor reading its
features detached. Frames stay uint8 until they reach the encoder, on the module's device.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

CONV_CHANNELS = 32  # the seed's (and DrQ's) width of every convolution


def conv_output_size(height: int, width: int) -> tuple[int, int]:
    """Spatial size after the four 3x3 convolutions (stride 2, then 1): 84x84 -> 35x35."""
    height, width = (height - 3) // 2 + 1, (width - 3) // 2 + 1
    return height - 6, width - 6


class ConvEncoder(nn.Module):
    """The seed's image encoder: four 3x3 convolutions with 32 channels (stride 2, then 1),
    ReLU, a linear layer to ``embedding_dim``, LayerNorm and tanh (DrQ's choice).

    Maps over leading dimensions like the other encoders: ``(B, T, C, H, W)`` frames with
    pixel values in [0, 255] (uint8, or float from acting) give ``(B, T, F)`` features.
    """

    def __init__(self, image_shape: tuple[int, int, int], embedding_dim: int = 50) -> None:
        super().__init__()
        channels, height, width = image_shape
        out_height, out_width = conv_output_size(height, width)
        if out_height < 1 or out_width < 1:
            raise ValueError(f"images of shape {image_shape} are too small: need at least 15x15")
        layers: list[nn.Module] = []
        for i in range(4):
            in_channels = channels if i == 0 else CONV_CHANNELS
            stride = 2 if i == 0 else 1
            layers += [nn.Conv2d(in_channels, CONV_CHANNELS, 3, stride=stride), nn.ReLU()]
        self.convs = nn.Sequential(*layers, nn.Flatten())
        self.head = nn.Sequential(
            nn.Linear(CONV_CHANNELS * out_height * out_width, embedding_dim),
            nn.LayerNorm(embedding_dim),
            nn.Tanh(),
        )
        # Saved with the weights, so an exported policy knows which frames it reads.
        self.register_buffer("image_shape", torch.tensor(image_shape, dtype=torch.int64))
        self.output_dim = embedding_dim

    def forward(self, images: Tensor) -> Tensor:
        lead = images.shape[:-3]  # (B, T)
        pixels = images.reshape(-1, *images.shape[-3:]).float() / 255.0  # (N, C, H, W)
        return self.head(self.convs(pixels)).view(*lead, -1)  # (B, T, F)

    @classmethod
    def from_state_dict(cls, state: dict[str, Tensor]) -> ConvEncoder:
        """An encoder with the shapes of ``state`` (its weights loaded)."""
        shape = tuple(int(size) for size in state["image_shape"].tolist())
        encoder = cls(shape, int(state["head.0.weight"].shape[0]))
        encoder.load_state_dict(state)
        return encoder


def shift_images(images: Tensor, shifts: Tensor) -> Tensor:
    """Translate each image by whole pixels, filling with the nearest border pixel.

    Equal to DrQ's replicate-pad by ``pad`` and crop at offset ``pad + shift``, done as two
    gathers with clamped indices, so uint8 frames need no float copy.

    Args:
        images: ``(B, T, C, H, W)`` frames (any dtype).
        shifts: ``(B, T, 2)`` or ``(B, 1, 2)`` integer (row, column) shifts; a crop at
            offset ``shift`` means output pixel (i, j) is input pixel (i + row, j + col).

    Returns:
        ``(B, T, C, H, W)``, the same dtype; zero shifts return the images unchanged.
    """
    batch, time, channels, height, width = images.shape
    shifts = shifts.expand(batch, time, 2)
    full = (batch, time, channels, height, width)
    rows = (torch.arange(height, device=images.device) + shifts[..., :1]).clamp(0, height - 1)
    cols = (torch.arange(width, device=images.device) + shifts[..., 1:]).clamp(0, width - 1)
    images = images.gather(3, rows[:, :, None, :, None].expand(full))  # (B, T, C, H, W)
    return images.gather(4, cols[:, :, None, None, :].expand(full))  # (B, T, C, H, W)


def random_shift(images: Tensor, pad: int, per_sequence: bool = False) -> Tensor:
    """DrQ's image augmentation (Kostrikov et al. 2020, section 3.1): pad by ``pad`` pixels
    (replicating the border) and crop back to the original size at a random offset.

    Args:
        images: ``(B, T, C, H, W)`` frames.
        pad: largest shift in pixels (DrQ and the seed: 4); 0 returns ``images`` unchanged.
        per_sequence: one shift per sequence rather than per frame, so a recurrent
            summarizer sees the true motion between frames.

    Returns:
        ``(B, T, C, H, W)``, the same dtype.
    """
    if pad == 0:
        return images
    batch, time = images.shape[:2]
    shape = (batch, 1 if per_sequence else time, 2)
    shifts = torch.randint(-pad, pad + 1, shape, device=images.device)  # (B, T|1, 2)
    return shift_images(images, shifts)
