"""Convert a packaged GGUF into the Hugging Face folder vLLM loads (this vLLM cannot read GGUF).

Runs in the vLLM virtualenv (``make vllm``): ``python tools/vllm/convert.py GGUF OUT_DIR``.
Nothing is downloaded: the weights, the tokenizer and the config all come from the GGUF file.
The tokenizer gets the chat template beside this script (ChatML with Hermes-style tool calls, which
vLLM's ``hermes`` tool-call parser reads back).
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig


def convert(gguf: Path, out: Path) -> None:
    model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=torch.bfloat16)
    # the weights are dequantized on load: no GGUF quantizer or marker may go into the folder
    model.hf_quantizer = None
    model.config.quantization_config = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    tokenizer.chat_template = (Path(__file__).parent / "chatml-tools.jinja").read_text()
    end = tokenizer.convert_tokens_to_ids("<|im_end|>")
    model.generation_config = GenerationConfig(eos_token_id=end, bos_token_id=tokenizer.bos_token_id)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)


if __name__ == "__main__":
    convert(Path(sys.argv[1]), Path(sys.argv[2]))
