"""parse_point_features and parse_records: columns out, or an error naming the entry."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from creditcore import InvalidCoordinates, InvalidFeature
from creditcore._geo.features import parse_point_features, parse_records
from creditcore.geo import Clusterer, Gig, GigIndex
from tests.strategies.geo import point_features, points


@given(point_features())
def test_features_become_columns(features: list[dict[str, Any]]) -> None:
    ids, lngs, lats, props = parse_point_features(features)
    assert ids == [f["id"] for f in features]
    assert lngs.dtype == np.float64
    assert lats.dtype == np.float64
    assert lngs.tolist() == [f["geometry"]["coordinates"][0] for f in features]
    assert lats.tolist() == [f["geometry"]["coordinates"][1] for f in features]
    assert all(p is f["properties"] for p, f in zip(props, features, strict=True))


def test_optional_parts_of_a_feature() -> None:
    features = [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": (1, 2.5, 100.0)}},
        {
            "type": "Feature",
            "id": "b",
            "geometry": {"type": "Point", "coordinates": [-180, -90]},
            "properties": None,
        },
    ]
    ids, lngs, lats, props = parse_point_features(iter(features))
    assert ids == [None, "b"]
    assert lngs.tolist() == [1.0, -180.0]
    assert lats.tolist() == [2.5, -90.0]
    assert props == [None, None]
    with pytest.raises(InvalidFeature, match="feature 0 \\(no id\\): a gig feature needs an 'id'"):
        parse_point_features(features, require_id=True)


@given(st.lists(points, min_size=1, max_size=20), st.data())
def test_one_bad_coordinate_is_named_wherever_it_is(
    coords: list[tuple[float, float]], data: st.DataObject
) -> None:
    features: list[dict[str, Any]] = [
        {"type": "Feature", "id": f"g{i}", "geometry": {"type": "Point", "coordinates": [x, y]}}
        for i, (x, y) in enumerate(coords)
    ]
    bad = data.draw(st.integers(0, len(coords) - 1))
    value = data.draw(st.sampled_from([math.nan, 180.5, -200.0, math.inf]))
    axis = data.draw(st.sampled_from([0, 1]))
    features[bad]["geometry"]["coordinates"][axis] = value
    with pytest.raises(InvalidCoordinates) as caught:
        parse_point_features(features)
    assert str(caught.value).startswith(f"feature {bad} (id 'g{bad}')")
    assert caught.value.context["index"] == bad
    assert caught.value.context["id"] == f"g{bad}"


def test_records_become_columns() -> None:
    ids, lngs, lats, props = parse_records([("a", 1, 2), (3, -1.5, 0.0, {"x": 1})])
    assert ids == ["a", 3]
    assert lngs.tolist() == [1.0, -1.5]
    assert lats.tolist() == [2.0, 0.0]
    assert props == [None, {"x": 1}]


def test_gig_values_are_frozen_and_hashable() -> None:
    gig = Gig("a", 1.0, 2.0, {"budget": 5})
    assert hash(gig) == hash(Gig("a", 1.0, 2.0, {"other": 1}))  # properties not hashed
    with pytest.raises(AttributeError):
        gig.lng = 3.0  # type: ignore[misc]
    with pytest.raises(TypeError):
        gig.properties["budget"] = 6  # type: ignore[index]
    assert gig.to_feature() == {
        "type": "Feature",
        "id": "a",
        "geometry": {"type": "Point", "coordinates": [1.0, 2.0]},
        "properties": {"budget": 5},
    }


@pytest.mark.parametrize("value", [None, 5, 1.5])
def test_a_non_iterable_collection_is_an_invalid_feature(value: object) -> None:
    for parse, field in ((parse_point_features, "features"), (parse_records, "records")):
        with pytest.raises(InvalidFeature) as caught:
            parse(value)  # type: ignore[arg-type]
        assert caught.value.context["field"] == field
        assert repr(value) in caught.value.message


@pytest.mark.parametrize("value", [None, 5])
def test_public_entry_points_refuse_a_non_iterable(value: object) -> None:
    with pytest.raises(InvalidFeature):
        GigIndex(value)  # type: ignore[arg-type]
    with pytest.raises(InvalidFeature):
        GigIndex.from_geojson(value)  # type: ignore[arg-type]
    index = GigIndex([("a", 13.4, 52.5, {})])
    with pytest.raises(InvalidFeature):
        index.insert_many(value)  # type: ignore[arg-type]
    assert [gig.id for gig in index] == ["a"]
    clusterer = Clusterer().load(index.to_geojson()["features"])
    with pytest.raises(InvalidFeature):
        clusterer.load(value)  # type: ignore[arg-type]
    assert [f["id"] for f in clusterer.get_clusters((-180, -85, 180, 85), zoom=0)] == ["a"]
