#!/usr/bin/env bash
# The GPU checks in one command, on a machine with a CUDA device:
#
#     bash benchmarks/gpu_check.sh [LOG_DIR]      # default: checkpoints/gpu_check
#
# 1. tests that need CUDA: all six algorithms fit with --trainer.accelerator gpu (SAC and
#    RSAC compiled too), resume is exact on the GPU, the compiled update (one CUDA graph) gives
#    the eager losses, pinned batches, CUDA RNG state in checkpoints;
# 2. speed: SAC on HalfCheetah-v5 eager against --model.compile (updates/s and env steps/s
#    of a fit), RSAC at the seed setting on the GPU against the CPU.
# Each part has its own time limit, so a hang in one still leaves the other's figures.
set -u
log=${1:-checkpoints/gpu_check}
mkdir -p "$log"
export PYTHONUNBUFFERED=1 WANDB_MODE=offline
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv | tee "$log/gpu.txt"
python3 -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name())" \
    | tee -a "$log/gpu.txt"
timeout "${TEST_LIMIT:-300}" python3 -m pytest -q -p no:cacheprovider -n 6 -rfs \
    tests/test_cuda.py tests/test_buffers.py tests/test_resume.py -k "gpu or cuda or pinned" \
    2>&1 | tee "$log/tests.txt"
timeout "${SPEED_LIMIT:-240}" python3 benchmarks/speed.py --part compile --env HalfCheetah-v5 \
    --updates "${UPDATES:-200}" --steps "${STEPS:-2000}" 2>&1 \
    | grep -v -E "Tip:|available:|settotalmass|^$" | tee "$log/speed.txt"
