"""The deployer's tables: what other tools (the Deployments page, SQL) may read."""

from __future__ import annotations

from include.bundles.tables import SCHEMA, metadata


def test_the_deployer_s_tables_and_their_columns():
    assert SCHEMA == "deployer"
    assert {name: list(table.columns.keys()) for name, table in metadata.tables.items()} == {
        "deployer.bundles": [
            "bundle_id",
            "sha256",
            "size",
            "release_notes",
            "manifest",
            "published_at",
        ],
        "deployer.deployments": [
            "name",
            "active_bundle_id",
            "settings",
            "applied_settings_sha256",
            "updated_at",
        ],
        "deployer.updates": [
            "update_id",
            "deployment",
            "requested_by",
            "requested_at",
            "from_bundle_id",
            "to_bundle_id",
            "outcome",
            "message",
            "finished_at",
        ],
    }
