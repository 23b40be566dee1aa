"""Replay buffers: wrap-around, masks, windows and burn-in, state round trips."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from offpcc_pl.buffers import EpisodeBuffer, TransitionBuffer
from tests.conftest import NO_CUDA


def fill_transitions(buffer: TransitionBuffer, n: int) -> None:
    for i in range(n):
        obs = np.full(2, i, dtype=np.float32)
        buffer.add(obs, np.array([i], np.float32), float(i), obs + 0.5, i % 3 == 0, False)


def test_transition_buffer_wraps_around_and_keeps_terminal_flags() -> None:
    buffer = TransitionBuffer(obs_dim=2, act_dim=1, capacity=4)
    fill_transitions(buffer, 6)
    assert len(buffer) == 4 and buffer.ptr == 2
    assert buffer.rew[:, 0].tolist() == [4.0, 5.0, 2.0, 3.0]  # 4 and 5 overwrote 0 and 1
    assert buffer.done[:, 0].tolist() == [0.0, 0.0, 0.0, 1.0]  # step 3 terminated
    batch = buffer.sample(5, np.random.default_rng(0))
    assert batch.obs.shape == (5, 2, 2) and batch.act.shape == (5, 1, 1)
    assert batch.rew.shape == batch.done.shape == (5, 1, 1) and batch.mask is None
    assert torch.allclose(batch.obs[:, 1], batch.obs[:, 0] + 0.5)  # next obs in slot 1


def test_transition_buffer_state_round_trip() -> None:
    buffer = TransitionBuffer(2, 1, capacity=8)
    fill_transitions(buffer, 5)
    state = buffer.state_dict()
    assert state["obs"].shape == (5, 2, 2)  # only the filled part: (N, obs|next obs, O)
    copy = TransitionBuffer(2, 1, capacity=8)
    copy.load_state_dict(state)
    rng_a, rng_b = np.random.default_rng(1), np.random.default_rng(1)
    a, b = buffer.sample(4, rng_a), copy.sample(4, rng_b)
    assert all(torch.equal(x, y) for x, y in zip(a.tensors()[:4], b.tensors()[:4]))
    assert (copy.ptr, copy.size) == (5, 5)


def add_episode(buffer: EpisodeBuffer, length: int, start: float, terminated: bool) -> None:
    for t in range(length):
        obs = np.array([start + t], np.float32)
        last = t == length - 1
        buffer.add(
            obs,
            np.array([t], np.float32),
            1.0,
            obs + 1,
            terminated and last,
            not terminated and last,
        )


def test_episode_buffer_pads_whole_episodes_with_a_mask() -> None:
    buffer = EpisodeBuffer(obs_dim=1, act_dim=1, capacity=3, max_len=6)
    add_episode(buffer, 2, start=0, terminated=True)
    add_episode(buffer, 4, start=10, terminated=False)
    batch = buffer.sample(16, np.random.default_rng(0))
    assert batch.obs.shape == (16, 5, 1) and batch.act.shape == (16, 4, 1)
    lengths = batch.mask[:, :, 0].sum(1)
    assert set(lengths.tolist()) == {2.0, 4.0}
    for i in range(16):
        n = int(lengths[i])
        first = batch.obs[i, 0, 0].item()
        assert batch.obs[i, : n + 1, 0].tolist() == [first + t for t in range(n + 1)]
        assert batch.done[i, n - 1, 0].item() == (1.0 if n == 2 else 0.0)  # truncation bootstraps


def test_episode_sampling_is_proportional_to_length() -> None:
    buffer = EpisodeBuffer(1, 1, capacity=2, max_len=10)
    add_episode(buffer, 1, 0, True)
    add_episode(buffer, 9, 100, True)
    batch = buffer.sample(4000, np.random.default_rng(0))
    long_share = (batch.mask[:, :, 0].sum(1) == 9).float().mean().item()
    assert abs(long_share - 0.9) < 0.03


def test_windows_with_burn_in_mask_the_warm_up_steps() -> None:
    buffer = EpisodeBuffer(1, 1, capacity=2, max_len=20)
    add_episode(buffer, 20, 0, False)
    batch = buffer.sample(64, np.random.default_rng(0), window=5, burn_in=3)
    assert batch.obs.shape == (64, 9, 1) and batch.mask.shape == (64, 8, 1)
    for i in range(64):
        loss_start = int(batch.mask[i, :, 0].argmax())
        first_obs = int(batch.obs[i, 0, 0])
        assert loss_start == min(first_obs + loss_start, 3)  # burn-in shorter only at t=0
        assert batch.mask[i, :, 0].sum().item() == 5.0


def test_in_progress_episode_is_never_sampled_and_slots_wrap() -> None:
    buffer = EpisodeBuffer(1, 1, capacity=2, max_len=5)
    add_episode(buffer, 3, 0, True)
    add_episode(buffer, 3, 10, True)
    add_episode(buffer, 2, 20, True)  # overwrites slot 0
    buffer.add(
        np.array([30.0], np.float32),
        np.zeros(1, np.float32),
        0.0,
        np.array([31.0], np.float32),
        False,
        False,
    )  # in progress in slot 1
    assert len(buffer) == 2 and buffer.lengths.tolist() == [2, 0]
    batch = buffer.sample(8, np.random.default_rng(0))
    assert torch.all(batch.obs[:, 0, 0] == 20.0)


def test_episode_buffer_state_round_trip_keeps_the_episode_in_progress() -> None:
    buffer = EpisodeBuffer(1, 1, capacity=4, max_len=5)
    add_episode(buffer, 3, 0, True)
    buffer.add(
        np.array([7.0], np.float32),
        np.zeros(1, np.float32),
        0.0,
        np.array([8.0], np.float32),
        False,
        False,
    )
    copy = EpisodeBuffer(1, 1, capacity=4, max_len=5)
    copy.load_state_dict(buffer.state_dict())
    for b in (buffer, copy):
        b.add(
            np.array([8.0], np.float32),
            np.zeros(1, np.float32),
            0.0,
            np.array([9.0], np.float32),
            True,
            False,
        )
    assert np.array_equal(copy.obs, buffer.obs) and np.array_equal(copy.lengths, buffer.lengths)


@pytest.mark.skipif(not torch.cuda.is_available(), reason=NO_CUDA)  # page-locked memory
def test_pinned_samples_equal_pageable_ones() -> None:
    transitions = TransitionBuffer(obs_dim=2, act_dim=1, capacity=8)
    fill_transitions(transitions, 8)
    episodes = EpisodeBuffer(obs_dim=2, act_dim=1, capacity=4, max_len=5)
    for t in range(10):
        obs = np.full(2, t, dtype=np.float32)
        episodes.add(obs, np.array([t], np.float32), float(t), obs + 1, False, t % 5 == 4)
    for buffer in (transitions, episodes):
        pageable = buffer.sample(6, np.random.default_rng(1))
        pinned = buffer.sample(6, np.random.default_rng(1)).pin_memory()
        for a, b in zip(pageable.tensors(), pinned.tensors()):
            if a is not None:
                assert b.is_pinned() and torch.equal(a, b)
        moved = pinned.to("cuda", non_blocking=True)
        assert moved.obs.is_cuda and torch.equal(moved.obs.cpu(), pageable.obs)
