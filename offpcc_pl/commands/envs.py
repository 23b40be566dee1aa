"""``offpcc-pl envs``: the registered env ids with their spaces and episode limits."""

from __future__ import annotations

from offpcc_pl.commands.common import make_parser, run_command


def _parser():
    parser = make_parser(
        "envs",
        "List the env ids offpcc-pl registers: family, observation and action sizes, episode "
        "limit and what the observation hides. Any other registered gymnasium id with Box "
        "spaces trains too.",
    )
    parser.add_argument(
        "family", nargs="?", help="list only this family (e.g. dmc); default: every id"
    )
    return parser


def _envs(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    from offpcc_pl.envs.listing import print_env_table

    print_env_table(args.family)
    return 0


def envs_command(args: list[str]) -> int:
    """Entry of ``offpcc-pl envs [FAMILY]``."""
    return run_command("envs", _envs, args)
