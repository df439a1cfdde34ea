#!/usr/bin/env bash
# Reproduces the bundled artifacts, step by step (all seeded; each step reads the previous one):
#   train       samples/models/vit-fmnist.safetensors      (the base model, held-out subpopulations)
#   bench-data  samples/bench/ and samples/bench-unseen/    (failure groups, locality set, manifest)
#   meta-train  samples/models/vit-fmnist.hypernet.safetensors
#   bench       docs/results/bench*.json, docs/results/gr-lr-bench*.svg
#   blocks234   (not in the default list) the edit-sites ablation: hypernetwork and bench on the paper's
#               sites for 6 blocks (2,3,4) instead of the default 4,5
#   levers      (not in the default list) issue 18's levers on the default sites: the locality term (the
#               bundled hypernetwork against one meta-trained without it), edit sets of 2 and 3 images,
#               the replay anchor
# usage: scripts/make-bundle.sh [STEP ...]   (default: all, in order)
#   TRAIN_RESUME=1 continues an interrupted training from its checkpoint (same result).
set -euo pipefail
cd "$(dirname "$0")/.."
V=build/bin/vitedit
M=samples/models/vit-fmnist.safetensors
# Two OpenMP threads that sleep instead of spinning when they wait: far faster on a shared machine.
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2} OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
steps=("$@")
[ ${#steps[@]} -gt 0 ] || steps=(train bench-data meta-train bench)
for step in "${steps[@]}"; do
  echo "== $step ($(date -u +%H:%M:%S))"
  case $step in
    train)
      $V train --data fmnist:train --out $M --backend onednn --epochs 25 --batch 128 --lr 1e-3 --wd 0.05 \
        --warmup-epochs 1 --label-smoothing 0.1 --seed 0 --dim 96 --depth 6 --heads 3 --mlp 192 --patch 4 \
        --holdout-classes 0,2,6 --holdout-k 3 --val fmnist:test --checkpoint-every-epoch \
        --checkpoint /tmp/vit-fmnist.ckpt.safetensors ${TRAIN_RESUME:+--resume} ;;
    bench-data)
      rm -rf samples/bench samples/bench-unseen
      $V bench-data --model $M --out samples/bench --seed 0 --max-group 30 --typical 2000 --sensitive 300
      # Failure kinds the benchmark does not contain: does a locator's advantage carry over?
      $V bench-data --model $M --out samples/bench-unseen --seed 0 --max-group 30 --typical 2000 --sensitive 300 \
        --renderings upside-down,noisy,blurred --no-natural ;;
    meta-train)
      # The default sites (fc1/fc2 of blocks 4,5), the locality term on 8 unrelated images per iteration.
      $V meta-train --model $M --data fmnist:train --out samples/models/vit-fmnist.hypernet.safetensors \
        --iterations "${META_ITERATIONS:-1500}" --edit-lr "${META_EDIT_LR:-1e-2}" --lr "${META_LR:-1e-3}" \
        --locality "${META_LOCALITY:-1000}" --seed "${META_SEED:-0}" ;;
    bench)
      # Each protocol (a named set of bench options, printed when it runs) on the benchmark and on
      # the failure kinds it does not contain; per-edit records, fronts and ΔGR intervals in the JSON.
      mkdir -p docs/results
      for p in ${BENCH_PROTOCOLS:-paper default}; do
        for b in bench bench-unseen; do
          $V bench --model $M --bench samples/$b --protocol $p --seed 0 \
            --json docs/results/$b-$p.json --plot docs/results/gr-lr-$b-$p.svg | tee docs/results/$b-$p.txt
        done
      done ;;
    blocks234)
      # The sites ablation (docs/bundle.md): the hypernetwork meta-trained for fc1/fc2 of blocks 2,3,4
      # (the paper's rule for 6 blocks, the default before) without the locality term, benched there.
      H234=samples/models/vit-fmnist.hypernet-blocks234.safetensors
      $V meta-train --model $M --data fmnist:train --out $H234 --iterations "${META_ITERATIONS:-1500}" \
        --edit-lr "${META_EDIT_LR:-1e-2}" --lr "${META_LR:-1e-3}" --edit-blocks 2,3,4 --seed 0
      for b in bench bench-unseen; do
        $V bench --model $M --bench samples/$b --protocol default --seed 0 --edit-blocks 2,3,4 \
          --locator hypernet:checkpoint=$H234 --locator saliency --json docs/results/$b-default-blocks234.json
      done ;;
    levers)
      # The hypernetwork without the locality term (otherwise the bundled one's command), then one
      # bench per lever, each with the locators it concerns, on the default sites.
      H0=samples/models/vit-fmnist.hypernet-blocks45.safetensors
      H=samples/models/vit-fmnist.hypernet.safetensors
      $V meta-train --model $M --data fmnist:train --out $H0 --iterations "${META_ITERATIONS:-1500}" \
        --edit-lr "${META_EDIT_LR:-1e-2}" --lr "${META_LR:-1e-3}" --locality 0 --seed 0
      for b in bench bench-unseen; do
        $V bench --model $M --bench samples/$b --protocol default --seed 0 --locator hypernet:checkpoint=$H \
          --locator hypernet:checkpoint=$H0 --locator saliency --compare hypernet,saliency --compare "hypernet',saliency" \
          --compare "hypernet,hypernet'" --json docs/results/$b-default-locality.json
      done
      for k in 2 3; do
        $V bench --model $M --bench samples/bench --protocol default --seed 0 --locator hypernet:checkpoint=$H0 \
          --locator saliency --edit-images $k --json docs/results/bench-default-k$k.json
      done
      $V bench --model $M --bench samples/bench --protocol default --seed 0 --locator hypernet:checkpoint=$H0 \
        --locator saliency --locator random --replay 16 --replay-weight 1 --json docs/results/bench-default-replay16.json ;;
    *) echo "unknown step '$step' (train, bench-data, meta-train, bench, blocks234, levers)"; exit 2 ;;
  esac
done
