"""The conv encoder, DrQ's random shift, and the replay memory arithmetic."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from offpcc_pl.buffers import (
    EpisodeBuffer,
    TransitionBuffer,
    check_replay_fits,
    default_capacity,
    item_bytes,
)
from offpcc_pl.encoders import ConvEncoder, conv_output_size, random_shift, shift_images
from offpcc_pl.errors import ConfigError


def test_conv_encoder_is_the_seeds_network() -> None:
    encoder = ConvEncoder((3, 84, 84), embedding_dim=50)
    assert conv_output_size(84, 84) == (35, 35)  # the seed's "32 * 35 * 35"
    convs = [m for m in encoder.convs if isinstance(m, torch.nn.Conv2d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size, c.stride) for c in convs] == [
        (3, 32, (3, 3), (2, 2)),
        *[(32, 32, (3, 3), (1, 1))] * 3,
    ]
    linear, norm, tanh = encoder.head
    assert (linear.in_features, linear.out_features) == (32 * 35 * 35, 50)
    assert isinstance(norm, torch.nn.LayerNorm) and isinstance(tanh, torch.nn.Tanh)
    frames = torch.randint(0, 256, (2, 3, 3, 84, 84), dtype=torch.uint8)  # (B, T, C, H, W)
    feat = encoder(frames)
    assert feat.shape == (2, 3, 50) and feat.abs().max() <= 1.0
    # uint8 frames (replay) and float frames of the same pixel values (acting) agree
    torch.testing.assert_close(encoder(frames.float()), feat)


def test_conv_encoder_rebuilds_from_its_state_dict() -> None:
    encoder = ConvEncoder((2, 20, 24), embedding_dim=7)
    copy = ConvEncoder.from_state_dict(encoder.state_dict())
    frames = torch.randint(0, 256, (1, 4, 2, 20, 24), dtype=torch.uint8)
    assert copy.output_dim == 7
    torch.testing.assert_close(copy(frames), encoder(frames))
    with pytest.raises(ValueError, match="too small"):
        ConvEncoder((1, 12, 12))


def test_random_shift_keeps_shape_and_dtype_and_is_identity_at_zero() -> None:
    frames = torch.randint(0, 256, (4, 2, 3, 16, 16), dtype=torch.uint8)
    shifted = random_shift(frames, pad=4)
    assert shifted.shape == frames.shape and shifted.dtype == torch.uint8
    assert not torch.equal(shifted, frames)  # 64 random shifts are not all zero
    assert random_shift(frames, pad=0) is frames
    zeros = torch.zeros(4, 2, 2, dtype=torch.int64)
    assert torch.equal(shift_images(frames, zeros), frames)


@pytest.mark.parametrize(("row", "col"), [(3, -2), (-4, 4), (0, 1)])
def test_shift_is_replicate_pad_then_crop(row: int, col: int) -> None:
    """DrQ: ReplicationPad2d(4), then a crop at offset (4 + row, 4 + col)."""
    frames = torch.randint(0, 256, (1, 1, 2, 10, 12), dtype=torch.uint8)
    padded = F.pad(frames[0].float(), (4, 4, 4, 4), mode="replicate")  # (1, C, 18, 20)
    expected = padded[..., 4 + row : 4 + row + 10, 4 + col : 4 + col + 12]
    shifts = torch.tensor([[[row, col]]])
    assert torch.equal(shift_images(frames, shifts)[0].float(), expected)


def test_sequences_can_share_one_shift() -> None:
    frame = torch.randint(0, 256, (1, 1, 1, 16, 16), dtype=torch.uint8)
    sequence = frame.expand(3, 5, 1, 16, 16)  # the same frame at every step
    shifted = random_shift(sequence, pad=4, per_sequence=True)
    assert all(torch.equal(shifted[b, t], shifted[b, 0]) for b in range(3) for t in range(5))


def test_item_bytes_match_the_buffers_arrays() -> None:
    shape = (3, 84, 84)
    transitions = TransitionBuffer(shape, 6, capacity=10, obs_dtype=np.uint8)
    arrays = (transitions.obs, transitions.act, transitions.rew, transitions.done)
    assert sum(a.nbytes for a in arrays) == 10 * item_bytes(shape, np.uint8, 6, None)
    episodes = EpisodeBuffer(shape, 6, capacity=3, max_len=7, obs_dtype=np.uint8)
    arrays = (episodes.obs, episodes.act, episodes.rew, episodes.done, episodes.lengths)
    assert sum(a.nbytes for a in arrays) == 3 * item_bytes(shape, np.uint8, 6, 7)
    # walker from pixels: 2 x 3x84x84 uint8 frames + 6 actions, reward, done (float32)
    assert item_bytes(shape, np.uint8, 6, None) == 2 * 21168 + 32 == 42368


def test_default_capacities() -> None:
    assert default_capacity(False, None) == 1_000_000 and default_capacity(True, None) == 100_000
    assert default_capacity(False, 200) == 5000 and default_capacity(True, 500) == 200
    walker = 100_000 * item_bytes((3, 84, 84), np.uint8, 6, None)
    assert 2 * walker < 24 * 2**30 / 2  # the image default with its checkpoint copy: < 12 GiB


def test_a_capacity_that_does_not_fit_is_one_clear_error() -> None:
    check_replay_fits(100, per_item=1000, unit="transitions", available=200_000)
    with pytest.raises(ConfigError) as error:
        check_replay_fits(1_000_000, per_item=42_368, unit="transitions", available=20 * 10**9)
    message = str(error.value)
    assert "\n" not in message and "1,000,000 transitions" in message
    assert "--model.capacity to at most 236,027" in message  # 20 GB / (2 x 42,368)
