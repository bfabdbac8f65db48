from __future__ import annotations

from pathlib import Path

import pytest

from splitlane.config import ConfigError, UpstreamConfig, load_config
from splitlane.engine.models import DEFAULT_MODEL, MODELS


def test_no_config_serves_the_embedded_model_as_local() -> None:
    config = load_config(None)
    assert config.models["local"].upstream == "local"
    assert config.upstreams["local"].kind == "local"
    assert (config.host, config.port) == ("127.0.0.1", 8080)


def test_the_embedded_model_is_chosen_by_name_or_file() -> None:
    config = load_config(None)
    assert config.upstreams["local"].packaged_model() == MODELS[DEFAULT_MODEL]
    assert DEFAULT_MODEL == "smollm2-135m-instruct"
    gemma = UpstreamConfig(kind="local", model="gemma3-270m")
    assert gemma.packaged_model() is MODELS["gemma3-270m"]
    assert UpstreamConfig(kind="local", model_path=Path("/my.gguf")).packaged_model() is None


def test_the_packaged_models_are_installed() -> None:
    """Both GGUFs come from PyPI packages in the project's dependencies, as files llama.cpp reads."""
    for model in MODELS.values():
        path = model.path()
        assert path.suffix == ".gguf"
        with path.open("rb") as file:
            assert file.read(4) == b"GGUF"


def test_the_documented_shape_loads_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "splitlane.toml"
    path.write_text("""
listen = "127.0.0.1:8080"
[upstreams.fast]
kind = "openai_chat"            # openai_chat | openai_responses | anthropic | local (| sim later)
base_url = "http://127.0.0.1:9000/v1"
api_key_env = "FAST_API_KEY"    # optional; the key is read from this environment variable
[models.coder]                  # the name clients send as "model"
upstream = "fast"
model = "upstream-model-name"   # the name sent upstream
""")
    monkeypatch.setenv("FAST_API_KEY", "sk-from-env")
    config = load_config(path)
    assert config.models["coder"].model == "upstream-model-name"
    assert config.upstreams["fast"].api_key() == "sk-from-env"
    assert "local" not in config.models  # a config that names its models replaces the default
    assert "sk-from-env" not in config.model_dump_json()


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('[models.a]\nupstream = "nowhere"\n[upstreams.x]\nkind = "local"', "not in [upstreams]"),
        ('[upstreams.x]\nkind = "openai_chat"', "needs base_url"),
        ('[upstreams.x]\nkind = "carrier_pigeon"\nbase_url = "http://x"', "upstreams.x.kind"),
        ("listen = [1, 2", "cannot read config"),
        (
            '[upstreams.x]\nkind = "openai_chat"\nbase_url = "http://x"\nheaders = {x-a = "1\\r\\nHost: y"}',
            "a line break",
        ),
        ('[upstreams.x]\nkind = "openai_chat"\nbase_url = "http://x"\nheaders = {x-a = "✓"}', "not Latin-1"),
        ('[upstreams.x]\nkind = "local"\nmodel = "llama-9000"', "choose one of smollm2-135m-instruct, gemma3-270m"),
        ('[upstreams.x]\nkind = "local"\nmodel = "gemma3-270m"\nmodel_path = "/m.gguf"', "not both"),
        ('[upstreams.x]\nkind = "openai_chat"\nbase_url = "http://x"\nmodel = "gemma3-270m"', "kind 'local' only"),
    ],
)
def test_bad_configs_say_which_key(tmp_path: Path, text: str, says: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=says.replace("[", r"\[").replace(".", r"\.")):
        load_config(path)
