"""Licence names as stewards write them (SPDX / Frictionless) -> CKAN licence ids.

CKAN's default licence register knows these ids; a portal with a custom
register may know more, which CKAN itself reports at publish time.
"""

from __future__ import annotations

# name (case-insensitive) -> (ckan license_id, title, url)
_LICENSES: dict[str, tuple[str, str, str]] = {
    "cc-by-4.0": ("cc-by", "Creative Commons Attribution 4.0", "https://creativecommons.org/licenses/by/4.0/"),
    "cc-by": ("cc-by", "Creative Commons Attribution", "https://creativecommons.org/licenses/by/4.0/"),
    "cc-by-sa-4.0": ("cc-by-sa", "Creative Commons Attribution Share-Alike 4.0", "https://creativecommons.org/licenses/by-sa/4.0/"),
    "cc-by-sa": ("cc-by-sa", "Creative Commons Attribution Share-Alike", "https://creativecommons.org/licenses/by-sa/4.0/"),
    "cc0-1.0": ("cc-zero", "Creative Commons CCZero", "https://creativecommons.org/publicdomain/zero/1.0/"),
    "cc-zero": ("cc-zero", "Creative Commons CCZero", "https://creativecommons.org/publicdomain/zero/1.0/"),
    "cc-by-nc-4.0": ("cc-nc", "Creative Commons Non-Commercial 4.0", "https://creativecommons.org/licenses/by-nc/4.0/"),
    "cc-nc": ("cc-nc", "Creative Commons Non-Commercial", "https://creativecommons.org/licenses/by-nc/4.0/"),
    "odc-by-1.0": ("odc-by", "Open Data Commons Attribution License", "https://opendatacommons.org/licenses/by/1-0/"),
    "odc-by": ("odc-by", "Open Data Commons Attribution License", "https://opendatacommons.org/licenses/by/1-0/"),
    "odbl-1.0": ("odc-odbl", "Open Data Commons Open Database License", "https://opendatacommons.org/licenses/odbl/1-0/"),
    "odc-odbl": ("odc-odbl", "Open Data Commons Open Database License", "https://opendatacommons.org/licenses/odbl/1-0/"),
    "pddl-1.0": ("odc-pddl", "Open Data Commons Public Domain Dedication and License", "https://opendatacommons.org/licenses/pddl/1-0/"),
    "odc-pddl": ("odc-pddl", "Open Data Commons Public Domain Dedication and License", "https://opendatacommons.org/licenses/pddl/1-0/"),
    "gfdl-1.3": ("gfdl", "GNU Free Documentation License", "https://www.gnu.org/licenses/fdl-1.3.html"),
    "gfdl": ("gfdl", "GNU Free Documentation License", "https://www.gnu.org/licenses/fdl-1.3.html"),
    "ogl-uk-3.0": ("uk-ogl", "UK Open Government Licence (OGL)", "https://www.nationalarchives.gov.uk/doc/open-government-licence/"),
    "other-open": ("other-open", "Other (Open)", ""),
    "other-pd": ("other-pd", "Other (Public Domain)", ""),
    "other-at": ("other-at", "Other (Attribution)", ""),
    "other-nc": ("other-nc", "Other (Non-Commercial)", ""),
    "other-closed": ("other-closed", "Other (Not Open)", ""),
    "notspecified": ("notspecified", "License not specified", ""),
}


def ckan_license_id(name: str) -> str | None:
    """The CKAN ``license_id`` for a licence name, or None when unknown."""
    entry = _LICENSES.get(name.strip().lower())
    return entry[0] if entry else None


def frictionless_license(name: str) -> dict[str, str]:
    """The Frictionless ``licenses`` entry for a licence name."""
    entry = _LICENSES.get(name.strip().lower())
    if entry is None:
        return {"name": name}
    descriptor = {"name": name, "title": entry[1]}
    if entry[2]:
        descriptor["path"] = entry[2]
    return descriptor


def known_license_names() -> list[str]:
    return sorted({k for k in _LICENSES if k.upper() == k.upper()})
