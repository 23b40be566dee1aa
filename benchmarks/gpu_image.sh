#!/usr/bin/env bash
# SAC from pixels (configs/sac_cartpole_img.yaml, dm_control cartpole balance, MuJoCo
# rendering through EGL) trained on the accelerator for as long as LIMIT seconds allow, by
# benchmarks/gpu_fit.sh (test return by env step, env steps/s and updates/s of the last epochs),
# then the same agent's updates/s on the CPU from `benchmarks/speed.py --part image` (the update
# alone, and env steps/s of acting with rendering), so the log has both side by side.
#
#     bash benchmarks/gpu_image.sh [LOG_DIR]      # default: checkpoints/gpu_image
#
# Needs dm_control (extra [dmc]; on the device the wheels in .whl/). LIMIT, ACCEL, EPOCH_STEPS,
# FIT_ARGS: as in gpu_fit.sh; EVAL_EPISODES: test episodes an epoch (default 5, the config's);
# CPU_UPDATES: timed updates of the CPU part (default 20); CPU_LIMIT: its seconds (default 150).
# Output: LOG_DIR/fit.txt, LOG_DIR/metrics.csv, LOG_DIR/cpu.txt.
set -u
log=${1:-checkpoints/gpu_image}
mkdir -p "$log"
export MUJOCO_GL=egl PYTHONUNBUFFERED=1 WANDB_MODE=offline
export EVAL_EPISODES=${EVAL_EPISODES:-5}
bash "$(dirname "$0")/gpu_fit.sh" configs/sac_cartpole_img.yaml "$log"
timeout "${CPU_LIMIT:-150}" python3 benchmarks/speed.py --part image \
    --updates "${CPU_UPDATES:-20}" --steps 1000 2>&1 | grep -v -E "^$" | tee "$log/cpu.txt"
echo "side by side (${ACCEL:-gpu} fit, whole epochs; cpu, the update alone):"
grep -h -E "^time/env_steps_per_s|^updates/s|^no whole" "$log/fit.txt" | tail -2 \
    | sed "s/^/  ${ACCEL:-gpu}: /"
grep -h -E "^updates/s|^env steps/s" "$log/cpu.txt" | sed "s/^/  cpu: /"
