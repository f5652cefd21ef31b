"""Suite-wide settings: hypothesis profiles and the CI switch.

Profiles: ``dev`` (the default, quick), ``ci`` (chosen when ``CI=true``: more examples, and
the deeper state-machine runs that tests opt into through :data:`IN_CI`).
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

settings.register_profile(
    "dev",
    deadline=None,
    max_examples=100,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "ci",
    deadline=None,
    max_examples=300,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.load_profile("ci" if IN_CI else "dev")
