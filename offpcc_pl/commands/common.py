"""What the policy commands share: argument parsing, one-line errors, playing episodes."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import numpy as np

from offpcc_pl.errors import ConfigError

if TYPE_CHECKING:
    import gymnasium

    from offpcc_pl.policy import Policy

EXIT_USAGE = 2


class CommandParser(argparse.ArgumentParser):
    """argparse with one-line errors (DESIGN.md "Errors": one line, exit code 2)."""

    def error(self, message: str) -> NoReturn:
        print(f"{self.prog}: error: {message} (see --help)", file=sys.stderr)
        sys.exit(EXIT_USAGE)


def make_parser(command: str, description: str) -> CommandParser:
    return CommandParser(
        prog=f"offpcc-pl {command}",
        description=description,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )


def positive_int(text: str) -> int:
    """argparse type: an integer > 0."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not an integer") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return value


def run_command(command: str, body: Callable[[list[str]], int], args: list[str]) -> int:
    """Run ``body(args)`` and return its exit code: a :class:`ConfigError` becomes one line
    on stderr and code 2, argparse's exits (``--help``, usage errors) their code."""
    try:
        return body(args)
    except ConfigError as err:
        print(f"offpcc-pl {command}: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else EXIT_USAGE


def add_source_args(parser: argparse.ArgumentParser) -> None:
    """``--ckpt_path FILE`` or ``--policy DIR``: where the policy comes from."""
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--ckpt_path", help="Lightning checkpoint of a run (e.g. RUN/last.ckpt)")
    source.add_argument(
        "--policy", metavar="DIR", help="exported policy dir (RUN/policy) or a run dir holding one"
    )
    parser.add_argument(
        "--stochastic",
        action="store_true",
        help="sample actions as in training instead of the deterministic evaluation policy",
    )


def load_source(args: argparse.Namespace) -> tuple[Policy, Path]:
    """The policy named by ``--ckpt_path`` / ``--policy`` and the run dir it belongs to."""
    from offpcc_pl.policy import POLICY_DIR, load_policy, resolve_policy_path

    if args.ckpt_path is not None and not Path(args.ckpt_path).is_file():
        raise ConfigError(f"checkpoint '{args.ckpt_path}' does not exist")
    if args.policy is not None and not Path(args.policy).is_dir():
        raise ConfigError(f"policy dir '{args.policy}' does not exist")
    path = resolve_policy_path(args.ckpt_path or args.policy)
    policy = load_policy(path, deterministic=not args.stochastic)
    run_dir = path.parent if path.is_file() or path.name == POLICY_DIR else path
    return policy, run_dir


def make_policy_env(
    policy: Policy, env_id: str | None, render_mode: str | None = None
) -> gymnasium.Env:
    """The env to play ``policy`` in (default: its training env), checked against its dims."""
    from offpcc_pl.envs.make import make_env

    env_id = env_id or policy.env_id
    env = make_env(env_id, render_mode=render_mode, history=policy.spec.history)
    dims = (env.observation_space.shape[0], env.action_space.shape[0])
    if dims != (policy.spec.obs_dim, policy.spec.act_dim):
        env.close()
        raise ConfigError(
            f"env '{env_id}' has (obs, act) dims {dims} but the policy was trained on "
            f"'{policy.env_id}' with {(policy.spec.obs_dim, policy.spec.act_dim)}"
        )
    return env


@dataclass
class EpisodeResult:
    """Outcome of one episode."""

    episode_return: float
    length: int
    success: float | None  # info["is_success"] at the end, where the env reports it


def play_episode(
    policy: Policy,
    env: gymnasium.Env,
    seed: int,
    max_steps: int | None = None,
    on_frame: Callable[[np.ndarray], None] | None = None,
) -> EpisodeResult:
    """Play one episode from ``env.reset(seed=seed)`` as the validation loop does
    (:meth:`offpcc_pl.loop.ReplayCallback.test_episode`).

    Args:
        policy: acts on each observation; reset here.
        env: made with :func:`offpcc_pl.envs.make.make_env` (actions in [-1, 1]).
        seed: reset seed (evaluation episode i uses ``TEST_SEED + i``).
        max_steps: stop after this many steps (None: until terminated or truncated).
        on_frame: receives ``env.render()`` after the reset and after every step.
    """
    obs, info = env.reset(seed=seed)
    policy.reset()
    if on_frame is not None:
        on_frame(env.render())
    total, length, done = 0.0, 0, False
    while not done:
        obs, rew, terminated, truncated, info = env.step(policy(obs))
        total += float(rew)
        length += 1
        if on_frame is not None:
            on_frame(env.render())
        done = terminated or truncated or (max_steps is not None and length >= max_steps)
    success = float(info["is_success"]) if "is_success" in info else None
    return EpisodeResult(total, length, success)


def summarize(results: Sequence[EpisodeResult]) -> dict[str, float | None]:
    """Mean/std of returns, mean length and success rate (None where not reported)."""
    returns = np.array([r.episode_return for r in results], dtype=np.float64)
    successes = [r.success for r in results if r.success is not None]
    return {
        "return_mean": float(returns.mean()),
        "return_std": float(returns.std()),
        "length_mean": float(np.mean([r.length for r in results])),
        "success_rate": float(np.mean(successes)) if successes else None,
    }
