"""GigIndex as a gig store: columns in and out, the change feed, syncing, threads, GeoDataFrames."""

from __future__ import annotations

import math
import sys
import threading
import time
from typing import Any

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import given
from hypothesis import strategies as st

import creditcore._geo.index as index_module
from creditcore import DuplicateId, InvalidCoordinates, InvalidFeature, InvalidInput, StoreError
from creditcore.geo import Change, GigIndex, GigStore
from tests.strategies.geo import points


def ANY(value: object) -> Any:
    """A value the type checker lets through (the test feeds wrong types on purpose)."""
    return value


def _content(index: GigIndex) -> list[tuple[Any, float, float, dict[str, Any]]]:
    return [(g.id, g.lng, g.lat, dict(g.properties)) for g in index]


def test_the_index_is_a_gig_store() -> None:
    assert isinstance(GigIndex(), GigStore)


@given(st.lists(points, max_size=60), st.booleans())
def test_from_arrays_builds_what_the_records_build(
    pts: list[tuple[float, float]], ints: bool
) -> None:
    ids: Any = (
        np.arange(len(pts), dtype=np.int64) * 7 - 3 if ints else [f"g{i}" for i in range(len(pts))]
    )
    lngs = np.array([p[0] for p in pts], dtype=np.float64)
    lats = np.array([p[1] for p in pts], dtype=np.float64)
    props = [{"i": i} if i % 2 else None for i in range(len(pts))]
    built = GigIndex.from_arrays(ids, lngs, lats, props)
    id_list = ids.tolist() if ints else ids
    expected = GigIndex(
        [(i, x, y, p) for i, x, y, p in zip(id_list, lngs, lats, props, strict=True)]
    )
    assert _content(built) == _content(expected)
    assert built.in_bbox_ids(-10, -10, 170, 80) == expected.in_bbox_ids(-10, -10, 170, 80)
    if pts:
        assert built.get(id_list[-1]).lng == pts[-1][0]
        assert id_list[0] in built


@pytest.mark.parametrize(
    ("call", "error", "words"),
    [
        (lambda: GigIndex.from_arrays(np.array([1, 1]), [0, 1], [0, 1]), DuplicateId, "entry 1"),
        (lambda: GigIndex.from_arrays(["a", "a"], [0, 1], [0, 1]), DuplicateId, "entry 1"),
        (lambda: GigIndex.from_arrays([1, 2], [0, 1], [0]), InvalidFeature, "one length"),
        (
            lambda: GigIndex.from_arrays([1, 2], [0, 1], [0, math.nan]),
            InvalidCoordinates,
            "entry 1",
        ),
        (lambda: GigIndex.from_arrays(ANY([1, 2.5]), [0, 1], [0, 1]), InvalidFeature, "entry 1"),
        (
            lambda: GigIndex.from_arrays(np.array([0, 2**60]), [0, 1], [0, 1]),
            InvalidFeature,
            "2\\*\\*53",
        ),
        (lambda: GigIndex.from_arrays(np.array([0.5]), [0], [0]), InvalidFeature, "integers"),
        (lambda: GigIndex.from_arrays([1], [0], [0], ANY([[1]])), InvalidFeature, "entry 0"),
        (lambda: GigIndex.from_arrays([1], ["x"], [0]), InvalidFeature, "numbers"),
    ],
)
def test_from_arrays_refuses_bad_columns(call: Any, error: type[Exception], words: str) -> None:
    with pytest.raises(error, match=words):
        call()


OPS = st.lists(
    st.tuples(st.sampled_from(["insert", "insert_many", "update", "move", "remove"]), points),
    max_size=40,
)


def _apply(index: GigIndex, ops: list[tuple[str, tuple[float, float]]], first: int = 0) -> None:
    for n, (op, (x, y)) in enumerate(ops, start=first):
        live = [g.id for g in index]
        if op == "insert" or not live:
            index.insert(f"i{n}", x, y, {"n": n})
        elif op == "insert_many":
            index.insert_many([(f"m{n}-{k}", x, y) for k in range(3)])
        elif op == "update":
            index.update(live[n % len(live)], properties={"u": n})
        elif op == "move":
            index.update(live[n % len(live)], lng=x, lat=y)
        else:
            index.remove(live[n % len(live)])


@given(OPS, st.integers(0, 40))
def test_the_change_feed_replays_and_a_follower_syncs(
    ops: list[tuple[str, tuple[float, float]]], split: int
) -> None:
    record = GigIndex()
    _apply(record, ops[:split])
    follower = GigIndex.from_store(record)
    _apply(record, ops[split:], first=split)
    model: dict[Any, tuple[float, float, dict[str, Any]]] = {}
    feed = record.changes()
    for change in feed:
        if change.kind == "remove":
            del model[change.gig_id]
        else:
            assert change.lng is not None
            assert change.lat is not None
            model[change.gig_id] = (change.lng, change.lat, dict(change.properties))
    assert [c.seq for c in feed] == list(range(1, record.last_seq + 1))
    assert {g[0]: g[1:] for g in _content(record)} == model
    assert record.changes(split, limit=5) == [c for c in feed if c.seq > split][:5]
    follower.sync()
    assert _content(follower) == _content(record)
    assert follower.synced_seq == record.last_seq


def test_sync_needs_a_store_and_names_a_divergence() -> None:
    with pytest.raises(InvalidInput, match="from_store"):
        GigIndex().sync()
    record = GigIndex([("a", 0, 0)])
    follower = GigIndex.from_store(record)
    follower.insert("b", 1, 1)  # written around the store
    record.insert("b", 2, 2)
    with pytest.raises(StoreError, match="change 2 \\(insert of 'b'\\)"):
        follower.sync()
    with pytest.raises(InvalidInput, match="after"):
        record.changes(-1)
    assert record.changes(0)[0] == Change(1, "insert", "a", 0.0, 0.0)


def test_readers_see_whole_states_while_a_thread_writes() -> None:
    """A writer inserts batches (each rebuilding the snapshot) and moves gigs; readers query.

    Each call is atomic, so a reader sees every batch whole or not at all: 10 gigs of each land
    in the probe box and the rest elsewhere. Without the index's lock, a query that reads the
    snapshot while a write replaces it answers from two states and this fails.
    """
    index = GigIndex.from_arrays(np.arange(2000), np.linspace(-170, 170, 2000), np.zeros(2000))
    rng = np.random.default_rng(0)
    stop = threading.Event()
    problems: list[str] = []

    def write() -> None:
        for n in range(40):
            lngs = np.concatenate((10.0 + np.arange(10) * 1e-3, rng.uniform(-170, -20, 1090)))
            lats = np.concatenate((np.full(10, 10.0), rng.uniform(-60, 60, 1090)))
            index.insert_many(
                [(f"w{n}-{k}", x, y) for k, (x, y) in enumerate(zip(lngs, lats, strict=True))]
            )
            index.update(n, lat=float(n % 7))

    def read() -> None:
        try:
            while not stop.is_set():
                batch = index.in_bbox_ids(9.0, 9.0, 11.0, 11.0)
                gigs = index.in_bbox(9.0, 9.0, 11.0, 11.0)
                hits = index.near_ids(10.0, 10.0, 5_000.0)[0]
                for found in (batch, [g.id for g in gigs], hits):
                    if len(found) % 10 or len(set(found)) != len(found):
                        problems.append(f"torn: {len(found)}")
        except Exception as error:
            problems.append(repr(error))

    readers = [threading.Thread(target=read) for _ in range(2)]
    writer = threading.Thread(target=write)
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # switch threads often: races show up at once
    try:
        for t in readers:
            t.start()
        writer.start()
        writer.join(timeout=120)
    finally:
        stop.set()
        for t in readers:
            t.join(timeout=60)
        sys.setswitchinterval(switch)
    assert problems == []
    assert len(index) == 2000 + 40 * 1100


def test_a_query_waits_for_a_write_in_progress(monkeypatch: pytest.MonkeyPatch) -> None:
    """A reader arriving while a write rebuilds the snapshot gets the state after the write."""
    index = GigIndex.from_arrays(np.arange(100), np.linspace(-10, 10, 100), np.zeros(100))
    inside = threading.Event()
    real = index_module.LatRows  # type: ignore[attr-defined]

    def slow_rows(*args: Any) -> Any:
        inside.set()
        time.sleep(0.3)  # the write is in progress for a while
        return real(*args)

    monkeypatch.setattr(index_module, "LatRows", slow_rows)
    done: list[float] = []
    seen: list[tuple[float, int]] = []

    def write() -> None:
        index.insert_many([(1000 + k, 50.0, 50.0) for k in range(200)])  # a bulk: rebuilds
        done.append(time.perf_counter())

    def read() -> None:
        inside.wait(10)
        count = len(index.in_bbox_ids(49, 49, 51, 51))
        seen.append((time.perf_counter(), count))

    threads = [threading.Thread(target=write), threading.Thread(target=read)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert seen[0][1] == 200
    assert seen[0][0] >= done[0]


def test_geodataframes_in_and_out() -> None:
    frame = gpd.GeoDataFrame(
        {"gig": ["a", "b", "c"], "budget": [10, 20, 30]},
        geometry=gpd.points_from_xy([13.4, -73.9, 179.9], [52.5, 40.7, -17.0]),
        crs="EPSG:4326",
    )
    index = GigIndex.from_geodataframe(frame, id_column="gig")
    assert _content(index) == [
        ("a", 13.4, 52.5, {"budget": 10}),
        ("b", -73.9, 40.7, {"budget": 20}),
        ("c", 179.9, -17.0, {"budget": 30}),
    ]
    out = index.to_geodataframe()
    assert list(out.columns) == ["id", "budget", "geometry"]
    assert out.crs.to_epsg() == 4326
    assert _content(GigIndex.from_geodataframe(out, id_column="id")) == _content(index)
    mercator = frame.to_crs("EPSG:3857")
    back = GigIndex.from_geodataframe(mercator, id_column="gig")
    assert [g.lng for g in back] == pytest.approx([13.4, -73.9, 179.9], abs=1e-9)
    by_index = GigIndex.from_geodataframe(frame.set_index("gig"))
    assert [g.id for g in by_index] == ["a", "b", "c"]
    lines = gpd.GeoDataFrame({"gig": [1]}, geometry=[shapely.LineString([(0, 0), (1, 1)])])
    with pytest.raises(InvalidFeature, match="row 0: geometry must be a Point"):
        GigIndex.from_geodataframe(lines, id_column="gig")
    with pytest.raises(InvalidFeature, match="not a column"):
        GigIndex.from_geodataframe(frame, id_column="nope")
    with pytest.raises(InvalidFeature, match="GeoDataFrame"):
        GigIndex.from_geodataframe({"gig": [1]})
