import gc

import pytest

from marsad.core.collector import collector_paused


def nested() -> None:
    with collector_paused():
        assert not gc.isenabled()
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the inner block leaves it to the outer one
        raise ValueError("boom")


def test_the_collector_is_paused_in_the_block_and_resumed_after_even_on_error():
    assert gc.isenabled()
    with pytest.raises(ValueError, match="boom"):
        nested()
    assert gc.isenabled()


def test_a_collector_already_off_stays_off():
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


@collector_paused()
def paused() -> bool:
    return gc.isenabled()


def test_as_a_decorator():
    assert paused() is False
    assert paused() is False  # a fresh pause on every call
    assert gc.isenabled()
