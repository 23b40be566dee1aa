"""ReplayCallback: the env loop, the only code that touches an environment during training.

At setup it makes the training and evaluation envs and the replay buffer, and hands itself
to the module (:class:`offpcc_pl.algorithms.base.Replay`): the buffer and generator its
batches are sampled with, the env-step counter and the warm-up gate. Each train batch it
plays one env step (uniform random actions for the first ``update_after`` steps) and stores
it, before the module draws its batch. It plays the evaluation episodes, logs episode
statistics against env steps and carries everything an exact resume needs in its
``state_dict``. Acting, in training and evaluation alike, goes through the module's
:class:`offpcc_pl.policy.Policy`.
"""

from __future__ import annotations

import math
import os
import random
import time
from typing import TYPE_CHECKING, Any

import numpy as np
import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import Callback

from offpcc_pl.buffers import (
    EpisodeBuffer,
    TransitionBuffer,
    available_memory,
    check_replay_fits,
    default_capacity,
    item_bytes,
)
from offpcc_pl.checkpointing.files import REPLAY_STATE_KEY
from offpcc_pl.envs.make import TEST_SEED, make_env
from offpcc_pl.envs.state import env_state, load_env_state
from offpcc_pl.envs.wrappers import is_image_space
from offpcc_pl.errors import CheckpointError
from offpcc_pl.monitor import flush_loggers, log_at_env_step
from offpcc_pl.rollout import play_episode

if TYPE_CHECKING:
    import gymnasium

    from offpcc_pl.algorithms.base import OffPolicyModule
    from offpcc_pl.policy import Policy


def _run_seed() -> int:
    """The ``--seed_everything`` value (Lightning exports it), 0 when unseeded."""
    return int(os.environ.get("PL_GLOBAL_SEED", 0))


def global_rng_state() -> dict:
    """torch (CPU and every CUDA device) / numpy / python global RNG states as plain data."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        "cuda": list(torch.cuda.get_rng_state_all()) if torch.cuda.is_available() else [],
        "numpy": {
            "kind": kind,
            "keys": torch.from_numpy(keys.astype(np.int64)),
            "pos": pos,
            "has_gauss": has_gauss,
            "gauss": gauss,
        },
        "python": random.getstate(),
    }


def _to_device(hidden: Any, device: torch.device | str) -> Any:
    """A recurrent hidden state (None, tensor or tuple of tensors) on ``device``."""
    if isinstance(hidden, tuple | list):
        return type(hidden)(_to_device(h, device) for h in hidden)
    return hidden if hidden is None else hidden.to(device)


def set_global_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    cuda = state.get("cuda") or []
    if cuda and torch.cuda.is_available():
        # a run resumed on fewer devices restores the ones it has
        torch.cuda.set_rng_state_all(cuda[: torch.cuda.device_count()])
    np_state = state["numpy"]
    np.random.set_state(
        (
            np_state["kind"],
            np_state["keys"].numpy().astype(np.uint32),
            np_state["pos"],
            np_state["has_gauss"],
            np_state["gauss"],
        )
    )
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))


def make_buffer(
    env: gymnasium.Env, capacity: int | None, episodes: bool
) -> TransitionBuffer | EpisodeBuffer:
    """The replay buffer for ``env``'s observations, refused in one line if it would not fit
    in memory.

    Args:
        env: the env whose spaces (and time limit, for episodes) size the buffer.
        capacity: transitions, or episodes; None: the default for these observations.
        episodes: whole episodes (recurrent agents) instead of transitions.
    """
    obs_shape = tuple(int(n) for n in env.observation_space.shape)  # (O,) or (C, H, W)
    images = is_image_space(env.observation_space)
    act_dim = int(env.action_space.shape[0])
    episode_len = env.spec.max_episode_steps if episodes else None
    capacity = capacity or default_capacity(images, episode_len)
    dtype = np.uint8 if images else np.float32  # frames become float on the device
    per_item = item_bytes(obs_shape, dtype, act_dim, episode_len)
    unit = "transitions" if episode_len is None else "episodes"
    check_replay_fits(capacity, per_item, unit, available_memory())
    if episode_len is None:
        return TransitionBuffer(obs_shape, act_dim, capacity, dtype)
    return EpisodeBuffer(obs_shape, act_dim, capacity, episode_len, dtype)


def find_replay(trainer: pl.Trainer) -> ReplayCallback:
    """The trainer's replay callback, whose env-step counter and last returns the progress
    bar and the policy export read (the module is handed it at setup instead)."""
    for callback in trainer.callbacks:
        if isinstance(callback, ReplayCallback):
            return callback
    raise RuntimeError(
        "no replay callback: pass callbacks=[offpcc_pl.loop.ReplayCallback()] to the Trainer "
        "(the offpcc-pl CLI adds it)"
    )


class ReplayCallback(Callback):
    """Makes and steps the envs, owns the replay buffer, plays the evaluation episodes."""

    def __init__(self) -> None:
        self.env: gymnasium.Env | None = None
        self.eval_env: gymnasium.Env | None = None
        self.buffer: TransitionBuffer | EpisodeBuffer | None = None
        self.rng = np.random.default_rng(0)  # exploration and batch sampling
        self.env_steps = 0
        self.episodes = 0
        self.obs: np.ndarray | None = None
        self.hidden: Any = None  # acting hidden state of the recurrent policy
        self.update_due = False  # the warm-up gate, as the module reads it (step())
        self.acting: Policy | None = None  # the module's exploring policy (fit)
        self.episode_return = 0.0
        self.episode_length = 0
        self.last_train_return = math.nan
        self.last_test_return = math.nan
        self.train_seconds = 0.0  # accumulated over resumes, for time/hours
        self._epoch_clock = (0.0, 0)  # (wall time, env steps) at epoch start
        self._hidden_on_cpu = False
        self._test_results: list[dict[str, float]] = []

    # -- lifecycle ---------------------------------------------------------------------------

    def setup(self, trainer: pl.Trainer, pl_module: OffPolicyModule, stage: str) -> None:
        env_id, history = pl_module.hparams.env_id, pl_module.history
        self.eval_env = make_env(env_id, history=history)
        pl_module.replay = self
        if stage != "fit":
            return
        seed = _run_seed()
        self.rng = np.random.default_rng(seed)
        self.env = make_env(env_id, history=history)
        self.buffer = make_buffer(
            self.env, pl_module.hparams.capacity, pl_module.memory is not None
        )
        self.acting = pl_module.policy(deterministic=False, frozen=True)
        self._start_episode(pl_module, seed=seed)

    def teardown(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        for env in (self.env, self.eval_env):
            if env is not None:
                env.close()
        self.env = self.eval_env = None
        flush_loggers(trainer)

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._epoch_clock = (time.perf_counter(), self.env_steps)  # resumed mid-epoch too

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._epoch_clock = (time.perf_counter(), self.env_steps)

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        start, start_steps = self._epoch_clock
        seconds = time.perf_counter() - start
        self.train_seconds += seconds
        self._epoch_clock = (time.perf_counter(), self.env_steps)  # counted: a later save adds 0
        speed = (self.env_steps - start_steps) / max(seconds, 1e-9)
        metrics = {"time/hours": self.train_seconds / 3600, "time/env_steps_per_s": speed}
        log_at_env_step(trainer, metrics, self.env_steps)
        flush_loggers(trainer)

    # -- acting ------------------------------------------------------------------------------

    def on_train_batch_start(
        self, trainer: pl.Trainer, pl_module: OffPolicyModule, batch: Any, batch_idx: int
    ) -> None:
        self.step(trainer, pl_module)

    def step(self, trainer: pl.Trainer, module: OffPolicyModule) -> None:
        """One env step with the acting policy (random during warm-up), stored in the buffer."""
        if self.obs is None:  # resumed without a copy of the env: a fresh, seeded episode
            self._start_episode(module, seed=int(self.rng.integers(2**31)))
        elif self._hidden_on_cpu:  # resumed mid-episode: the checkpoint holds it on the CPU
            self.hidden, self._hidden_on_cpu = _to_device(self.hidden, module.device), False
        # The one warm-up gate: steps t < update_after (0-based) act uniformly at random
        # and are followed by no update (the seed updates after steps t >= update_after).
        warm_up = self.env_steps < module.hparams.update_after
        # acts in warm-up too: a recurrent policy's hidden state follows the episode
        act, self.hidden = self.acting.act(self.obs, self.hidden)
        if warm_up:
            act = self.rng.uniform(-1.0, 1.0, size=act.shape).astype(np.float32)
        next_obs, rew, terminated, truncated, info = self.env.step(act)
        self.buffer.add(self.obs, act, float(rew), next_obs, terminated, truncated)
        self.env_steps += 1
        self.episode_return += float(rew)
        self.episode_length += 1
        self.obs = next_obs
        if terminated or truncated:
            self._end_episode(trainer, info)
            self._start_episode(module)
        self.update_due = not warm_up and self.buffer.can_sample()

    def _start_episode(self, module: OffPolicyModule, seed: int | None = None) -> None:
        self.obs, _ = self.env.reset(seed=seed)
        self.hidden = module.start_episode()
        self.episode_return, self.episode_length = 0.0, 0

    def _end_episode(self, trainer: pl.Trainer, info: dict) -> None:
        self.episodes += 1
        self.last_train_return = self.episode_return
        metrics = {
            "train/episode_return": self.episode_return,
            "train/episode_length": float(self.episode_length),
        }
        if "is_success" in info:
            metrics["train/success"] = float(info["is_success"])
        log_at_env_step(trainer, metrics, self.env_steps)

    # -- evaluation --------------------------------------------------------------------------

    def play_test_episode(self, policy: Policy, index: int) -> dict[str, float]:
        """Evaluation episode ``index`` (reset seed ``TEST_SEED + index``, apart from the
        training RNGs) played with ``policy`` in the evaluation env; its ``test/*`` metrics,
        kept for the means of the evaluation."""
        result = play_episode(policy, self.eval_env, TEST_SEED + index).test_metrics()
        self._test_results.append(result)
        return result

    def on_validation_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        results, self._test_results = self._test_results, []
        if not results:
            return
        means = {k: float(np.mean([r[k] for r in results])) for k in results[0]}
        self.last_test_return = means["test/episode_return"]
        if trainer.state.fn == "fit":
            log_at_env_step(trainer, means, self.env_steps)

    on_test_epoch_end = on_validation_epoch_end

    # -- checkpointing -----------------------------------------------------------------------

    @property
    def state_key(self) -> str:
        """Where a checkpoint keeps this callback's state: one name for every reader
        (:func:`offpcc_pl.checkpointing.files.replay_state`), whatever the class is called."""
        return REPLAY_STATE_KEY

    STATE_KEYS = frozenset(
        {"buffer", "rng", "env_steps", "episodes", "train_seconds", "last_train_return"}
        | {"env", "episode", "global_rng"}
    )

    def state_dict(self) -> dict[str, Any]:
        """Plain data only (tensors, numbers, strings, lists, dicts): checkpoints are loaded
        with ``weights_only=True`` and never run code."""
        if self.buffer is None:  # validate/test: nothing to carry
            return {}
        saved_env = None if self.env is None else env_state(self.env)  # None: torn down
        return {
            "buffer": self.buffer.state_dict(),
            "rng": self.rng.bit_generator.state,
            "env_steps": self.env_steps,
            "episodes": self.episodes,
            "train_seconds": self.train_seconds + time.perf_counter() - self._epoch_clock[0],
            "last_train_return": self.last_train_return,
            "env": saved_env,
            # the episode in progress, meaningful only when the env itself was saved
            "episode": None
            if saved_env is None
            else {
                "obs": torch.from_numpy(np.array(self.obs, copy=True)),  # uint8 frames stay
                "hidden": _to_device(self.hidden, "cpu"),
                "return": self.episode_return,
                "length": self.episode_length,
            },
            "global_rng": global_rng_state(),
        }

    @classmethod
    def check_state(cls, state_dict: Any) -> None:
        """A :class:`CheckpointError` unless ``state_dict`` looks like what we write."""
        if not isinstance(state_dict, dict) or (state_dict and set(state_dict) != cls.STATE_KEYS):
            found = sorted(state_dict) if isinstance(state_dict, dict) else type(state_dict)
            raise CheckpointError(
                f"the checkpoint's replay state is not what offpcc-pl writes (keys {found})"
            )

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.check_state(state_dict)
        if not state_dict or self.buffer is None:
            return
        try:
            self._load(state_dict)
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as err:
            raise CheckpointError(
                f"the checkpoint's replay state does not fit this run "
                f"({err.__class__.__name__}: {str(err).splitlines()[0] if str(err) else ''})"
            ) from None

    def _load(self, state_dict: dict[str, Any]) -> None:
        self.buffer.load_state_dict(state_dict["buffer"])
        self.rng.bit_generator.state = state_dict["rng"]
        self.env_steps, self.episodes = state_dict["env_steps"], state_dict["episodes"]
        self.train_seconds = state_dict["train_seconds"]
        self.last_train_return = state_dict["last_train_return"]
        if state_dict["env"] is not None:
            load_env_state(self.env, state_dict["env"])
            episode = state_dict["episode"]
            self.obs = episode["obs"].numpy()
            self.hidden, self._hidden_on_cpu = episode["hidden"], True
            self.episode_return, self.episode_length = episode["return"], episode["length"]
        else:
            # pybullet / dm_control state isn't saved: drop the episode in progress, from the
            # buffer too (never splice it with the next one); step() starts a fresh one
            # seeded from the restored sampling RNG (README "Resume").
            self.buffer.drop_partial_episode()
            self.obs = None
        # Restored here rather than in on_train_start: building the train iterator in between
        # draws from torch's RNG, which would leave the resumed run on other random draws.
        set_global_rng_state(state_dict["global_rng"])
