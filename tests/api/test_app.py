"""The application factory: what the server's own process does once it has started."""

from __future__ import annotations

import gc
from pathlib import Path

import httpx

from splitlane.api.app import create_app
from splitlane.config import Config
from tests.servers import serve

SIM = {"upstreams": {"sim": {"kind": "sim", "sim_profile": "instant"}}, "models": {"sim": {"upstream": "sim"}}}


def _config(data_dir: Path) -> Config:
    return Config.model_validate({"data_dir": data_dir, **SIM})


def test_a_settled_server_leaves_its_startup_heap_out_of_collections(tmp_path: Path) -> None:
    gc.unfreeze()
    try:
        with serve(create_app(_config(tmp_path), settle_heap=True)) as url:
            frozen = gc.get_freeze_count()
            assert httpx.get(f"{url}/health").status_code == 200
    finally:
        gc.unfreeze()  # this test process is not a server: give its heap back to the collector
    assert frozen > 10_000  # the modules, routes and services alive at startup


def test_an_embedded_app_leaves_the_collector_alone(tmp_path: Path) -> None:
    gc.unfreeze()
    with serve(create_app(_config(tmp_path))) as url:
        assert httpx.get(f"{url}/health").status_code == 200
        assert gc.get_freeze_count() == 0
