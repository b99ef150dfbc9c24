"""Licences of Hub repos (model card front matter) normalised to SPDX where possible."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Hub licence ids (lowercase) -> SPDX ids. Hub-specific licences without an SPDX id keep a
# LicenseRef- name so policies can still name them.
_SPDX: dict[str, str] = {
    "apache-2.0": "Apache-2.0",
    "apache-2": "Apache-2.0",
    "apache": "Apache-2.0",
    "mit": "MIT",
    "psf-2.0": "PSF-2.0",
    "bsd": "BSD-3-Clause",
    "bsd-2-clause": "BSD-2-Clause",
    "bsd-3-clause": "BSD-3-Clause",
    "bsd-3-clause-clear": "BSD-3-Clause-Clear",
    "isc": "ISC",
    "unlicense": "Unlicense",
    "cc0-1.0": "CC0-1.0",
    "cc-by-2.0": "CC-BY-2.0",
    "cc-by-3.0": "CC-BY-3.0",
    "cc-by-4.0": "CC-BY-4.0",
    "cc-by-sa-3.0": "CC-BY-SA-3.0",
    "cc-by-sa-4.0": "CC-BY-SA-4.0",
    "cc-by-nc-2.0": "CC-BY-NC-2.0",
    "cc-by-nc-3.0": "CC-BY-NC-3.0",
    "cc-by-nc-4.0": "CC-BY-NC-4.0",
    "cc-by-nd-4.0": "CC-BY-ND-4.0",
    "cc-by-nc-nd-4.0": "CC-BY-NC-ND-4.0",
    "cc-by-nc-sa-4.0": "CC-BY-NC-SA-4.0",
    "gpl": "GPL-3.0-or-later",
    "gpl-2.0": "GPL-2.0-only",
    "gpl-3.0": "GPL-3.0-only",
    "lgpl-2.1": "LGPL-2.1-only",
    "lgpl-3.0": "LGPL-3.0-only",
    "agpl-3.0": "AGPL-3.0-only",
    "mpl-2.0": "MPL-2.0",
    "epl-2.0": "EPL-2.0",
    "afl-3.0": "AFL-3.0",
    "artistic-2.0": "Artistic-2.0",
    "bsl-1.0": "BSL-1.0",
    "wtfpl": "WTFPL",
    "zlib": "Zlib",
    "odc-by": "ODC-By-1.0",
    "odbl": "ODbL-1.0",
    "pddl": "PDDL-1.0",
    "openrail": "LicenseRef-OpenRAIL",
    "openrail++": "LicenseRef-OpenRAIL-PlusPlus",
    "creativeml-openrail-m": "LicenseRef-CreativeML-OpenRAIL-M",
    "bigscience-openrail-m": "LicenseRef-BigScience-OpenRAIL-M",
    "bigscience-bloom-rail-1.0": "LicenseRef-BigScience-BLOOM-RAIL-1.0",
    "llama2": "LicenseRef-Llama2",
    "llama3": "LicenseRef-Llama3",
    "llama3.1": "LicenseRef-Llama3.1",
    "llama3.2": "LicenseRef-Llama3.2",
    "llama3.3": "LicenseRef-Llama3.3",
    "gemma": "LicenseRef-Gemma",
    "other": "LicenseRef-other",
    "unknown": "LicenseRef-unknown",
}
_BY_SPDX_LOWER = {v.lower(): v for v in _SPDX.values()}

DEFAULT_ALLOWED = (
    "Apache-2.0",
    "MIT",
    "BSD-2-Clause",
    "BSD-3-Clause",
    "BSD-3-Clause-Clear",
    "ISC",
    "Unlicense",
    "CC0-1.0",
    "CC-BY-4.0",
    "CC-BY-3.0",
    "CC-BY-SA-4.0",
    "MPL-2.0",
    "Zlib",
    "BSL-1.0",
    "PSF-2.0",
    "MIT-0",
    "PDDL-1.0",
    "ODC-By-1.0",
)


def normalise(value: str) -> str:
    """A Hub or SPDX licence id as SPDX (``apache-2.0`` -> ``Apache-2.0``); unknown ids are kept
    as ``LicenseRef-<id>``."""
    v = value.strip()
    low = v.lower()
    if low in _SPDX:
        return _SPDX[low]
    if low in _BY_SPDX_LOWER:
        return _BY_SPDX_LOWER[low]
    if v.startswith("LicenseRef-"):
        return v
    return f"LicenseRef-{v}"


@dataclass(frozen=True)
class LicenseInfo:
    """What a model card says. ``licenses`` is empty when the repo is unlicensed."""

    licenses: tuple[str, ...]
    name: str | None = None
    link: str | None = None

    @property
    def unlicensed(self) -> bool:
        return not self.licenses

    def describe(self) -> str:
        if self.unlicensed:
            return "no licence"
        shown = " OR ".join(self.licenses)
        if self.name:
            shown += f" ({self.name})"
        return shown


def license_of_card(card: dict[str, Any]) -> LicenseInfo:
    """Licence from the card's ``license``/``license_name``/``license_link`` (a list means any)."""
    raw = card.get("license")
    values = (
        [raw]
        if isinstance(raw, str)
        else [v for v in raw if isinstance(v, str)]
        if isinstance(raw, list)
        else []
    )
    licenses = tuple(dict.fromkeys(normalise(v) for v in values if v.strip()))
    name = card.get("license_name") if isinstance(card.get("license_name"), str) else None
    link = card.get("license_link") if isinstance(card.get("license_link"), str) else None
    return LicenseInfo(licenses, name, link)


# Trove classifiers (``License :: …``) -> SPDX, for packages without License-Expression.
_CLASSIFIERS: dict[str, str] = {
    "MIT License": "MIT",
    "MIT No Attribution License (MIT-0)": "MIT-0",
    "Apache Software License": "Apache-2.0",
    "BSD License": "BSD-3-Clause",
    "ISC License (ISCL)": "ISC",
    "Mozilla Public License 2.0 (MPL 2.0)": "MPL-2.0",
    "Python Software Foundation License": "PSF-2.0",
    "The Unlicense (Unlicense)": "Unlicense",
    "GNU General Public License v2 (GPLv2)": "GPL-2.0-only",
    "GNU General Public License v3 (GPLv3)": "GPL-3.0-only",
    "GNU General Public License v2 or later (GPLv2+)": "GPL-2.0-or-later",
    "GNU General Public License v3 or later (GPLv3+)": "GPL-3.0-or-later",
    "GNU Lesser General Public License v2 (LGPLv2)": "LGPL-2.0-only",
    "GNU Lesser General Public License v3 (LGPLv3)": "LGPL-3.0-only",
    "GNU Affero General Public License v3": "AGPL-3.0-only",
    "Eclipse Public License 2.0 (EPL-2.0)": "EPL-2.0",
    "zlib/libpng License": "Zlib",
    "Boost Software License 1.0 (BSL-1.0)": "BSL-1.0",
}


def license_of_core_metadata(text: str) -> LicenseInfo:
    """Licence of a Python distribution from its core metadata (PEP 639 ``License-Expression``
    first, then trove classifiers, then a short ``License`` field)."""
    from email.parser import HeaderParser

    msg = HeaderParser().parsestr(text)
    expression = (msg.get("License-Expression") or "").strip()
    if expression:
        # "A OR B" offers a choice: one allowed alternative suffices (LicenseInfo means "any").
        parts = [p.strip(" ()") for p in expression.split(" OR ")]
        return LicenseInfo(tuple(dict.fromkeys(normalise(p) for p in parts if p)), expression)
    classified = []
    for classifier in msg.get_all("Classifier") or []:
        head, _, tail = str(classifier).partition("License :: ")
        if head == "" and tail:
            name = tail.split(" :: ")[-1].strip()
            classified.append(_CLASSIFIERS.get(name, f"LicenseRef-{name.replace(' ', '-')}"))
    if classified:
        return LicenseInfo(tuple(dict.fromkeys(classified)))
    free = (msg.get("License") or "").strip()
    if free and len(free) <= 64 and "\n" not in free and free.upper() != "UNKNOWN":
        return LicenseInfo((normalise(free.replace(" ", "-")),), free)
    return LicenseInfo(())
