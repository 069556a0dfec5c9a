"""OCDS metadata for the portal: CKAN extras taken from an OCDS report.

    extras = package_metadata(result.report)        # or the report's JSON dict
    # {"ocds_publisher": "DNCP - Paraguay", "ocds_ocid_prefix": "ocds-03ad3f", ...}

Every value is a string (CKAN extras are strings); absent fields are left
out rather than sent empty, so a publisher's edit in CKAN is not blanked.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from publisher.ocds.report import OcdsReport

EXTRA_KEYS = (
    "ocds_publisher", "ocds_ocid_prefix", "ocds_version", "ocds_extensions", "ocds_license",
    "ocds_publication_policy", "ocds_uri", "ocds_published_date", "ocds_releases",
    "ocds_contracting_processes", "ocds_valid", "ocds_schema_version",
)


def package_metadata(report: OcdsReport | Mapping[str, Any]) -> dict[str, str]:
    """CKAN extras (``ocds_*`` keys, string values) for the data an OCDS report describes."""
    data = report.as_dict() if isinstance(report, OcdsReport) else report
    metadata: Mapping[str, Any] = data.get("metadata", {})
    counts: Mapping[str, Any] = data.get("counts", {})
    publisher = metadata.get("publisher")
    prefixes = metadata.get("ocid_prefixes") or {}
    extras: dict[str, Any] = {
        "ocds_publisher": publisher.get("name") if isinstance(publisher, Mapping) else None,
        "ocds_ocid_prefix": ", ".join(prefixes) if prefixes else None,
        "ocds_version": "1.1" if metadata.get("versions") else None,
        "ocds_extensions": json.dumps(metadata["extensions"]) if metadata.get("extensions") else None,
        "ocds_license": metadata.get("license"),
        "ocds_publication_policy": metadata.get("publicationPolicy"),
        "ocds_uri": metadata.get("uri"),
        "ocds_published_date": metadata.get("publishedDate"),
        "ocds_releases": counts.get("releases"),
        "ocds_contracting_processes": counts.get("contracting_processes"),
        "ocds_valid": None if "valid" not in data else ("true" if data["valid"] else "false"),
        "ocds_schema_version": (data.get("schema") or {}).get("version"),
    }
    if metadata.get("versions") and metadata["versions"] != ["1.1"]:
        extras["ocds_declared_version"] = ", ".join(metadata["versions"])
    return {key: str(value) for key, value in extras.items() if value not in (None, "")}


def package_metadata_from_file(report_path: Path) -> dict[str, str]:
    """The same, read from a written ``ocds-validation.json``."""
    return package_metadata(json.loads(report_path.read_text(encoding="utf-8")))
