"""``offpcc-pl evaluate``: seeded deterministic episodes of a saved policy, as a table."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from offpcc_pl.commands.common import (
    add_overwrite_arg,
    add_source_args,
    env_id_arg,
    load_source,
    make_parser,
    make_policy_env,
    positive_int,
    run_command,
    summarize,
)
from offpcc_pl.outputs import check_output_file
from offpcc_pl.rollout import play_episode


def _parser():
    parser = make_parser(
        "evaluate",
        "Play N deterministic episodes of a saved policy; episode i resets with seed "
        "TEST_SEED + i, as the validation loop does, so the numbers match test/episode_return.",
    )
    add_source_args(parser)
    parser.add_argument("--episodes", type=positive_int, default=10, help="episodes to play")
    parser.add_argument(
        "--env_id", type=env_id_arg, help="evaluate on another env id (default: the training env)"
    )
    parser.add_argument("--json", metavar="FILE", help="also write per-episode results as JSON")
    add_overwrite_arg(parser, "the --json file")
    return parser


def _evaluate(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    if args.json:  # before a single episode is played
        check_output_file(args.json, "--json", args.overwrite, example="results.json")
    policy, _ = load_source(args)
    from rich.console import Console
    from rich.table import Table

    from offpcc_pl.envs.make import TEST_SEED

    env_id = args.env_id or policy.env_id
    env = make_policy_env(policy, env_id)
    try:
        results = [play_episode(policy, env, TEST_SEED + i) for i in range(args.episodes)]
    finally:
        env.close()
    stats = summarize(results)

    mode = "stochastic" if args.stochastic else "deterministic"
    table = Table(title=f"{policy.spec.algorithm} on {env_id} ({mode}, seeds {TEST_SEED}+i)")
    table.add_column("episodes", justify="right")
    table.add_column("return (mean ± std)", justify="right")
    table.add_column("length (mean)", justify="right")
    if stats["success_rate"] is not None:
        table.add_column("success rate", justify="right")
    row = [
        str(args.episodes),
        f"{stats['return_mean']:.3f} ± {stats['return_std']:.3f}",
        f"{stats['length_mean']:.1f}",
    ]
    if stats["success_rate"] is not None:
        row.append(f"{stats['success_rate']:.2f}")
    table.add_row(*row)
    Console().print(table)

    if args.json:
        report = {
            "algorithm": policy.spec.algorithm,
            "env_id": env_id,
            "seeds": [TEST_SEED + i for i in range(args.episodes)],
            "episodes": [asdict(r) for r in results],
            **stats,
        }
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(report, indent=2))
    return 0


def evaluate_command(args: list[str]) -> int:
    """Entry of ``offpcc-pl evaluate --ckpt_path FILE | --policy DIR [--episodes N]``."""
    return run_command("evaluate", _evaluate, args)
