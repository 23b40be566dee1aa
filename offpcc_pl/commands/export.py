"""``offpcc-pl export``: write a checkpoint's policy (actor, summarizer, policy.yaml)."""

from __future__ import annotations

from pathlib import Path

from offpcc_pl.commands.common import make_parser, run_command
from offpcc_pl.errors import ConfigError


def _parser():
    parser = make_parser(
        "export",
        "Write actor.pth (+ actor_summarizer.pth for recurrent agents) and policy.yaml from a "
        "Lightning checkpoint, for offpcc_pl.load_policy / evaluate / render / record.",
    )
    parser.add_argument("--ckpt_path", required=True, help="Lightning checkpoint (RUN/last.ckpt)")
    parser.add_argument("--out", metavar="DIR", help="output directory (default: CKPT_DIR/policy)")
    return parser


def _export(argv: list[str]) -> int:
    from offpcc_pl.policy import export_checkpoint

    args = _parser().parse_args(argv)
    if not Path(args.ckpt_path).is_file():
        raise ConfigError(f"checkpoint '{args.ckpt_path}' does not exist")
    out = export_checkpoint(args.ckpt_path, args.out)
    print(f"policy exported to {out}")
    return 0


def export_command(args: list[str]) -> int:
    """Entry of ``offpcc-pl export --ckpt_path FILE [--out DIR]``."""
    return run_command("export", _export, args)
