"""include/data/geo: great-circle distances, checked against known distances."""

from __future__ import annotations

import math

import numpy as np

from include.data.geo import EARTH_RADIUS_KM, great_circle_km


def test_the_same_point_is_at_distance_zero():
    assert great_circle_km(47.6, -122.3, 47.6, -122.3) == 0.0


def test_a_quarter_of_the_equator():
    assert math.isclose(great_circle_km(0, 0, 0, 90), math.pi / 2 * EARTH_RADIUS_KM)


def test_pole_to_pole_is_half_the_circumference():
    assert math.isclose(great_circle_km(90, 0, -90, 0), math.pi * EARTH_RADIUS_KM)


def test_antipodes_do_not_overflow_the_arcsine():
    # The haversine loses digits near antipodes (arcsin near 1): within a metre here.
    distance = great_circle_km(10, 20, -10, -160)
    assert not np.isnan(distance)
    assert abs(distance - math.pi * EARTH_RADIUS_KM) < 1e-3


def test_one_degree_of_latitude_is_about_111_km():
    assert math.isclose(great_circle_km(0, 0, 1, 0), 111.19, abs_tol=0.01)


def test_seattle_to_new_york():
    # Published great-circle distance on a 6371 km sphere: about 3866 km.
    assert abs(great_circle_km(47.6062, -122.3321, 40.7128, -74.0060) - 3866) < 5


def test_it_is_symmetric_and_works_on_arrays():
    lat1, lon1 = np.array([0.0, 47.6]), np.array([0.0, -122.3])
    lat2, lon2 = np.array([0.0, 40.7]), np.array([90.0, -74.0])
    there = great_circle_km(lat1, lon1, lat2, lon2)
    back = great_circle_km(lat2, lon2, lat1, lon1)
    assert there.shape == (2,)
    np.testing.assert_allclose(there, back)


def test_a_missing_coordinate_gives_nan_for_that_pair_only():
    distances = great_circle_km([0.0, np.nan], [0.0, 0.0], [0.0, 1.0], [1.0, 1.0])
    assert not np.isnan(distances[0])
    assert np.isnan(distances[1])
