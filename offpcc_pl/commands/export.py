"""``offpcc-pl export``: write a checkpoint's policy (actor, summarizer, policy.yaml)."""

from __future__ import annotations

from pathlib import Path

from offpcc_pl.commands.common import (
    add_overwrite_arg,
    check_checkpoint_file,
    make_parser,
    run_command,
)
from offpcc_pl.outputs import POLICY_DIR, check_new_files, check_output_dir

# what an export writes (offpcc_pl.policy's POLICY_FILE, ACTOR_FILE and SUMMARIZER_FILE)
EXPORT_FILES = ("policy.yaml", "actor.pth", "actor_summarizer.pth")


def _parser():
    parser = make_parser(
        "export",
        "Write actor.pth (+ actor_summarizer.pth for recurrent agents) and policy.yaml from a "
        "Lightning checkpoint, for offpcc_pl.load_policy / evaluate / render / record.",
    )
    parser.add_argument("--ckpt_path", required=True, help="Lightning checkpoint (RUN/last.ckpt)")
    parser.add_argument(
        "--out", metavar="DIR", help="directory to write the policy to (default: CKPT_DIR/policy)"
    )
    add_overwrite_arg(parser, "a policy in --out")
    return parser


def _export(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    check_checkpoint_file(args.ckpt_path)
    out = check_output_dir(args.out or Path(args.ckpt_path).parent / POLICY_DIR, "--out")
    check_new_files(out, EXPORT_FILES, "--out", args.overwrite)
    from offpcc_pl.policy import export_checkpoint

    out = export_checkpoint(args.ckpt_path, out)
    print(f"policy exported to {out}")
    return 0


def export_command(args: list[str]) -> int:
    """Entry of ``offpcc-pl export --ckpt_path FILE [--out DIR]``."""
    return run_command("export", _export, args)
