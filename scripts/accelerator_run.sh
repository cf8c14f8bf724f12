#!/bin/bash
# The heavy model trained on a lent accelerator in one short run (crystalx_core/training/atoms/accelerator.py).
#
# Here (the repository root, the venv's python):
#   scripts/accelerator_run.sh prepare CARRY data/corpus_v10.pkl.gz data/tmqm_*.pkl.gz
# copies into CARRY what the machine lacks: crystalx_core, torchmd-net's model code (from the
# venv), a gemmi wheel (in .whl/ or CARRY/whl/ already), the shipped heavy model (checkpoints/heavy,
# onnx_models/heavy.onnx) and the builds merged into one compact file (atoms.samples).
# There (a copy of CARRY; writes into $OUT):
#   CARRY/accelerator_run.sh run
# checks onnx_models/heavy.onnx with each onnxruntime provider, measures the shipped weights on the
# validation examples, and trains two candidates side by side on the GPU, each on tmQM crystals +
# the corpus training split and then fine-tuned on the corpus alone (--exclude tmqm_):
#   a: the shipped 64x3 weights fine-tuned;  b: 128 channels x 4 layers from scratch.
# Each stage stops at its time budget (train.py --minutes); $OUT gets the logs and a.tgz, b.tgz
# (best.pt, config.json, histories of both stages) for atoms.export.
set -u
mode=${1:-run}
if [ "$mode" = prepare ]; then
  carry=$2; shift 2
  mkdir -p "$carry/whl" "$carry/init/heavy" "$carry/data"
  rm -rf "$carry/crystalx_core" "$carry/torchmdnet" "$carry/runs"
  cp -r crystalx_core "$carry/"
  site=$(python -c "import torchmdnet, os; print(os.path.dirname(torchmdnet.__path__[0]))")
  cp -r "$site/torchmdnet" "$carry/"
  find "$carry" -name __pycache__ -prune -exec rm -rf {} \;
  cp .whl/gemmi-*cp312*.whl "$carry/whl/" 2>/dev/null || ls "$carry"/whl/gemmi-*cp312*.whl >/dev/null || exit 1
  cp checkpoints/heavy/* "$carry/init/heavy/"
  cp onnx_models/heavy.onnx onnx_models/heavy.json "$carry/init/"
  cp "$0" "$carry/accelerator_run.sh"
  python -m crystalx_core.training.atoms.samples "$carry/data/train.pkl.gz" "$@"
  du -sh "$carry"
  exit
fi
cd "$(dirname "$0")"
OUT=${OUT:-/tmp/devout}; DEV=${DEV:-cuda}; DATA=${DATA:-data/train.pkl.gz}
E1=${E1:-24}; E2=${E2:-10}; MIN1=${MIN1:-4.5}; MIN2=${MIN2:-1.6}; NODES=${NODES:-8000}
mkdir -p "$OUT" runs
[ -n "${SKIP_WHL:-}" ] || python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
    --target /tmp/site whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1
{ nvidia-smi --query-gpu=name,memory.total --format=csv; nproc
  python3 -c "import onnxruntime, torch; print('onnxruntime', onnxruntime.__version__, onnxruntime.get_available_providers()); print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"
} > "$OUT/env.txt" 2>&1
T="python3 crystalx_core/training/atoms/accelerator.py"
H="--kind heavy --height-tokens --max-nodes $NODES --device $DEV"
( $T onnx-check init/heavy.onnx "$DATA" > "$OUT/onnx.txt" 2>&1
  $T "$DATA" runs/shipped $H --hidden 64 --layers 3 --init init/heavy/best.pt --evaluate-only > "$OUT/shipped_val.txt" 2>&1 ) &
( $T "$DATA" runs/a1 $H --hidden 64 --layers 3 --init init/heavy/best.pt --epochs "$E1" --lr 3e-4 --minutes "$MIN1" &&
  $T "$DATA" runs/a2 $H --hidden 64 --layers 3 --init runs/a1/best.pt --exclude tmqm_ --epochs "$E2" --lr 1e-4 --minutes "$MIN2"
) > "$OUT/a.log" 2>&1 &
( $T "$DATA" runs/b1 $H --hidden 128 --layers 4 --epochs "$E1" --lr 5e-4 --minutes "$MIN1" &&
  $T "$DATA" runs/b2 $H --hidden 128 --layers 4 --init runs/b1/best.pt --exclude tmqm_ --epochs "$E2" --lr 1e-4 --minutes "$MIN2"
) > "$OUT/b.log" 2>&1 &
wait
for v in a b; do tar czf "$OUT/$v.tgz" --exclude checkpoint.pt runs/${v}1 runs/${v}2; done
ls -la "$OUT"
