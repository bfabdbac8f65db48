"""What a turn costs: prices from the config, the sim profiles and the genai-prices dataset."""

from __future__ import annotations

import tempfile
from pathlib import Path

import openai
import pytest

from splitlane.config import ConfigError, load_config
from splitlane.telemetry.prices import PriceBook, Tokens, cost_usd, self_hosted
from tests.conftest import gateway_with
from tests.scripted import stored_turns

UPSTREAMS = {
    "anthropic": {"kind": "anthropic", "base_url": "https://api.anthropic.com"},
    "openai": {"kind": "openai_responses", "base_url": "https://api.openai.com/v1"},
    "vllm": {"kind": "openai_chat", "base_url": "http://127.0.0.1:8000/v1"},
    "lan": {"kind": "openai_chat", "base_url": "http://10.1.2.3:8000/v1"},
    "elsewhere": {"kind": "openai_chat", "base_url": "https://llm.example.com/v1"},
    "rented": {"kind": "openai_chat", "base_url": "http://127.0.0.1:9000/v1", "price": {"input": 0.5, "output": 1}},
    "sim": {"kind": "sim", "sim_profile": "frontier"},
    "dear-sim": {"kind": "sim", "sim_profile": "fast", "sim": {"price_output": "50"}},
    "local": {"kind": "local"},
}
MODELS = {
    "coder": {
        "lanes": {"plan": "anthropic/claude-sonnet-4-5", "act": "vllm/qwen"},
        "price": {"input": 2, "output": 8},
        "lane_price": {"plan": {"input": 4, "output": 20, "cached_input": 0.4, "cache_write": 5}},
    },
    "coder:plan": {"alias": "coder", "lane": "plan"},
    "plain": {"upstream": "anthropic", "model": "claude-sonnet-4-5"},
}
MILLION = 1_000_000


@pytest.fixture(scope="module")
def book() -> PriceBook:
    return PriceBook(load_config(None, upstreams=UPSTREAMS, models=MODELS))


def test_a_turn_with_cache_reads_and_writes_at_a_dataset_price(book: PriceBook) -> None:
    """Claude Sonnet 4.5: $3 input, $0.30 cache read, $3.75 write (5 min), $6 write (1 h), $15 output."""
    priced = book.price("plain", "act", "anthropic/claude-sonnet-4-5")
    assert priced is not None
    assert priced.source == "dataset:anthropic/claude-sonnet-4-5"
    cold = Tokens(input=10_000, output=1_000)
    assert cost_usd(priced, cold) == pytest.approx(10_000 * 3 / MILLION + 1_000 * 15 / MILLION)
    warm = Tokens(input=10_000, output=1_000, cache_read=8_000, cache_write=1_500, cache_write_1h=500)
    expected = (500 * 3 + 8_000 * 0.3 + 1_000 * 3.75 + 500 * 6 + 1_000 * 15) / MILLION
    assert cost_usd(priced, warm) == pytest.approx(expected)
    assert cost_usd(priced, warm) < cost_usd(priced, cold)  # the prompt cache is what makes a turn cheap


def test_a_long_context_tier_prices_the_whole_prompt_higher(book: PriceBook) -> None:
    """Sonnet 4.5 over 200K input tokens: $6 input and $22.50 output (the dataset's tier)."""
    priced = book.price("plain", "act", "anthropic/claude-sonnet-4-5")
    long = Tokens(input=250_000, output=1_000)
    assert cost_usd(priced, long) == pytest.approx((250_000 * 6 + 1_000 * 22.5) / MILLION)


def test_an_alias_price_and_its_lane_price_override_the_dataset(book: PriceBook) -> None:
    plan = book.price("coder", "plan", "anthropic/claude-sonnet-4-5")
    act = book.price("coder", "act", "vllm/qwen")
    assert plan is not None
    assert act is not None
    assert (plan.source, act.source) == ("config", "config")
    turn = Tokens(input=MILLION, output=MILLION, cache_read=500_000, cache_write=100_000)
    assert cost_usd(plan, turn) == pytest.approx(400_000 * 4 / MILLION + 0.5 * 0.4 + 0.1 * 5 + 20)
    assert cost_usd(act, turn) == pytest.approx(2 + 8)  # no cache prices: cached tokens at the input price
    per_mode = book.price("coder:plan", "plan", "anthropic/claude-sonnet-4-5")  # Cline's per-mode name
    assert per_mode is not None
    assert cost_usd(per_mode, turn) == cost_usd(plan, turn)


def test_self_hosted_and_embedded_are_free_unless_priced(book: PriceBook) -> None:
    turn = Tokens(input=1_000, output=1_000)
    for target in ("vllm/qwen", "lan/qwen", "local/local"):
        priced = book.price("other", "act", target)
        assert priced is not None
        assert priced.source == "free"
        assert cost_usd(priced, turn) == 0
    rented = book.price("other", "act", "rented/qwen")  # a server the user pays by the token
    assert cost_usd(rented, turn) == pytest.approx((1_000 * 0.5 + 1_000 * 1) / MILLION)


def test_an_unknown_price_is_unknown_not_zero(book: PriceBook) -> None:
    assert book.price("other", "act", "elsewhere/my-finetune") is None  # a URL and a name the dataset lacks
    assert book.price("other", "act", "openai/no-such-model-9") is None
    assert book.price("other", "act", "gone/model") is None  # an upstream no longer configured
    assert cost_usd(None, Tokens(input=1, output=1)) is None


def test_a_sim_profile_carries_a_price(book: PriceBook) -> None:
    turn = Tokens(input=MILLION, output=MILLION, cache_read=MILLION // 2)
    frontier = book.price("other", "act", "sim/m")
    assert frontier is not None
    assert frontier.source == "sim"
    assert cost_usd(frontier, turn) == pytest.approx(0.5 * 3 + 0.5 * 0.3 + 15)
    assert cost_usd(book.price("other", "act", "dear-sim/m"), turn) == pytest.approx(0.5 + 0.05 + 50)


def test_addresses_of_ones_own() -> None:
    assert self_hosted("http://127.0.0.1:8000/v1")
    assert self_hosted("http://localhost:8000")
    assert self_hosted("http://192.168.1.20/v1")
    assert self_hosted("http://[::1]:8000/v1")
    assert not self_hosted("https://api.openai.com/v1")
    assert not self_hosted("http://8.8.8.8/v1")
    assert not self_hosted(None)


def test_price_config_shapes() -> None:
    config = load_config(None, upstreams={"v": {"kind": "openai_chat", "base_url": "http://x/v1", "price": 0}})
    price = config.upstreams["v"].price
    assert price is not None
    assert (price.input, price.output) == (0, 0)
    with pytest.raises(ConfigError, match="greater than or equal to 0"):
        load_config(None, upstreams={"v": {"kind": "local", "price": {"input": -1, "output": 1}}})
    with pytest.raises(ConfigError, match="output"):
        load_config(None, upstreams={"v": {"kind": "local", "price": {"input": 1}}})


def test_a_server_rented_by_the_hour_charges_each_turn_its_time() -> None:
    """$3,600 an hour is $1 a second: a lone turn costs its seconds on the upstream."""
    config = {
        "upstreams": {"rented": {"kind": "sim", "sim_profile": "fast", "price": {"per_hour": 3600}}},
        "models": {"m": {"upstream": "rented"}},
    }
    with tempfile.TemporaryDirectory() as tmp, gateway_with(config, Path(tmp)) as url:
        client = openai.OpenAI(base_url=url + "/v1", api_key="k", max_retries=0)
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}], max_tokens=30)
        (turn,) = stored_turns(Path(tmp))
    assert turn.price_source == "config:per_hour"
    assert turn.t_up is not None
    assert turn.cost_usd == pytest.approx(turn.t_last - turn.t_up)
    assert turn.cost_usd > 0.1  # 30 tokens at 150 tok/s and the profile's latency


def test_per_hour_and_per_token_do_not_mix() -> None:
    with pytest.raises(ConfigError, match="not both"):
        load_config(None, upstreams={"v": {"kind": "local", "price": {"per_hour": 2, "input": 1, "output": 1}}})
