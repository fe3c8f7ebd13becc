#!/usr/bin/env bash
# The CUDA check, for a GPU machine (a few minutes): a venv with torch 2.13.0's CUDA build and the
# project's test extra, then `pytest -m cuda` (a device switch, a backward pass and an optimizer step
# on cuda:0, through the engine, the child process, the CLI and the app) and a short benchmark of
# recordings on cpu against cuda:0. Where CUDA is not available the tests would only skip, so this
# script stops with the reason instead.
#
# Usage: bash tests/cuda_check.sh        (PYTHON=python3.12 bash tests/cuda_check.sh to pick one;
#                                          CUDA_CHECK_REUSE=1 keeps an existing .venv-cuda)
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)

PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3)}
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || echo "(no nvidia-smi)"

if [ "${CUDA_CHECK_REUSE:-0}" != 1 ] || [ ! -x .venv-cuda/bin/python ]; then
    rm -rf .venv-cuda
    "$PYTHON" -m venv .venv-cuda
    .venv-cuda/bin/python -m pip install -q --upgrade pip
    # `===` is PEP 440's exact string match: 2.13.0 itself, the default Linux build (CUDA), never a
    # 2.13.0+cpu wheel that a find-links folder may offer first.
    .venv-cuda/bin/python -m pip install -q "torch===2.13.0"
    .venv-cuda/bin/python -m pip install -q ".[test]"
fi
# shellcheck disable=SC1091
source .venv-cuda/bin/activate

python - <<'EOF'
import sys
import torch

print(f"python {sys.version.split()[0]}, torch {torch.__version__}, CUDA build {torch.version.cuda}")
if torch.version.cuda is None:
    sys.exit("this torch is a CPU-only build: install the CUDA one (pip install 'torch===2.13.0')")
if not torch.cuda.is_available():
    sys.exit("torch.cuda.is_available() is False: no usable GPU or driver here")
for index in range(torch.cuda.device_count()):
    props = torch.cuda.get_device_properties(index)
    print(f"cuda:{index}: {props.name}, {props.total_memory / 2**30:.1f} GiB")
EOF

echo "== pytest -m cuda"
# -rs lists any skip with its reason: on a GPU machine none of these should skip.
python -m pytest -m cuda -v -rs -p no:cacheprovider tests

echo "== benchmark: gradstep record on cpu and cuda:0 (median of 3 wall-clock seconds)"
python - <<'EOF'
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

scripts = Path("tests/scripts")
cases = [("seed_sgd.py (every step)", [str(scripts / "seed_sgd.py")]),
         ("mlp_3_2_5.py (every step)", [str(scripts / "mlp_3_2_5.py")]),
         ("mlp_3_2_5.py --breaks-only", [str(scripts / "mlp_3_2_5.py"), "--breaks-only"])]
print(f"{'recording':<28} {'cpu s':>8} {'cuda:0 s':>9} {'cuda/cpu':>9}")
with tempfile.TemporaryDirectory() as folder:
    for label, arguments in cases:
        medians = {}
        for device in ("cpu", "cuda:0"):
            times = []
            for run in range(3):
                output = Path(folder) / f"{device.replace(':', '')}-{run}.gstep"
                start = time.perf_counter()
                subprocess.run([sys.executable, "-m", "tui", "record", *arguments, "--device", device,
                                "-o", str(output)], check=True, stdout=subprocess.DEVNULL)
                times.append(time.perf_counter() - start)
            medians[device] = statistics.median(times)
        print(f"{label:<28} {medians['cpu']:>8.2f} {medians['cuda:0']:>9.2f} "
              f"{medians['cuda:0'] / medians['cpu']:>8.2f}x")
EOF
echo "cuda check done in $(($(date +%s) - started)) s"
