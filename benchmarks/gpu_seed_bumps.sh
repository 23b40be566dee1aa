#!/usr/bin/env bash
# Issue 13, item 5: the seed setting of the headline task (configs/rsac_bumps.yaml: three
# separate 2x256 LSTMs, whole 50-step episodes, 10 a batch) trained on a CUDA device for as
# long as LIMIT seconds allow, with shorter epochs (1000 env steps, 10 test episodes) so the
# success rate is read several times. Prints updates/s (from the CSV log) and the success rates.
#
#     bash benchmarks/gpu_seed_bumps.sh [LOG_DIR]      # default: checkpoints/gpu_seed_bumps
#
# LIMIT: seconds of training (default 240; the run is stopped by SIGTERM, which saves
# last.ckpt); ACCEL: the accelerator (default gpu; cpu to try the script anywhere).
#
# Without pybullet (no wheel for the device's Python) it runs the pendulum-p seed setting
# (configs/rsac_pendulum_p.yaml) instead and says so.
set -u
log=${1:-checkpoints/gpu_seed_bumps}
mkdir -p "$log"
export PYTHONUNBUFFERED=1 WANDB_MODE=offline
config=configs/rsac_bumps.yaml
if ! python3 -c "import pybullet" 2>/dev/null; then
    echo "pybullet is not installed here: running configs/rsac_pendulum_p.yaml instead" | tee "$log/seed.txt"
    config=configs/rsac_pendulum_p.yaml
fi
run=$(mktemp -d)
timeout "${LIMIT:-240}" python3 -m offpcc_pl fit --config "$config" --trainer.accelerator "${ACCEL:-gpu}" \
    --trainer.limit_train_batches 1000 --model.eval_episodes 10 --trainer.logger false \
    --trainer.enable_progress_bar false --trainer.default_root_dir "$run" 2>&1 \
    | grep -v -E "Tip:|available:|argv|^$" | tail -40 | tee -a "$log/seed.txt"
python3 - "$run" <<'PY' | tee -a "$log/seed.txt"
import sys

from offpcc_pl.commands.runs import read_metric

# after the warm-up every env step runs one update, so env steps/s is updates/s there
for metric in ("test/success_rate", "test/episode_return", "time/env_steps_per_s"):
    curve = read_metric(sys.argv[1], metric)
    if curve is not None:
        points = list(zip(curve.x, curve.y))
        if metric.startswith("time/"):
            points = points[-5:]  # the rate of the last epochs
        print(metric, "by env step:", ", ".join(f"{x:.0f}: {y:.3g}" for x, y in points))
PY
