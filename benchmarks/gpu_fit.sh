#!/usr/bin/env bash
# Trains any config on the accelerator for as long as LIMIT seconds allow, with
# shorter epochs so the test return is read several times, then prints from the run's CSV log
# the test return and success rate by env step and the env steps/s of the last epochs. After
# the warm-up (update_after) every env step runs updates_per_step updates, so an epoch wholly
# after it gives updates/s; an epoch's time includes its acting and its test episodes.
#
#     bash benchmarks/gpu_fit.sh CONFIG [LOG_DIR]      # default: checkpoints/gpu_fit
#
# LIMIT: seconds of training (default 240; the run is stopped by SIGTERM, which saves
# last.ckpt in the run dir, a fresh temporary dir); ACCEL: the accelerator (default gpu; cpu
# to try the script anywhere); EPOCH_STEPS: env steps an epoch (default 1000); EVAL_EPISODES:
# test episodes an epoch (default 10); FIT_ARGS: more fit arguments, e.g.
# FIT_ARGS="--model.update_after 100". Output: LOG_DIR/fit.txt (appended) and the metrics.csv.
set -u
config=${1:?usage: bash benchmarks/gpu_fit.sh CONFIG [LOG_DIR]}
log=${2:-checkpoints/gpu_fit}
mkdir -p "$log"
export PYTHONUNBUFFERED=1 WANDB_MODE=offline
run=$(mktemp -d)
echo "$config on ${ACCEL:-gpu} for ${LIMIT:-240} s, run dir $run" | tee -a "$log/fit.txt"
# --trainer.logger false drops the configs' WandbLogger; the CLI always adds <run>/csv
# shellcheck disable=SC2086  # FIT_ARGS is split into arguments on purpose
timeout "${LIMIT:-240}" python3 -m offpcc_pl fit --config "$config" \
    --trainer.accelerator "${ACCEL:-gpu}" --trainer.limit_train_batches "${EPOCH_STEPS:-1000}" \
    --model.eval_episodes "${EVAL_EPISODES:-10}" --trainer.logger false \
    --trainer.enable_progress_bar false --trainer.default_root_dir "$run" ${FIT_ARGS:-} 2>&1 \
    | grep -v -E "Tip:|available:|argv|^$" | tail -40 | tee -a "$log/fit.txt"
cp "$(ls -d "$run"/csv/version_* 2>/dev/null | tail -1)/metrics.csv" "$log/" 2>/dev/null
python3 - "$run" "${EPOCH_STEPS:-1000}" <<'PY' | tee -a "$log/fit.txt"
import sys
from pathlib import Path

import yaml

from offpcc_pl.commands.runs import read_metric

run, epoch_steps = sys.argv[1], int(sys.argv[2])
metrics = ("test/success_rate", "test/episode_return", "time/env_steps_per_s")
curves = {metric: read_metric(run, metric) for metric in metrics}
for metric, curve in curves.items():
    if curve is not None:
        points = list(zip(curve.x, curve.y))
        if metric.startswith("time/"):
            points = points[-5:]  # the rate of the last epochs
        print(metric, "by env step:", ", ".join(f"{x:.0f}: {y:.3g}" for x, y in points))
rate = curves["time/env_steps_per_s"]
hparams = sorted(Path(run, "csv").glob("version_*/hparams.yaml"))
if rate is None or not hparams:
    sys.exit(print("no epoch ended: no env steps/s (raise LIMIT or lower EPOCH_STEPS)"))
model = yaml.safe_load(hparams[-1].read_text())
warmup, per_step = model.get("update_after", 0), model.get("updates_per_step", 1)
if rate.x[-1] - epoch_steps >= warmup:  # the last epoch began after the warm-up
    print(f"updates/s, last epoch (env steps/s x {per_step}): {rate.y[-1] * per_step:.3g}")
else:
    print(f"no whole epoch after the warm-up ({warmup} env steps): no updates/s")
PY
