"""``offpcc-pl plot``: learning curves of several runs, mean ± std over seeds per group."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np

from offpcc_pl.commands.common import add_overwrite_arg, make_parser, run_command
from offpcc_pl.commands.runs import Curve, find_runs, read_metric
from offpcc_pl.errors import ConfigError
from offpcc_pl.outputs import check_output_file

SUCCESS_METRIC = "test/success_rate"


def _parser():
    parser = make_parser(
        "plot",
        "Plot a metric of several runs against env steps: runs are found under each DIR "
        "(dirs holding csv/version_*/metrics.csv) and grouped by their parent dir name "
        "(<env>-<algo>) or by --label; each group is drawn as mean ± std over its seeds.",
    )
    parser.add_argument("dirs", nargs="+", metavar="DIR", help="run dirs or dirs above them")
    parser.add_argument(
        "--out",
        required=True,
        metavar="FILE.png",
        help="image file to write (its suffix picks the format: .png, .pdf, .svg, ...)",
    )
    add_overwrite_arg(parser, "the --out file")
    parser.add_argument("--metric", default="test/episode_return", help="metric to plot")
    parser.add_argument(
        "--label",
        action="append",
        help="group name for the runs under the DIR at the same position (repeat once per DIR)",
    )
    parser.add_argument("--title", help="figure title (default: the env ids)")
    return parser


def aggregate(curves: list[Curve]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean and std over runs at the env steps all of them reached (linear interpolation
    where their evaluation steps differ)."""
    start = max(c.x[0] for c in curves)
    stop = min(c.x[-1] for c in curves)
    grid = np.unique(np.concatenate([c.x for c in curves]))
    grid = grid[(grid >= start) & (grid <= stop)]
    values = np.stack([np.interp(grid, c.x, c.y) for c in curves])  # (runs, steps)
    return grid, values.mean(axis=0), values.std(axis=0)


def _groups(dirs: list[str], labels: list[str] | None) -> dict[str, list[Path]]:
    if labels is not None and len(labels) != len(dirs):
        raise ConfigError(f"got {len(labels)} --label for {len(dirs)} DIRs; give one per DIR")
    groups: dict[str, list[Path]] = defaultdict(list)
    for i, directory in enumerate(dirs):
        if not Path(directory).is_dir():
            raise ConfigError(f"run dir '{directory}' does not exist")
        runs = find_runs(directory)
        if not runs:
            raise ConfigError(f"no runs under '{directory}' (no csv/version_*/metrics.csv)")
        for run in runs:
            groups[labels[i] if labels else run.resolve().parent.name].append(run)
    return groups


def _draw(ax, groups: dict[str, list[Curve]], ylabel: str, colors: dict[str, str]) -> None:
    for name, curves in groups.items():
        x, mean, std = aggregate(curves)
        label = f"{name} ({len(curves)} seed{'s' if len(curves) > 1 else ''})"
        ax.plot(x, mean, color=colors[name], label=label, marker="o" if len(x) < 30 else None)
        ax.fill_between(x, mean - std, mean + std, color=colors[name], alpha=0.2, linewidth=0)
    ax.set_xlabel("environment steps")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")


def _plot(argv: list[str]) -> int:
    import matplotlib

    matplotlib.use("Agg")  # headless, file output only
    import matplotlib.pyplot as plt
    from matplotlib.backend_bases import FigureCanvasBase

    args = _parser().parse_args(argv)
    # matplotlib picks the format by the suffix, and adds .png to a name without one
    formats = {f".{suffix}" for suffix in FigureCanvasBase.get_supported_filetypes()}
    out = check_output_file(args.out, "--out", args.overwrite, "curves.png", formats)
    run_groups = _groups(args.dirs, args.label)
    panels = [(args.metric, f"{args.metric} (sum of rewards per episode)")]
    if args.metric != SUCCESS_METRIC:
        panels.append((SUCCESS_METRIC, "test/success_rate (fraction of episodes)"))
    if args.metric.endswith("success_rate"):
        panels[0] = (args.metric, f"{args.metric} (fraction of episodes)")
    drawn = []
    for metric, ylabel in panels:
        curves: dict[str, list[Curve]] = {}
        for name, runs in run_groups.items():
            found = [c for c in (read_metric(run, metric) for run in runs) if c is not None]
            if found:
                curves[name] = found
        if curves:
            drawn.append((curves, ylabel))
        elif metric == args.metric:
            raise ConfigError(f"no run under {' '.join(args.dirs)} logged '{metric}'")
    colors = {name: f"C{i}" for i, name in enumerate(run_groups)}
    fig, axes = plt.subplots(1, len(drawn), figsize=(6 * len(drawn), 4), squeeze=False)
    for ax, (curves, ylabel) in zip(axes[0], drawn, strict=True):
        _draw(ax, curves, ylabel, colors)
    fig.suptitle(args.title or args.metric)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=100)
    plt.close(fig)
    print(f"wrote {out} ({', '.join(f'{k}: {len(v)} runs' for k, v in run_groups.items())})")
    return 0


def plot_command(args: list[str]) -> int:
    """Entry of ``offpcc-pl plot DIR... --out FILE.png [--metric M] [--label NAME ...]``."""
    return run_command("plot", _plot, args)
