"""``offpcc-pl render``: watch a saved policy in a window (needs a display)."""

from __future__ import annotations

from offpcc_pl.commands.common import (
    add_source_args,
    check_source,
    env_id_arg,
    load_source,
    make_parser,
    make_policy_env,
    positive_int,
    run_command,
)
from offpcc_pl.envs.rendering import has_display
from offpcc_pl.errors import ConfigError
from offpcc_pl.rollout import play_episode


def _parser():
    parser = make_parser("render", "Show episodes of a saved policy on screen (render_mode=human).")
    add_source_args(parser)
    parser.add_argument("--episodes", type=positive_int, default=1, help="episodes to show")
    parser.add_argument(
        "--env_id", type=env_id_arg, help="render another env id (default: the training env)"
    )
    return parser


def _render(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    check_source(args)  # a missing policy is named first, display or not
    if not has_display():
        raise ConfigError(
            "no display to render to (DISPLAY is not set); "
            "use `offpcc-pl record --episodes N` to write MP4 videos instead"
        )
    policy, _ = load_source(args)
    from offpcc_pl.envs.make import TEST_SEED

    env = make_policy_env(policy, args.env_id, render_mode="human")
    try:
        for i in range(args.episodes):
            result = play_episode(policy, env, TEST_SEED + i)
            print(f"episode {i}: return {result.episode_return:.3f}, length {result.length}")
    finally:
        env.close()
    return 0


def render_command(args: list[str]) -> int:
    """Entry of ``offpcc-pl render --ckpt_path FILE | --policy DIR [--episodes N]``."""
    return run_command("render", _render, args)
