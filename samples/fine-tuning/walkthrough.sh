#!/usr/bin/env bash
# The fine-tuning walkthrough of docs/fine-tuning.md with the cnn CLI, for each seed:
#   1. pre-train resnet18 (inputs resized 28 -> 32, gray -> RGB) on classes 0-4,
#   2. replace the head for classes 5-9 and train it with the backbone frozen,
#   3. unfreeze everything at lr x 0.1.
# Usage: walkthrough.sh ROOT OUT "CNN" SEED... (ROOT from export_fashion_pngs.py; CNN e.g. "dotnet path/cnn.dll")
# Epochs and learning rate match torch_recipe.py's defaults used in the doc (2 / 2 / 2, Adam 1e-3, batch 64).
set -euo pipefail
root=$1 out=$2 cnn=$3
shift 3
common=(--model resnet18 --image-size 32 --mean 0.2860 --std 0.3530 --optimizer adam --lr 0.001 --batch 64 --threads 2 --workers 2)
for seed in "$@"; do
  $cnn train --data "$root/pretrain" "${common[@]}" --epochs 2 --seed "$seed" --out "$out/pretrain-seed$seed"
  $cnn train --data "$root/finetune" "${common[@]}" --epochs 4 --seed "$seed" --out "$out/finetune-seed$seed" \
    --weights "$out/pretrain-seed$seed/last.safetensors" --freeze-backbone --unfreeze-after 2
done
