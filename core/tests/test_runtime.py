import gc
import importlib
import sys

import pytest

from core.runtime import YOUNGEST_GENERATION_THRESHOLD, tune_garbage_collection


@pytest.fixture
def restored_thresholds():
    before = gc.get_threshold()
    yield before
    gc.set_threshold(*before)


def test_the_youngest_generation_is_collected_less_often_and_the_others_as_before(restored_thresholds):
    gc.set_threshold(700, 11, 12)
    tune_garbage_collection()
    assert gc.get_threshold() == (YOUNGEST_GENERATION_THRESHOLD, 11, 12)


@pytest.mark.parametrize("module", ["cronofy_site.wsgi", "cronofy_site.asgi"])
def test_the_servers_entry_points_tune_the_collector(restored_thresholds, module):
    gc.set_threshold(700, 10, 10)
    sys.modules.pop(module, None)
    importlib.import_module(module)
    assert gc.get_threshold()[0] == YOUNGEST_GENERATION_THRESHOLD
