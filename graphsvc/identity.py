"""The IRI scheme for frameworks, requirements, families, parameters and baselines.

One requirement has one IRI whatever file it came from, so that NIST SP 800-53 rev5
``ac-2.1`` from an OSCAL catalog, a FedRAMP baseline and a CISO Assistant library meet
in one node::

    id/fw/{framework}                    e.g. id/fw/nist-sp-800-53-rev5
    id/fw/{framework}/{requirement id}   e.g. id/fw/nist-sp-800-53-rev5/ac-2.1
                                         (ids normalised: lower case, AC-2(1) -> ac-2.1)
    id/fw/{framework}/family/{group id}
    id/fw/{framework}/param/{param id}
    id/baseline/{name}                   e.g. id/baseline/fedramp-rev5-moderate

A release of a framework states the requirement's text; what it states lives on nodes
of that release, so that two releases never write to the same node::

    id/fw/{framework}/release/{release}            e.g. .../release/5.1.1
    id/fw/{framework}/release/{release}/{id}       the requirement as the release states it
    id/fw/{framework}/release/{release}/family/{group id}
    id/fw/{framework}/release/{release}/{id}/param/{param id}

Framework slugs come from FRAMEWORK_RULES (first match on the document title) or,
failing that, from the title and version; ``--framework`` overrides both.
"""

from __future__ import annotations

import re
import urllib.parse
from functools import lru_cache

from rdflib import URIRef

from graphsvc.namespaces import ID

# (pattern on a catalog or profile title, framework slug); first match wins
FRAMEWORK_RULES: list[tuple[str, str]] = [
    (r"\b800-53\b.*\b(Revision|Rev\.?)\s*5|\bFedRAMP\b.*\bRev(ision)?\.?\s*5",
     "nist-sp-800-53-rev5"),
    (r"\b800-53\b.*\b(Revision|Rev\.?)\s*4|\bFedRAMP\b.*\bRev(ision)?\.?\s*4",
     "nist-sp-800-53-rev4"),
    (r"\b800-171\b.*\b(Revision|Rev\.?)\s*3|^Protecting Controlled Unclassified Information",
     "nist-sp-800-171-rev3"),
    (r"Cybersecurity Framework\b.*2\.0|\bCSF\b.*2\.0", "nist-csf-2.0"),
    (r"Cybersecurity Framework\b.*\b1\.1|\bCSF v?1\.1", "nist-csf-1.1"),
    (r"\bPrivacy Framework\b.*\b1\.0", "nist-privacy-framework-1.0"),
    (r"ISO/IEC 27001:2022|\biso27001-2022\b", "iso27001-2022"),
    (r"ISO/IEC 27001:2013|\biso27001-2013\b", "iso27001-2013"),
    (r"Security Hub", "aws-securityhub"),
]
BASELINE_LEVELS = ("LI-SaaS", "LOW", "MODERATE", "HIGH", "PRIVACY")
# how the frameworks of FRAMEWORK_RULES are called (others by their current title)
FRAMEWORK_NAMES = {
    "nist-sp-800-53-rev5": "NIST SP 800-53 Rev. 5",
    "nist-sp-800-53-rev4": "NIST SP 800-53 Rev. 4",
    "nist-sp-800-171-rev3": "NIST SP 800-171 Rev. 3",
    "nist-csf-2.0": "NIST Cybersecurity Framework 2.0",
    "nist-csf-1.1": "NIST Cybersecurity Framework 1.1",
    "nist-privacy-framework-1.0": "NIST Privacy Framework 1.0",
    "iso27001-2022": "ISO/IEC 27001:2022",
    "iso27001-2013": "ISO/IEC 27001:2013",
    "aws-securityhub": "AWS Security Hub controls",
    "fedramp-20x-ksi": "FedRAMP 20x Key Security Indicators",
}


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9.]+", "-", text.lower()).strip("-.") or "unnamed"


def match_framework(title: str) -> str | None:
    """The slug of the first FRAMEWORK_RULES pattern the title matches, if any."""
    for pattern, name in FRAMEWORK_RULES:
        if re.search(pattern, title, re.IGNORECASE):
            return name
    return None


def framework_slug(title: str, version: str | None = None) -> str:
    return match_framework(title) or slug(f"{title} {version or ''}")


def baseline_slug(title: str, framework: str) -> str:
    """fedramp-rev5-moderate, nist-sp-800-53-rev5-low, or the title's slug."""
    level = next((lvl for lvl in BASELINE_LEVELS
                  if re.search(rf"\b{re.escape(lvl)}\b", title, re.IGNORECASE)), None)
    if level is None:
        return slug(title)
    if re.search(r"\bFedRAMP\b", title, re.IGNORECASE):
        revision = framework.rsplit("-", 1)[-1]  # rev5
        return f"fedramp-{revision}-{level.lower()}"
    return f"{framework}-{level.lower()}"


def _segment(value: str) -> str:
    return urllib.parse.quote(value.strip(), safe="-._~()")


def framework_iri(framework: str) -> URIRef:
    return ID[f"fw/{_segment(framework)}"]


_ENHANCEMENT = re.compile(r"^([a-z]{2,3})-(\d+)\s*\((\d+)\)$")


def normalise_id(requirement_id: str) -> str:
    """The form OSCAL uses: lower case, and 800-53 style enhancements as ``ac-2.1``
    (CISO Assistant and the NIST documents write ``AC-2(1)``)."""
    lowered = requirement_id.strip().lower()
    return _ENHANCEMENT.sub(r"\1-\2.\3", lowered)


_ENHANCEMENT_ID = re.compile(r"^([a-z]{2,3})-(\d+)\.(\d+)$")


def notation(identifier: str) -> str:
    """How people write an identifier (the inverse of :func:`normalise_id` for
    display): ac-2.1 -> AC-2(1), a.5.15 -> A.5.15, gv.rm-02 -> GV.RM-02."""
    match = _ENHANCEMENT_ID.match(identifier)
    return (f"{match[1]}-{match[2]}({match[3]})" if match else identifier).upper()


@lru_cache(maxsize=65536)
def requirement_iri(framework: str, requirement_id: str) -> URIRef:
    return ID[f"fw/{_segment(framework)}/{_segment(normalise_id(requirement_id))}"]


def family_iri(framework: str, group_id: str) -> URIRef:
    """Group ids keep their case: AWS's catalog has both AutoScaling and Autoscaling."""
    return ID[f"fw/{_segment(framework)}/family/{_segment(group_id)}"]


def parameter_iri(framework: str, param_id: str) -> URIRef:
    return ID[f"fw/{_segment(framework)}/param/{_segment(param_id)}"]


_RELEASE_NUMBER = re.compile(r"^v?(\d+(?:\.\d+)+|\d{4}-\d{2}-\d{2})")


def release_slug(version: str | None) -> str | None:
    """The release a catalog's version names: its leading dotted number ("5.1.1+u4" and
    "5.1.1+fedramp-20240111-0" are release 5.1.1) or date (rev4's "2015-01-22"); None
    when it names none."""
    match = _RELEASE_NUMBER.match((version or "").strip())
    return match.group(1) if match else None


def release_rank(release: str) -> tuple[list[int], str]:
    """Orders releases: 5.1.1 after 5.0.1, 2.0 after 1.1 (numbers compared as numbers)."""
    return [int(n) for n in re.findall(r"\d+", release)], release


def release_iri(framework: str, release: str) -> URIRef:
    return ID[f"fw/{_segment(framework)}/release/{_segment(release)}"]


def requirement_version_iri(framework: str, release: str, requirement_id: str) -> URIRef:
    """The requirement as one release states it (its title, text, parameters)."""
    return URIRef(f"{release_iri(framework, release)}/{_segment(normalise_id(requirement_id))}")


def family_version_iri(framework: str, release: str, group_id: str) -> URIRef:
    return URIRef(f"{release_iri(framework, release)}/family/{_segment(group_id)}")


def parameter_version_iri(version: URIRef, param_id: str) -> URIRef:
    return URIRef(f"{version}/param/{_segment(param_id)}")


def baseline_iri(name: str) -> URIRef:
    return ID[f"baseline/{_segment(name)}"]


def profile_iri(name: str) -> URIRef:
    return ID[f"profile/{_segment(name)}"]
