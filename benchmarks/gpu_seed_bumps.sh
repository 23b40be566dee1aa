#!/usr/bin/env bash
# The seed setting of the headline task (configs/rsac_bumps.yaml: three
# separate 2x256 LSTMs, whole 50-step episodes, 10 a batch) trained on a CUDA device for as
# long as LIMIT seconds allow, with shorter epochs (1000 env steps, 10 test episodes) so the
# success rate is read several times. Prints updates/s (from the CSV log) and the success rates.
#
#     bash benchmarks/gpu_seed_bumps.sh [LOG_DIR]      # default: checkpoints/gpu_seed_bumps
#
# LIMIT: seconds of training (default 240; the run is stopped by SIGTERM, which saves
# last.ckpt); ACCEL: the accelerator (default gpu; cpu to try the script anywhere); the other
# settings of benchmarks/gpu_fit.sh, which runs it (output in LOG_DIR/fit.txt).
#
# Without pybullet (no wheel for the device's Python) it runs the pendulum-p seed setting
# (configs/rsac_pendulum_p.yaml) instead and says so.
set -u
log=${1:-checkpoints/gpu_seed_bumps}
mkdir -p "$log"
config=configs/rsac_bumps.yaml
if ! python3 -c "import pybullet" 2>/dev/null; then
    echo "pybullet is not installed here: running configs/rsac_pendulum_p.yaml instead" \
        | tee -a "$log/fit.txt"
    config=configs/rsac_pendulum_p.yaml
fi
bash "$(dirname "$0")/gpu_fit.sh" "$config" "$log"
