"""``offpcc-pl multifit``: one ``offpcc-pl fit`` per seed (and grid point), each in its own
process and run dir, one after another or in parallel on Ray Tune.

Syntax: ``offpcc-pl multifit --seeds 0 1 2 [options] -- FIT_ARGS...``; everything after
``--`` goes to ``offpcc-pl fit`` unchanged, then multifit appends ``--seed_everything K``,
``--trainer.default_root_dir RUN`` and, when ``RUN/last.ckpt`` exists, ``--ckpt_path`` to it,
so a killed or failed trial continues from its last epoch when it is run again.
"""

from __future__ import annotations

import itertools
import math
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

import yaml

from offpcc_pl.checkpointing.names import algorithm_name, check_algorithm, run_directory
from offpcc_pl.commands.common import EXIT_USAGE, make_parser, run_command
from offpcc_pl.commands.runs import last_value, read_metric
from offpcc_pl.envs.make import check_env_id
from offpcc_pl.errors import ConfigError
from offpcc_pl.outputs import (
    CSV_DIR,
    LAST_CKPT,
    check_output_dir,
    not_there_yet,
    remove_empty,
    run_contents,
)

RAY_HINT = "Ray is not installed: pip install 'offpcc-pl[ray]'"
# Tests only: comma-separated seeds whose first attempt is killed (SIGKILL) once its first
# epoch is checkpointed and logged, so that the retry must resume from last.ckpt.
KILL_ENV = "OFFPCC_MULTIFIT_TEST_KILL"
# A fit stopped by SIGINT / SIGTERM saves last.ckpt and exits 128 + signal: the user's
# decision, so the trial is not retried and the trials after it do not start.
EXIT_INTERRUPTED = (128 + signal.SIGINT, 128 + signal.SIGTERM)
DEFAULT_ENV_ID = "Pendulum-v1"  # OffPolicyModule's default env_id
MAX_SEED = 2**32 - 1  # numpy's seed range, which fit's --seed_everything takes
CLASS_KEYS = ("model", "model.class_path")
NAMED_KEYS = (*CLASS_KEYS, "model.env_id", "model.init_args.env_id")


@dataclass
class Trial:
    """One ``offpcc-pl fit`` process: a seed and a grid point."""

    seed: int
    run_dir: str  # absolute
    fit_args: list[str]
    cwd: str  # relative paths in fit_args (configs) are relative to the launch directory
    point: dict[str, str] = field(default_factory=dict)

    @property
    def last_ckpt(self) -> Path:
        return Path(self.run_dir) / LAST_CKPT

    def command(self) -> list[str]:
        """The fit command, resuming from ``last.ckpt`` when it exists."""
        cmd = [sys.executable, "-m", "offpcc_pl", "fit", *point_flags(self.point, self.fit_args)]
        cmd += ["--seed_everything", str(self.seed), "--trainer.default_root_dir", self.run_dir]
        if self.last_ckpt.is_file():
            cmd += ["--ckpt_path", str(self.last_ckpt)]
        return cmd

    @property
    def name(self) -> str:
        point = ",".join(f"{k}={v}" for k, v in self.point.items())
        return f"seed{self.seed}" + (f"[{point}]" if point else "")


# -- planning ----------------------------------------------------------------------------------


def point_flags(point: dict[str, str], fit_args: list[str]) -> list[str]:
    """Fit args with a grid point: a grid over the algorithm (``model``) goes first, so the
    ``--model.*`` options after it apply to the chosen class; other values go last and win."""
    first = [x for k, v in point.items() if k in CLASS_KEYS for x in (f"--{k}", v)]
    last = [x for k, v in point.items() if k not in CLASS_KEYS for x in (f"--{k}", v)]
    return [*first, *fit_args, *last]


def _flag_values(args: list[str], *names: str) -> list[tuple[str, str]]:
    """``(name, value)`` of ``--name value`` and ``--name=value`` occurrences, in order."""
    found = []
    for i, arg in enumerate(args):
        for name in names:
            if arg == name and i + 1 < len(args):
                found.append((name, args[i + 1]))
            elif arg.startswith(name + "="):
                found.append((name, arg.split("=", 1)[1]))
    return found


def _from_config(path: str, cwd: str) -> dict[str, str | None]:
    """algo / env id / root dir that a ``--config`` YAML sets."""
    file = Path(cwd, path)
    try:
        data = yaml.safe_load(file.read_text()) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
        raise ConfigError(f"cannot read config '{path}' ({err.__class__.__name__})") from None
    if not isinstance(data, dict):
        raise ConfigError(
            f"config '{path}' holds a {type(data).__name__}, not a mapping of options "
            "(model:, trainer:, ...; see configs/ for examples)"
        )
    found: dict[str, str | None] = {}
    model = data.get("model")
    if isinstance(model, str):
        found["algo"] = model
    elif isinstance(model, dict):
        if model.get("class_path"):
            found["algo"] = model["class_path"]
        init_args = model.get("init_args")
        init_args = init_args if isinstance(init_args, dict) else {}
        env_id = init_args.get("env_id") or model.get("env_id")
        if env_id:
            found["env_id"] = env_id
    trainer = data.get("trainer") or {}
    if isinstance(trainer, dict) and trainer.get("default_root_dir"):
        found["root"] = trainer["default_root_dir"]
    return found


def scan_fit_args(args: list[str], cwd: str) -> tuple[str | None, str, str | None]:
    """``(algorithm, env id, default_root_dir)`` as fit will resolve them (later flags win)."""
    algo, env_id, root = None, DEFAULT_ENV_ID, None
    flags = (
        "--config",
        "--model",
        "--model.class_path",
        "--model.env_id",
        "--model.init_args.env_id",
        "--trainer.default_root_dir",
    )
    for name, value in _flag_values(args, *flags):
        if name == "--config":
            found = _from_config(value, cwd)
            algo = found.get("algo", algo)
            env_id = found.get("env_id", env_id)
            root = found.get("root", root)
        elif name in ("--model", "--model.class_path"):
            algo = value
        elif name == "--trainer.default_root_dir":
            root = value
        else:
            env_id = value
    return (None if algo is None else algorithm_name(algo)), env_id, root


def parse_grid(specs: list[str]) -> list[dict[str, str]]:
    """``["model.lr=1e-3,3e-4", "model.tau=0.005"]`` -> the product of the listed values."""
    axes: list[list[tuple[str, str]]] = []
    for spec in specs:
        key, sep, values = spec.partition("=")
        key = key.lstrip("-")
        if not sep or not key or not values:
            raise ConfigError(f"--grid '{spec}' is not KEY=V1,V2,... (e.g. model.lr=1e-3,3e-4)")
        axes.append([(key, value) for value in values.split(",")])
    return [dict(combo) for combo in itertools.product(*axes)]


def plan_trials(
    fit_args: list[str], seeds: list[int], grid: list[dict[str, str]], cwd: str
) -> list[Trial]:
    """One trial per (grid point, seed), each with its own run dir (see module docstring).

    Run dirs: ``<root>/seed<k>`` where root is the fit's ``--trainer.default_root_dir`` or
    ``checkpoints/<env>-<algo>``; a grid point adds its values to the group name
    (``checkpoints/<env>-<algo>-lr=0.001/seed<k>``, or ``<root>/lr=0.001/seed<k>``).
    """
    for forbidden in ("--seed_everything", "--ckpt_path"):
        if _flag_values(fit_args, forbidden):
            raise ConfigError(
                f"remove {forbidden} from the fit args: multifit sets it per seed (and resumes "
                "each seed from its own last.ckpt)"
            )
    if any(k in CLASS_KEYS for point in grid for k in point) and _flag_values(
        fit_args, *(f"--{k}" for k in CLASS_KEYS)
    ):
        raise ConfigError(
            "--grid model=... chooses the algorithm: remove --model from the fit args"
        )
    trials = []
    for point in grid:
        algo, env_id, root = scan_fit_args(point_flags(point, fit_args), cwd)
        if algo is None:
            raise ConfigError(
                "the fit args name no algorithm: add --model SAC (or a --config with "
                "model.class_path) after --"
            )
        check_algorithm(algo)
        named = NAMED_KEYS if root is None else ()  # the default group name holds them already
        label = ",".join(f"{k.rsplit('.', 1)[-1]}={v}" for k, v in point.items() if k not in named)
        for seed in seeds:
            path = run_directory(env_id, algo, seed, root, label)
            run_dir = str(Path(cwd, path).resolve())
            trials.append(Trial(seed, run_dir, list(fit_args), cwd, dict(point)))
    run_dirs = [t.run_dir for t in trials]
    if len(set(run_dirs)) < len(run_dirs):
        raise ConfigError("two trials would share a run dir; give each grid value once")
    return trials


# -- running one trial -------------------------------------------------------------------------


def _first_epoch_done(trial: Trial) -> bool:
    if not trial.last_ckpt.is_file():
        return False
    try:
        return read_metric(trial.run_dir, "time/hours") is not None
    except (OSError, ValueError):  # the CSV is being written
        return False


def _say(message: str, log: IO[str] | None) -> None:
    print(f"[multifit] {message}", flush=True)
    if log is not None:
        print(f"[multifit] {message}", file=log, flush=True)


def check_run_dirs(trials: list[Trial]) -> None:
    """Each trial's run directory is free, or holds a run to continue from its last.ckpt:
    one that holds a run without it (best.ckpt, policy/, CSV logs) would be started over."""
    for trial in trials:
        check_output_dir(trial.run_dir, "run directory")
        found = run_contents(trial.run_dir)
        if found and not trial.last_ckpt.is_file():
            raise ConfigError(
                f"run directory '{trial.run_dir}' holds a run without a last.ckpt to continue "
                f"from ({', '.join(found[:4])}); multifit continues a trial only from its "
                "last.ckpt: move that run away, or give the trials another "
                "--trainer.default_root_dir"
            )


def _discard_failed_start(trial: Trial, before: list[str], log: IO[str] | None) -> None:
    """Remove what an attempt that saved no last.ckpt added to its run directory (CSV logs
    of a run that cannot be continued), so that the next attempt starts a clean run there
    instead of being refused as a run that already exists."""
    added = [name for name in run_contents(trial.run_dir) if name not in before]
    for name in added:
        path = Path(trial.run_dir, name)
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()
    csv_dir = Path(trial.run_dir, CSV_DIR)
    if csv_dir.is_dir() and not any(csv_dir.iterdir()):
        csv_dir.rmdir()
    if added:
        _say(f"{trial.name}: no last.ckpt saved, removed what it started ({', '.join(added)})", log)


def run_trial(
    trial: Trial, log: IO[str] | None = None, kill_after_first_epoch: bool = False
) -> int:
    """Run the trial's fit process; its exit code (negative: killed by that signal).

    Args:
        trial: what to run.
        log: file for the fit's output (None: this process's stdout/stderr).
        kill_after_first_epoch: tests only ($OFFPCC_MULTIFIT_TEST_KILL): SIGKILL the fit once
            its first epoch is checkpointed and logged, unless it is resuming already.
    """
    before = run_contents(trial.run_dir)
    new_dirs = not_there_yet([Path(trial.run_dir)])
    code = _run_fit(trial, log, kill_after_first_epoch)
    if code != 0 and not trial.last_ckpt.is_file():
        _discard_failed_start(trial, before, log)
        remove_empty(new_dirs)  # a refused fit leaves no empty run directory behind
    return code


def _run_fit(trial: Trial, log: IO[str] | None, kill_after_first_epoch: bool) -> int:
    resuming = trial.last_ckpt.is_file()
    cmd = trial.command()
    if resuming:
        _say(f"{trial.name}: resuming from {trial.last_ckpt}", log)
    _say(f"{trial.name}: offpcc-pl {' '.join(cmd[3:])}", log)
    Path(trial.run_dir).mkdir(parents=True, exist_ok=True)
    stderr = subprocess.STDOUT if log is not None else None
    # its own process group: a Ctrl-C in the terminal reaches multifit only, which forwards
    # it once (two would make the fit stop at once, before it saves)
    proc = subprocess.Popen(cmd, cwd=trial.cwd, stdout=log, stderr=stderr, process_group=0)
    try:
        while proc.poll() is None:
            if kill_after_first_epoch and not resuming and _first_epoch_done(trial):
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                _say(f"{trial.name}: killed after its first checkpoint ({KILL_ENV})", log)
                break
            time.sleep(0.05)
    except (KeyboardInterrupt, Terminated) as err:
        signum = err.signum if isinstance(err, Terminated) else signal.SIGINT
        proc.send_signal(signum)  # the fit saves last.ckpt at its current env step
        _say(f"{trial.name}: {signal.Signals(signum).name} passed on, waiting for its save", log)
        code = _wait_forwarding(proc)
        # The user stopped multifit: an interruption whatever the fit's exit code. A fit that
        # got the signal twice (from multifit and from e.g. `pkill -f`) stops at once with
        # exit 1, and must not be retried either.
        return code if code in EXIT_INTERRUPTED else 128 + signum
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    return proc.returncode


class Terminated(Exception):
    """SIGTERM to multifit, raised in the main thread like KeyboardInterrupt for SIGINT."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated(signum)


def _wait_forwarding(proc: subprocess.Popen) -> int:
    """Wait for the fit; a further signal is passed on too (the fit then stops at once)."""
    while True:
        try:
            return proc.wait()
        except KeyboardInterrupt:
            proc.send_signal(signal.SIGINT)
        except Terminated as err:
            proc.send_signal(err.signum)


def _trial_result(trial: Trial, returncode: int) -> dict[str, Any]:
    value = last_value(trial.run_dir, "test/episode_return")
    return {
        "trial": trial.name,
        "run_dir": trial.run_dir,
        "returncode": returncode,
        "test_episode_return": math.nan if value is None else value,
    }


def run_sequential(trials: list[Trial], max_failures: int, kill_seeds: set[int]) -> list[dict]:
    results = []
    for trial in trials:
        attempts = 0
        while True:
            attempts += 1
            returncode = run_trial(trial, kill_after_first_epoch=trial.seed in kill_seeds)
            if returncode in (0, EXIT_USAGE, *EXIT_INTERRUPTED) or attempts > max_failures:
                break
            print(f"[multifit] {trial.name}: exit {returncode}, retrying", flush=True)
        results.append(_trial_result(trial, returncode))
        if returncode in EXIT_INTERRUPTED:
            print(
                f"[multifit] {trial.name}: interrupted; run the same command again to resume "
                "from its last.ckpt",
                flush=True,
            )
            break
        if returncode == EXIT_USAGE:  # a bad fit argument fails every seed alike
            break
    return results


# -- Ray Tune ----------------------------------------------------------------------------------


def _ray_trainable(config: dict[str, Any]) -> None:
    """One Tune trial: one fit process; raising makes Tune retry it (resuming from last.ckpt)."""
    from ray import tune

    trial = Trial(**config["trial"])
    Path(trial.run_dir).mkdir(parents=True, exist_ok=True)
    with open(Path(trial.run_dir) / "fit.log", "a") as log:
        returncode = run_trial(trial, log, trial.seed in config["kill_seeds"])
    if returncode not in (0, EXIT_USAGE, *EXIT_INTERRUPTED):  # interrupted: no retry
        raise RuntimeError(
            f"{trial.name}: offpcc-pl fit exited with {returncode}; see {trial.run_dir}/fit.log"
        )
    tune.report(_trial_result(trial, returncode))


def _trial_dirname(tune_trial: Any) -> str:
    return Trial(**tune_trial.config["trial"]).name.replace("[", "-").replace("]", "")


def run_ray(trials: list[Trial], args: Any, kill_seeds: set[int], storage: Path) -> list[dict]:
    import ray
    from ray import tune

    if args.ray_address:
        ray.init(address=args.ray_address, log_to_driver=False)
    else:
        ray.init(
            num_cpus=args.num_cpus,
            include_dashboard=False,
            log_to_driver=False,
            object_store_memory=256 * 2**20,  # trials exchange nothing big
        )
    try:
        trainable = tune.with_resources(_ray_trainable, {"cpu": args.cpus_per_trial})
        tuner = tune.Tuner(
            trainable,
            param_space={
                "trial": tune.grid_search([asdict(t) for t in trials]),
                "kill_seeds": sorted(kill_seeds),
            },
            tune_config=tune.TuneConfig(
                max_concurrent_trials=args.max_concurrent,
                trial_dirname_creator=_trial_dirname,
            ),
            run_config=tune.RunConfig(
                name="multifit",
                storage_path=str(storage.resolve()),
                failure_config=tune.FailureConfig(max_failures=args.max_failures),
                verbose=1,
            ),
        )
        by_run_dir = {r.config["trial"]["run_dir"]: r for r in tuner.fit()}
        results = []
        for trial in trials:
            result = by_run_dir.get(trial.run_dir)
            failed = result is None or result.error is not None
            row = _trial_result(trial, 1 if failed else 0)
            if not failed:
                row["returncode"] = (result.metrics or {}).get("returncode", 0)
            results.append(row)
        return results
    finally:
        ray.shutdown()


# -- command -----------------------------------------------------------------------------------


def _parser():
    parser = make_parser(
        "multifit",
        "Run `offpcc-pl fit FIT_ARGS --seed_everything K` once per seed (and grid point), each "
        "in its own process and run dir (<root>/seed<K>); sequentially, or in parallel on Ray "
        "Tune with --ray. A seed whose last.ckpt exists resumes from it. "
        "Usage: offpcc-pl multifit --seeds 0 1 2 [--ray] -- --config X.yaml --trainer.max_epochs 5",
    )
    parser.add_argument("--seeds", type=int, nargs="+", required=True, help="seeds to run")
    parser.add_argument(
        "--grid",
        action="append",
        default=[],
        metavar="KEY=V1,V2",
        help="also sweep a fit option (repeatable; trials = seeds x product of the grids)",
    )
    parser.add_argument(
        "--max_failures", type=int, default=1, help="retries of a failed trial (each resumes)"
    )
    parser.add_argument("--dry_run", action="store_true", help="print the fit commands only")
    ray_group = parser.add_argument_group("Ray Tune (parallel)")
    ray_group.add_argument("--ray", action="store_true", help="run the trials on Ray Tune")
    ray_group.add_argument(
        "--ray_address",
        help="join a running cluster ('auto' or host:port; needs a filesystem shared with this "
        "directory); default: start a local Ray",
    )
    ray_group.add_argument(
        "--num_cpus", type=int, help="CPUs of the local Ray (default: all of this machine's)"
    )
    ray_group.add_argument("--cpus_per_trial", type=float, help="CPUs per trial (default: 1)")
    ray_group.add_argument(
        "--max_concurrent", type=int, help="trials at once (default: as many as CPUs allow)"
    )
    return parser


def check_ray_options(args: Any) -> None:
    """The Ray options size a Ray run only, and must let each trial start (a trial that asks
    for more CPUs than the local Ray has waits forever)."""
    given = [
        name
        for name in ("ray_address", "num_cpus", "cpus_per_trial", "max_concurrent")
        if getattr(args, name) is not None
    ]
    if given and not args.ray:
        raise ConfigError(f"--{given[0]} sizes a Ray run: add --ray, or leave it out")
    if args.ray_address and "num_cpus" in given:
        raise ConfigError(
            "--num_cpus sizes the local Ray; a cluster (--ray_address) has its own CPUs"
        )
    if args.num_cpus is not None and args.num_cpus < 1:
        raise ConfigError(f"--num_cpus {args.num_cpus}: give at least 1")
    if args.max_concurrent is not None and args.max_concurrent < 1:
        raise ConfigError(f"--max_concurrent {args.max_concurrent}: give at least 1")
    if args.cpus_per_trial is None:
        args.cpus_per_trial = 1.0
    if args.num_cpus is None and not args.ray_address:
        args.num_cpus = os.cpu_count() or 1
    if args.cpus_per_trial <= 0:
        raise ConfigError(f"--cpus_per_trial {args.cpus_per_trial}: give a number above 0")
    if not args.ray_address and args.cpus_per_trial > args.num_cpus:
        raise ConfigError(
            f"--cpus_per_trial {args.cpus_per_trial} is more than the local Ray's "
            f"--num_cpus {args.num_cpus}: no trial could start"
        )


def _split(argv: list[str]) -> tuple[list[str], list[str]]:
    if "--" not in argv:
        return argv, []
    i = argv.index("--")
    return argv[:i], argv[i + 1 :]


def _print_results(results: list[dict]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="multifit")
    for column in ("trial", "exit", "test/episode_return", "run dir"):
        table.add_column(column)
    for row in results:
        value = row["test_episode_return"]
        table.add_row(
            row["trial"],
            str(row["returncode"]),
            "-" if math.isnan(value) else f"{value:.2f}",
            row["run_dir"],
        )
    Console(width=200).print(table)


def _multifit(argv: list[str]) -> int:
    own, fit_args = _split(argv)
    args = _parser().parse_args(own)
    if not fit_args:
        raise ConfigError(
            "no fit args: put them after --, e.g. -- --model SAC --trainer.max_epochs 5"
        )
    if args.max_failures < 0:
        raise ConfigError(f"--max_failures must be >= 0, got {args.max_failures}")
    bad_seeds = [seed for seed in args.seeds if not 0 <= seed <= MAX_SEED]
    if bad_seeds:
        raise ConfigError(
            f"--seeds {' '.join(map(str, bad_seeds))}: a seed is a whole number from 0 to "
            f"{MAX_SEED}"
        )
    check_ray_options(args)
    if args.ray:
        try:
            import ray  # noqa: F401
            from ray import tune  # noqa: F401
        except ImportError:
            raise ConfigError(RAY_HINT) from None
    cwd = os.getcwd()
    grid = parse_grid(args.grid) or [{}]
    trials = plan_trials(fit_args, sorted(set(args.seeds)), grid, cwd)
    for point in grid:  # before any trial makes its run directory
        check_env_id(scan_fit_args(point_flags(point, fit_args), cwd)[1])
    check_run_dirs(trials)
    if args.dry_run:
        for trial in trials:
            print(" ".join(["offpcc-pl", *trial.command()[3:]]))
        return 0
    kill_seeds = {int(k) for k in os.environ.get(KILL_ENV, "").split(",") if k.strip()}
    if args.ray:
        groups = [str(Path(t.run_dir).parent) for t in trials]
        storage = Path(os.path.commonpath(groups)) / "ray_results"
        results = run_ray(trials, args, kill_seeds, storage)
    else:
        # SIGINT raises KeyboardInterrupt even when multifit was started with it ignored (a
        # script's background job): the fit must get the user's stop. A fit started while
        # this handler is in place gets SIGINT's default back at exec, not SIG_IGN.
        previous = {
            signal.SIGTERM: signal.signal(signal.SIGTERM, _raise_terminated),
            signal.SIGINT: signal.signal(signal.SIGINT, signal.default_int_handler),
        }
        try:
            results = run_sequential(trials, args.max_failures, kill_seeds)
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
    _print_results(results)
    codes = [row["returncode"] for row in results]
    interrupted = [code for code in codes if code in EXIT_INTERRUPTED]
    if interrupted:
        return interrupted[0]
    if len(results) < len(trials) or any(code == EXIT_USAGE for code in codes):
        return EXIT_USAGE
    return 0 if all(code == 0 for code in codes) else 1


def multifit_command(args: list[str]) -> int:
    """Entry of ``offpcc-pl multifit --seeds K... [--ray] -- FIT_ARGS``."""
    return run_command("multifit", _multifit, args)
