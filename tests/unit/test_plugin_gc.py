"""The plugin moves what collection built out of the garbage collector's reach."""

import gc

BUILT_AT_COLLECTION = [object()]  # a container the collector tracks, made at import


def test_objects_built_during_collection_are_frozen():
    tracked = {id(obj) for obj in gc.get_objects()}
    assert gc.get_freeze_count() > 0
    assert id(BUILT_AT_COLLECTION) not in tracked


def test_objects_made_by_tests_are_still_collected():
    made_now: list[object] = []
    made_now.append(made_now)  # a cycle only the collector can free
    assert id(made_now) in {id(obj) for obj in gc.get_objects()}
