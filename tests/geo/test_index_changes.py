"""GigIndex building and changes: all or nothing, errors that name the record, GeoJSON in and out."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from creditcore import DuplicateId, InvalidCoordinates, InvalidFeature, InvalidInput, UnknownGig
from creditcore.geo import Gig, GigIndex, Hit, gigs_to_geojson, hits_to_geojson
from tests.conftest import IN_CI
from tests.geo import oracle
from tests.strategies.geo import boxes, point_features, points


def _snapshot(index: GigIndex) -> list[tuple[Any, float, float, dict[str, Any]]]:
    return [(gig.id, gig.lng, gig.lat, dict(gig.properties)) for gig in index]


def test_build_from_records_keeps_ids_points_and_properties() -> None:
    index = GigIndex([("a", 1.0, 2.0, {"budget": 5}), (7, -180.0, 90.0)])
    assert len(index) == 2
    assert "a" in index
    assert 7 in index
    assert "b" not in index
    assert [] not in index
    assert index.get("a") == Gig("a", 1.0, 2.0, {"budget": 5})
    assert dict(index.get(7).properties) == {}
    assert _snapshot(index) == [("a", 1.0, 2.0, {"budget": 5}), (7, -180.0, 90.0, {})]


@pytest.mark.parametrize(
    ("records", "error", "words"),
    [
        ([("a", 1, 2), ("b", 181.0, 0.0)], InvalidCoordinates, ["record 1", "'b'", "181.0"]),
        ([("a", 1, 2), ("b", 0.0, -90.5)], InvalidCoordinates, ["record 1", "'b'", "-90.5"]),
        ([("a", 1, 2), ("b", math.nan, 0.0)], InvalidCoordinates, ["record 1", "'b'", "NaN"]),
        ([("a", 1, 2), ("b", "1", 0.0)], InvalidFeature, ["record 1", "'b'", "longitude"]),
        ([("a", 1, 2), ("b", True, 0.0)], InvalidFeature, ["record 1", "'b'", "longitude"]),
        ([("a", 1, 2), (1.5, 0.0, 0.0)], InvalidFeature, ["record 1", "id"]),
        ([("a", 1, 2), ("b", 0.0)], InvalidFeature, ["record 1", "2 items"]),
        ([("a", 1, 2), "b,0,0"], InvalidFeature, ["record 1", "str"]),
        ([("a", 1, 2), ("b", 0, 0, [1])], InvalidFeature, ["record 1", "'b'", "properties"]),
        ([("a", 1, 2), ("b", 0, 0), ("a", 3, 4)], DuplicateId, ["record 2", "'a'"]),
    ],
)
def test_bad_records_are_refused_by_name(
    records: list[Any], error: type[Exception], words: list[str]
) -> None:
    with pytest.raises(error) as caught:
        GigIndex(records)
    for word in words:
        assert word in str(caught.value)
    index = GigIndex([("x", 0.0, 0.0)])
    with pytest.raises(error):
        index.insert_many(records)
    assert _snapshot(index) == [("x", 0.0, 0.0, {})]  # nothing of the bad call went in


def test_duplicate_of_an_existing_gig_inserts_nothing() -> None:
    index = GigIndex([("x", 0.0, 0.0)])
    with pytest.raises(DuplicateId, match="record 1 \\(id 'x'\\)"):
        index.insert_many([("y", 1.0, 1.0), ("x", 2.0, 2.0)])
    with pytest.raises(DuplicateId):
        index.insert("x", 3.0, 3.0)
    assert _snapshot(index) == [("x", 0.0, 0.0, {})]
    assert index.in_bbox(-180, -90, 180, 90) == [Gig("x", 0.0, 0.0)]


def _feature(ident: object, lng: object = 1.0, lat: object = 2.0) -> dict[str, Any]:
    return {
        "type": "Feature",
        "id": ident,
        "geometry": {"type": "Point", "coordinates": [lng, lat]},
        "properties": {"budget": 3},
    }


@pytest.mark.parametrize(
    ("bad", "error", "words"),
    [
        ("not a feature", InvalidFeature, ["feature 1", "str"]),
        ({**_feature("b"), "type": "Point"}, InvalidFeature, ["feature 1 (id 'b')", "type"]),
        ({**_feature("b"), "geometry": None}, InvalidFeature, ["feature 1 (id 'b')", "geometry"]),
        (
            {**_feature("b"), "geometry": {"type": "LineString", "coordinates": [[0, 0], [1, 1]]}},
            InvalidFeature,
            ["feature 1 (id 'b')", "LineString"],
        ),
        (
            {**_feature("b"), "geometry": {"type": "Point", "coordinates": [1.0]}},
            InvalidFeature,
            ["feature 1 (id 'b')", "coordinates"],
        ),
        (_feature("b", 200.0), InvalidCoordinates, ["feature 1 (id 'b')", "200.0"]),
        (_feature("b", 0.0, math.nan), InvalidCoordinates, ["feature 1 (id 'b')", "NaN"]),
        (_feature("b", "0"), InvalidFeature, ["feature 1 (id 'b')", "longitude"]),
        (
            {**_feature("b"), "properties": [1]},
            InvalidFeature,
            ["feature 1 (id 'b')", "properties"],
        ),
        ({**_feature(None)}, InvalidFeature, ["feature 1 (no id)", "id"]),
        (_feature("a"), DuplicateId, ["feature 1 (id 'a')"]),
    ],
)
def test_bad_features_are_refused_by_name(
    bad: object, error: type[Exception], words: list[str]
) -> None:
    collection = {"type": "FeatureCollection", "features": [_feature("a"), bad]}
    with pytest.raises(error) as caught:
        GigIndex.from_geojson(collection)
    for word in words:
        assert word in str(caught.value)
    index = GigIndex([("x", 0.0, 0.0)])
    with pytest.raises(error):
        index.insert_features(collection)
    assert _snapshot(index) == [("x", 0.0, 0.0, {})]


def test_from_geojson_needs_a_feature_collection() -> None:
    with pytest.raises(InvalidFeature, match="FeatureCollection"):
        GigIndex.from_geojson({"type": "Feature"})
    with pytest.raises(InvalidFeature, match="features"):
        GigIndex.from_geojson({"type": "FeatureCollection", "features": None})


@given(point_features())
def test_geojson_round_trip(features: list[dict[str, Any]]) -> None:
    collection = {"type": "FeatureCollection", "features": features}
    index = GigIndex.from_geojson(collection)
    assert index.to_geojson() == collection
    assert GigIndex.from_geojson(features).to_geojson() == collection
    assert gigs_to_geojson(index) == collection


def test_hits_as_geojson_carry_their_distance() -> None:
    index = GigIndex([("a", 0.0, 0.0, {"budget": 1}), ("b", 0.0, 0.001)])
    collection = hits_to_geojson(index.near(0.0, 0.0, 1_000.0))
    assert [f["id"] for f in collection["features"]] == ["a", "b"]
    assert collection["features"][0]["properties"] == {"budget": 1, "distance_m": 0.0}
    expected = oracle.great_circle_m(0.0, 0.0, 0.0, 0.001)
    assert math.isclose(collection["features"][1]["properties"]["distance_m"], expected)
    assert isinstance(index.near(0.0, 0.0, 10.0)[0], Hit)


def test_remove_and_update_and_unknown_ids() -> None:
    index = GigIndex([("a", 0.0, 0.0, {"n": 1}), ("b", 1.0, 1.0), ("c", 2.0, 2.0)])
    assert index.remove("b") == Gig("b", 1.0, 1.0)
    assert index.update("a", lng=5.0) == Gig("a", 5.0, 0.0, {"n": 1})
    assert index.update("c", properties={"n": 2}) == Gig("c", 2.0, 2.0, {"n": 2})
    assert [gig.id for gig in index] == ["a", "c"]  # update keeps the place
    assert index.in_bbox_ids(4.0, -1.0, 6.0, 1.0) == ["a"]
    assert index.in_bbox_ids(-1.0, -1.0, 1.5, 1.5) == []
    with pytest.raises(UnknownGig, match="no gig with id 'b'"):
        index.remove("b")
    with pytest.raises(UnknownGig, match="no gig with id 'zz'"):
        index.update("zz", lat=1.0)
    with pytest.raises(UnknownGig):
        index.get([1])  # type: ignore[arg-type]
    with pytest.raises(InvalidCoordinates, match="gig 'a'"):
        index.update("a", lat=91.0)
    with pytest.raises(InvalidFeature, match="properties"):
        index.update("a", properties=[1])  # type: ignore[arg-type]
    assert index.get("a") == Gig("a", 5.0, 0.0, {"n": 1})  # the refused updates changed nothing
    index.insert("b", 1.0, 1.0)
    assert [gig.id for gig in index] == ["a", "c", "b"]  # re-inserted: last


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda i: i.in_bbox(10, 0, 20, -1), InvalidInput),
        (lambda i: i.in_bbox(-181, 0, 20, 1), InvalidCoordinates),
        (lambda i: i.in_bbox(0, 0, 20, math.nan), InvalidCoordinates),
        (lambda i: i.in_bbox("0", 0, 20, 1), InvalidInput),
        (lambda i: i.in_bbox(0, 0, 20, 1, limit=-1), InvalidInput),
        (lambda i: i.in_bbox(0, 0, 20, 1, limit=True), InvalidInput),
        (lambda i: i.near(0, 0, -1.0), InvalidInput),
        (lambda i: i.near(0, 0, math.inf), InvalidInput),
        (lambda i: i.near(0, 0, math.nan), InvalidInput),
        (lambda i: i.near(0, 95, 1.0), InvalidCoordinates),
        (lambda i: i.near(0, 0, 1.0, method="vincenty"), InvalidInput),
        (lambda i: i.near(0, 0, 1.0, limit=2.5), InvalidInput),
        (lambda i: i.within("POLYGON ((0 0, 1 0, 1 1, 0 0))"), InvalidInput),
    ],
)
def test_bad_query_arguments_name_the_argument(call: Any, error: type[Exception]) -> None:
    index = GigIndex([("a", 0.0, 0.0)])
    with pytest.raises(error) as caught:
        call(index)
    assert caught.value.context.get("field") in {  # type: ignore[attr-defined]
        "min_lng",
        "min_lat",
        "max_lng",
        "max_lat",
        "limit",
        "radius_m",
        "lat",
        "method",
        "polygon",
    }


class IndexMachine(RuleBasedStateMachine):
    """Random inserts, removals, moves and queries against a plain dict of points."""

    def __init__(self) -> None:
        super().__init__()
        self.index = GigIndex()
        self.model: dict[int, tuple[float, float]] = {}
        self.next_id = 0

    @rule(batch=st.lists(points, max_size=40))
    def insert_many(self, batch: list[tuple[float, float]]) -> None:
        records = [(self.next_id + k, x, y) for k, (x, y) in enumerate(batch)]
        self.index.insert_many(records)
        self.model.update({k: (x, y) for k, x, y in records})
        self.next_id += len(batch)

    @precondition(lambda self: self.model)
    @rule(data=st.data())
    def remove(self, data: st.DataObject) -> None:
        victim = data.draw(st.sampled_from(sorted(self.model)))
        self.index.remove(victim)
        del self.model[victim]

    @precondition(lambda self: self.model)
    @rule(data=st.data(), to=points)
    def move(self, data: st.DataObject, to: tuple[float, float]) -> None:
        gig = data.draw(st.sampled_from(sorted(self.model)))
        self.index.update(gig, lng=to[0], lat=to[1])
        self.model[gig] = to

    @rule(box=boxes(), limit=st.one_of(st.none(), st.integers(0, 10)))
    def box_query(self, box: tuple[float, float, float, float], limit: int | None) -> None:
        expected = [k for k, (x, y) in self.model.items() if oracle.in_box(x, y, box)]
        assert self.index.in_bbox_ids(*box, limit=limit) == expected[:limit]

    @rule(centre=points, radius=st.floats(0, 5_000_000))
    def radius_query(self, centre: tuple[float, float], radius: float) -> None:
        ids = list(self.model)
        sure, maybe, _ = oracle.near([self.model[k] for k in ids], *centre, radius)
        got = {ids.index(int(k)) for k in self.index.near_ids(*centre, radius)[0]}
        assert sure <= got <= sure | maybe

    @invariant()
    def same_gigs(self) -> None:
        assert len(self.index) == len(self.model)
        assert [(g.id, g.lng, g.lat) for g in self.index] == [
            (k, x, y) for k, (x, y) in self.model.items()
        ]


TestIndexMachine = IndexMachine.TestCase
TestIndexMachine.settings = settings(
    max_examples=60 if IN_CI else 25, stateful_step_count=30, deadline=None
)


def test_heavy_churn_keeps_order_and_answers() -> None:
    """Thousands of removals and moves (snapshot rebuilds, slot compaction) change no answer."""
    model: dict[int, tuple[float, float]] = {
        i: ((i * 0.731) % 360 - 180, (i * 0.377) % 170 - 85) for i in range(6000)
    }
    index = GigIndex((i, x, y) for i, (x, y) in model.items())
    for i in range(0, 6000, 3):
        index.remove(i)
        del model[i]
    for i in range(1, 6000, 6):
        model[i] = (10.0 + (i % 17) * 0.01, 20.0 + (i % 13) * 0.01)
        assert index.update(i, lng=model[i][0], lat=model[i][1]) == Gig(i, *model[i])
    index.insert_many([(10_000 + k, 10.05, 20.05) for k in range(50)])
    model.update({10_000 + k: (10.05, 20.05) for k in range(50)})
    for i in range(2, 6000, 3):
        index.remove(i)
        del model[i]
    assert [(g.id, g.lng, g.lat) for g in index] == [(k, x, y) for k, (x, y) in model.items()]
    box = (9.9, 19.9, 10.3, 20.2)
    expected = [k for k, (x, y) in model.items() if oracle.in_box(x, y, box)]
    assert index.in_bbox_ids(*box) == expected
    assert index.in_bbox_ids(*box, limit=7) == expected[:7]
    got = index.near_ids(10.05, 20.05, 5_000.0)[0]
    sure, maybe, _ = oracle.near(list(model.values()), 10.05, 20.05, 5_000.0)
    keys = list(model)
    assert {keys[i] for i in sure} <= set(got) <= {keys[i] for i in sure | maybe}
