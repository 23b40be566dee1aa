"""ReplayCallback: acting, episode boundaries and the recurrent hidden state."""

from __future__ import annotations

import numpy as np
import pytest
import pytorch_lightning as pl
import torch

from offpcc_pl.algorithms import RSAC, SAC
from offpcc_pl.loop import ReplayCallback
from offpcc_pl.nets import Hidden
from offpcc_pl.policy import Policy


def quiet_trainer(steps: int, **options: object) -> pl.Trainer:
    quiet = {
        "max_epochs": 1,
        "logger": False,
        "enable_checkpointing": False,
        "enable_progress_bar": False,
        "enable_model_summary": False,
        "num_sanity_val_steps": 0,
        "limit_val_batches": 0,
        "inference_mode": False,
    }
    return pl.Trainer(
        callbacks=[ReplayCallback()], limit_train_batches=steps, **{**quiet, **options}
    )


def tiny_rsac(**options: object) -> RSAC:
    torch.manual_seed(0)
    small = {"summarizer_hidden": 8, "summarizer_layers": 1, "hidden_sizes": (16, 16)}
    return RSAC(env_id="pendulum-p-v0", **small, **options)


def test_hidden_state_resets_at_each_episode_start(monkeypatch: pytest.MonkeyPatch) -> None:
    module = tiny_rsac(update_after=400)
    seen: list[bool] = []  # per env step: was the hidden state fresh (None)?
    act = Policy.act

    def spy(policy: Policy, obs: np.ndarray, hidden: Hidden) -> tuple[np.ndarray, Hidden]:
        seen.append(hidden is None)
        return act(policy, obs, hidden)

    monkeypatch.setattr(Policy, "act", spy)
    quiet_trainer(400).fit(module)
    fresh_steps = [i for i, fresh in enumerate(seen) if fresh]
    assert fresh_steps == [0, 200]  # two 200-step episodes, state carried in between


def test_acting_copy_stays_frozen_until_the_next_episode() -> None:
    module = tiny_rsac(update_after=250, batch_size=2)
    quiet_trainer(300).fit(module)  # episode 2 started at step 200, updates from 250 on
    acting, live = module.acting["actor"].state_dict(), module.actor.state_dict()
    assert any(not torch.equal(acting[k], live[k]) for k in live)
    module.start_episode()
    acting = module.acting["actor"].state_dict()
    assert all(torch.equal(acting[k], live[k]) for k in live)


def test_warm_up_acts_randomly_and_then_updates() -> None:
    module = SAC(env_id="Pendulum-v1", hidden_sizes=(16, 16), update_after=50, batch_size=8)
    quiet_trainer(80).fit(module)
    assert module.n_updates == 30  # steps 50..79 update once each


def test_summarizer_inputs_append_previous_action_and_reward() -> None:
    module = tiny_rsac(update_after=250, batch_size=2, summarizer_inputs="obs_act_rew")
    assert module.obs_dim == 2 + 1 + 1
    trainer = quiet_trainer(260)
    trainer.fit(module)
    buffer = next(c for c in trainer.callbacks if isinstance(c, ReplayCallback)).buffer
    episode = 0  # the first, complete, 200-step episode
    assert torch.equal(torch.from_numpy(buffer.obs[episode, 0, 2:]), torch.zeros(2))
    assert (buffer.obs[episode, 1:201, 2] == buffer.act[episode, :, 0]).all()
    assert (buffer.obs[episode, 1:201, 3] == buffer.rew[episode, :, 0]).all()
