import gc
import importlib
import sys

import pytest
from django.urls import clear_url_caches, get_resolver

from core.runtime import YOUNGEST_GENERATION_THRESHOLD, freeze_loaded_code, tune_garbage_collection


@pytest.fixture
def restored_collector():
    before = gc.get_threshold()
    yield before
    gc.set_threshold(*before)
    gc.unfreeze()


def test_the_youngest_generation_is_collected_less_often_and_the_others_as_before(restored_collector):
    gc.set_threshold(700, 11, 12)
    tune_garbage_collection()
    assert gc.get_threshold() == (YOUNGEST_GENERATION_THRESHOLD, 11, 12)


def test_the_urlconf_is_loaded_then_everything_alive_is_frozen(restored_collector):
    gc.unfreeze()
    clear_url_caches()
    freeze_loaded_code()
    assert "url_patterns" in get_resolver().__dict__  # loaded, with every view module it imports
    assert gc.get_freeze_count() > 10_000


@pytest.mark.parametrize("module", ["cronofy_site.wsgi", "cronofy_site.asgi"])
def test_the_servers_entry_points_tune_the_collector_and_freeze_what_they_loaded(restored_collector, module):
    gc.set_threshold(700, 10, 10)
    gc.unfreeze()
    sys.modules.pop(module, None)
    importlib.import_module(module)
    assert gc.get_threshold()[0] == YOUNGEST_GENERATION_THRESHOLD
    assert gc.get_freeze_count() > 10_000
