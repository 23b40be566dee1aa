"""What the policy commands share: argument parsing, one-line errors, loading the policy.

``play_episode`` / ``EpisodeResult`` come from :mod:`offpcc_pl.rollout` (the one episode
loop, shared with the validation loop).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import numpy as np

from offpcc_pl.errors import ConfigError
from offpcc_pl.rollout import EpisodeResult

if TYPE_CHECKING:
    import gymnasium

    from offpcc_pl.policy import Policy

EXIT_USAGE = 2


class CommandParser(argparse.ArgumentParser):
    """argparse whose errors are one line and exit code 2, like every bad input of ours."""

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


def env_id_arg(text: str) -> str:
    """argparse type: a registered env id (an empty one would fall back to the training env
    without a word)."""
    from offpcc_pl.envs.make import check_env_id

    if not text.strip():
        raise argparse.ArgumentTypeError("must name an env id, got an empty string")
    try:
        check_env_id(text)
    except ConfigError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    return text


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


def add_overwrite_arg(parser: argparse.ArgumentParser, what: str) -> None:
    """``--overwrite``: the one way to let a command replace files that are already there."""
    parser.add_argument(
        "--overwrite", action="store_true", help=f"replace {what} if there (default: refuse)"
    )


def check_checkpoint_file(path: str) -> None:
    """``--ckpt_path``: a checkpoint file that exists (these commands know no run, so
    ``last`` and ``best`` are paths here: ``RUN/last.ckpt``, or ``--policy RUN``)."""
    from offpcc_pl.checkpointing.files import check_checkpoint_file as check_file

    check_file(
        path,
        "a checkpoint file such as RUN/last.ckpt or RUN/best.ckpt; --policy takes a run or "
        "policy directory",
        f"or use --policy {path}",
    )


def check_source(args: argparse.Namespace) -> Path:
    """``--ckpt_path`` names a file and ``--policy`` a directory holding a policy or a
    checkpoint; the export dir or checkpoint to load."""
    from offpcc_pl.policy import resolve_policy_path

    if args.ckpt_path is not None:
        check_checkpoint_file(args.ckpt_path)
    if args.policy is not None:
        if Path(args.policy).is_file():
            raise ConfigError(
                f"--policy '{args.policy}' is a file; --policy takes a run or policy "
                "directory (use --ckpt_path for a checkpoint file)"
            )
        if not Path(args.policy).is_dir():
            raise ConfigError(f"policy dir '{args.policy}' does not exist")
    return resolve_policy_path(args.ckpt_path or args.policy)


def load_source(args: argparse.Namespace) -> tuple[Policy, Path]:
    """The policy named by ``--ckpt_path`` / ``--policy`` and the run dir it belongs to."""
    from offpcc_pl.policy import POLICY_DIR, load_policy

    path = check_source(args)
    policy = load_policy(path, deterministic=not args.stochastic)
    run_dir = path.parent if path.is_file() or path.name == POLICY_DIR else path
    return policy, run_dir


def _obs_dims(shape: tuple[int, ...]) -> int | tuple[int, ...]:
    """``O`` for vector observations, ``(C, H, W)`` for images."""
    return shape[0] if len(shape) == 1 else tuple(shape)


def make_policy_env(
    policy: Policy, env_id: str | None, render_mode: str | None = None
) -> gymnasium.Env:
    """The env to play ``policy`` in (default: its training env), checked against its dims."""
    from offpcc_pl.envs.make import make_env

    env_id = env_id or policy.env_id
    env = make_env(env_id, render_mode=render_mode, history=policy.spec.history)
    dims = (_obs_dims(env.observation_space.shape), env.action_space.shape[0])
    trained = (_obs_dims(policy.obs_shape), policy.spec.act_dim)
    if dims != trained:
        env.close()
        raise ConfigError(
            f"env '{env_id}' has (obs, act) dims {dims} but the policy was trained on "
            f"'{policy.env_id}' with {trained}"
        )
    return env


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
