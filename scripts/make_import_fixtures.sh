#!/usr/bin/env bash
# Produce the lm-eval and lighteval fixtures of tests/fixtures/imports/ with the real tools,
# offline, on SmolLM2-135M over the first 5 GSM8K test problems (see that folder's README.md).
#
#   bash scripts/make_import_fixtures.sh                 # venvs + both runs
#   STEP=venvs bash scripts/make_import_fixtures.sh      # only create .venv-peers/{lm-eval,lighteval}
#   STEP=lm-eval (or lighteval) bash scripts/make_import_fixtures.sh   # one run (venvs exist)
#
# Each tool gets its own venv under .venv-peers/ (git-ignored), with torch==2.13.0 (the local
# CPU build) installed first so that the tool's dependencies do not pull CUDA wheels.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PEERS=$ROOT/.venv-peers
FIXTURES=$ROOT/tests/fixtures/imports
LM_EVAL_VERSION=0.4.13
LIGHTEVAL_VERSION=0.13.0
PROBLEMS=5
MAX_NEW_TOKENS=96
STEP=${STEP:-all}

make_venvs() {
  if [ ! -x "$PEERS/lm-eval/bin/lm_eval" ]; then
    python3 -m venv "$PEERS/lm-eval"
    "$PEERS/lm-eval/bin/pip" install -q torch==2.13.0
    "$PEERS/lm-eval/bin/pip" install -q "lm-eval[hf]==$LM_EVAL_VERSION"
  fi
  if [ ! -x "$PEERS/lighteval/bin/lighteval" ]; then
    python3 -m venv "$PEERS/lighteval"
    "$PEERS/lighteval/bin/pip" install -q torch==2.13.0
    "$PEERS/lighteval/bin/pip" install -q "lighteval==$LIGHTEVAL_VERSION" "huggingface_hub<2" \
      "xxhash<4"
  fi
  # lighteval downloads tinyBenchmarks.pkl when its task registry is imported; offline, an
  # empty file in its place lets the import pass (the tinyBenchmarks tasks are not used here).
  local site
  site=$("$PEERS/lighteval/bin/python" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
  touch "$site/lighteval/tasks/tasks/tinyBenchmarks.pkl"
}

if [ "$STEP" = all ] || [ "$STEP" = venvs ]; then make_venvs; fi
[ "$STEP" = venvs ] && exit 0

MODEL=$(.venv/bin/python -c "from evalkit.generation.models import resolve_model; print(resolve_model('smollm2-135m').path)")
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
head -n "$PROBLEMS" tasks/data/gsm8k/test.jsonl > "$WORK/gsm8k_test_head.jsonl"
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_HOME="$WORK/hf-home"
mkdir -p "$FIXTURES"

run_lm_eval() {
# lm-evaluation-harness: a generate_until task over the local rows, with the prompt, stop
# sequences, filters and metric of lm-eval's own gsm8k task (lm_eval/tasks/gsm8k/gsm8k.yaml),
# zero-shot through the model's chat template.
mkdir -p "$WORK/lm-eval-tasks"
cat > "$WORK/lm-eval-tasks/gsm8k_local.yaml" <<YAML
task: gsm8k_local
dataset_path: json
dataset_kwargs:
  data_files:
    test: $WORK/gsm8k_test_head.jsonl
test_split: test
output_type: generate_until
doc_to_text: "Question: {{question}}\nAnswer:"
doc_to_target: "{{answer}}"
metric_list:
  - metric: exact_match
    aggregation: mean
    higher_is_better: true
    ignore_case: true
    ignore_punctuation: false
    regexes_to_ignore: [",", "\\\\\$", "(?s).*#### ", "\\\\.\$"]
generation_kwargs:
  until: ["Question:", "</s>", "<|im_end|>"]
  do_sample: false
  temperature: 0.0
  max_gen_toks: $MAX_NEW_TOKENS
repeats: 1
num_fewshot: 0
filter_list:
  - name: strict-match
    filter:
      - function: regex
        regex_pattern: "#### (\\\\-?[0-9\\\\.\\\\,]+)"
      - function: take_first
  - name: flexible-extract
    filter:
      - function: regex
        group_select: -1
        regex_pattern: "(-?[\$0-9.,]{2,})|(-?[0-9]+)"
      - function: take_first
YAML
"$PEERS/lm-eval/bin/lm_eval" --model hf \
  --model_args "pretrained=$MODEL,dtype=float32" \
  --tasks gsm8k_local --include_path "$WORK/lm-eval-tasks" \
  --apply_chat_template --batch_size 1 --device cpu --seed 0 \
  --log_samples --output_path "$WORK/lm-eval-out"
cp "$(find "$WORK/lm-eval-out" -name 'samples_gsm8k_local_*.jsonl' | head -n 1)" \
  "$FIXTURES/lm_eval_gsm8k_samples.jsonl"
}

run_lighteval() {
# lighteval: a custom generative task over the same rows (hf_repo = a local folder), with the
# prompt, stop sequence and metric of lighteval's own gsm8k task
# (lighteval/tasks/tasks/gsm8k.py), greedy, through the model's chat template.
mkdir -p "$WORK/lighteval-data"
cp "$WORK/gsm8k_test_head.jsonl" "$WORK/lighteval-data/test.jsonl"
cat > "$WORK/gsm8k_local_task.py" <<PY
from lighteval.metrics.metrics import Metrics
from lighteval.tasks.lighteval_task import LightevalTaskConfig
from lighteval.tasks.requests import Doc


def gsm8k_local_prompt(line, task_name=None):
    return Doc(
        task_name=task_name,
        query=f"Question: {line['question']}\nAnswer:",
        choices=[f" {line['answer']}"],
        gold_index=0,
        specific={"question": line["question"]},
    )


gsm8k_local = LightevalTaskConfig(
    name="gsm8k_local",
    prompt_function=gsm8k_local_prompt,
    hf_repo="$WORK/lighteval-data",
    hf_subset="default",
    hf_avail_splits=["test"],
    evaluation_splits=["test"],
    few_shots_split=None,
    few_shots_select=None,
    generation_size=$MAX_NEW_TOKENS,
    metrics=[Metrics.expr_gold_metric],
    stop_sequence=["Question:"],
    version=0,
)

TASKS_TABLE = [gsm8k_local]
PY
cat > "$WORK/lighteval-model.yaml" <<YAML
model_parameters:
  model_name: $MODEL
  dtype: float32
  device: cpu
  batch_size: 1
  generation_parameters:
    max_new_tokens: $MAX_NEW_TOKENS
    temperature: 0.0
YAML
"$PEERS/lighteval/bin/lighteval" accelerate "$WORK/lighteval-model.yaml" "gsm8k_local|0" \
  --custom-tasks "$WORK/gsm8k_local_task.py" --save-details --output-dir "$WORK/lighteval-out"
cp "$(find "$WORK/lighteval-out" -name 'details_*gsm8k_local*.parquet' | head -n 1)" \
  "$FIXTURES/lighteval_gsm8k_details.parquet"
}

case "$STEP" in
  all) run_lm_eval; run_lighteval ;;
  lm-eval) run_lm_eval ;;
  lighteval) run_lighteval ;;
  *) echo "STEP must be all, venvs, lm-eval or lighteval" >&2; exit 2 ;;
esac
