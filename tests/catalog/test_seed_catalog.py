"""The seed catalog meets its coverage rules: size, every category in every county, mostly county-specific."""

from __future__ import annotations

from assistant.catalog.io import read_seed_dir, validate_rows
from assistant.config import Settings
from assistant.taxonomy import get_taxonomy
from assistant.taxonomy.model import CITYWIDE


def test_seed_catalog_is_valid_large_and_covers_every_category_in_every_county() -> None:
    rows = read_seed_dir(Settings().seed_catalog_dir)
    resources, errors = validate_rows(rows)
    assert errors == []
    assert len(resources) >= 180
    county_specific = [r for r in resources if CITYWIDE not in r.service_areas]
    assert len(county_specific) / len(resources) >= 0.70
    taxonomy = get_taxonomy()
    for county in taxonomy.counties:
        serving = [
            r
            for r in resources
            if r.status == "active" and (county in r.service_areas or CITYWIDE in r.service_areas)
        ]
        missing = set(taxonomy.categories) - {c for r in serving for c in r.categories}
        assert not missing, f"{county} lacks {missing}"
    statuses = {r.status for r in resources}
    assert {"inactive", "temporarily closed", "defunct"} & statuses, (
        "paused resources make eligibility matter"
    )
    assert any(r.capacity.available == 0 for r in resources), "full resources make capacity matter"
    assert len({r.brand for r in resources if r.brand}) >= 6, "each county has its own 一县一品 brand"
