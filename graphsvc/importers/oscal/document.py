"""Reading an OSCAL document in JSON, YAML or XML into one JSON-shaped tree.

XML is converted by OSCAL's own JSON naming: repeated elements become lists under
their group-as name (``control`` -> ``controls``), markup (``p``, ``ul``, ``insert``,
...) becomes text. The mappers read the tree only through :func:`many` and
:func:`text`, which accept a value or a list, so both sources look the same to them.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

from graphsvc.errors import BadInput
from graphsvc.importers.safety import (
    LIMITS,
    InputLimits,
    Kind,
    check_tree,
    check_xml,
    load_json,
    load_yaml,
)

MODELS = (
    "catalog", "profile", "component-definition", "system-security-plan",
    "mapping-collection", "assessment-plan", "assessment-results",
    "plan-of-action-and-milestones",
)

# XML element -> JSON group-as name, where they differ
GROUP_AS = {
    "control": "controls", "group": "groups", "part": "parts", "param": "params",
    "prop": "props", "link": "links", "import": "imports", "with-id": "with-ids",
    "set-parameter": "set-parameters", "alter": "alters", "add": "adds", "remove": "removes",
    "component": "components", "implemented-requirement": "implemented-requirements",
    "statement": "statements", "by-component": "by-components",
    "leveraged-authorization": "leveraged-authorizations", "responsibility": "responsibilities",
    "responsible-role": "responsible-roles", "party-uuid": "party-uuids",
    "responsible-party": "responsible-parties", "party": "parties", "role": "roles",
    "location": "locations", "resource": "resources", "rlink": "rlinks", "value": "values",
    "map": "maps", "mapping": "mappings",
    "user": "users", "inventory-item": "inventory-items", "information-type": "information-types",
    "guideline": "guidelines", "constraint": "constraints", "test": "tests",
    "capability": "capabilities", "document-id": "document-ids", "role-id": "role-ids",
    "email-address": "email-addresses", "telephone-number": "telephone-numbers",
    "address": "addresses", "addr-line": "addr-lines", "member-of-organization":
    "member-of-organizations", "location-uuid": "location-uuids", "hash": "hashes",
    "citation": "citation",
    "result": "results", "finding": "findings", "observation": "observations",
    "risk": "risks", "control-selection": "control-selections",
    "include-control": "include-controls", "control-objective-selection":
    "control-objective-selections", "include-objective": "include-objectives",
    "related-observation": "related-observations", "associated-risk": "associated-risks",
    "subject": "subjects", "task": "tasks", "origin": "origins", "actor": "actors",
    "facet": "facets", "characterization": "characterizations", "method": "methods",
}
# Elements whose JSON name depends on the parent: a list in one model, one object in
# another (a finding has one <target>, a map many; an SSP has one
# <control-implementation>, a component definition's component many).
GROUP_AS_IN = {
    ("map", "source"): "sources", ("map", "target"): "targets",
    ("component", "control-implementation"): "control-implementations",
}
BLOCK_MARKUP = {"p", "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "table",
                "tr", "td", "th", "blockquote"}
INLINE_MARKUP = {"em", "strong", "b", "i", "code", "q", "sub", "sup", "a", "insert", "img",
                 "br"}
MARKUP = BLOCK_MARKUP | INLINE_MARKUP

# What the mappers read from a field, wherever it is (OSCAL gives most names one type in
# every model; "statements" of an implemented requirement, not of a risk): a document
# that puts something else there is refused at that place.
_OBJECTS = ("groups controls params parts props links imports include-controls "
            "exclude-controls matching set-parameters alters resources rlinks "
            "implemented-requirements implemented-requirements/statements by-components "
            "leveraged-authorizations components responsible-roles provided responsibilities "
            "inherited satisfied control-implementations results findings control-selections "
            "mappings maps sources targets")
_IDS = ("uuid id control-id param-id component-uuid provided-uuid responsibility-uuid "
        "id-ref")
_TEXTS = "name value rel state pattern matching-rationale href role-id target-id"
_OBJECT = ("metadata import-profile system-implementation control-implementation back-matter "
           "export target")
OSCAL_TYPES: dict[str, Kind] = {
    **dict.fromkeys(_OBJECTS.split(), Kind.OBJECTS), **dict.fromkeys(_IDS.split(), Kind.ID),
    **dict.fromkeys(_TEXTS.split(), Kind.TEXT), "with-ids": Kind.TEXTS,
    **dict.fromkeys(_OBJECT.split(), Kind.OBJECT),
}
# the fields each object of these lists must have (OSCAL requires them; the mappers
# name things by them)
OSCAL_REQUIRED = {
    "implemented-requirements": ("uuid", "control-id"),
    "by-components": ("uuid", "component-uuid"),
    **dict.fromkeys(("components", "leveraged-authorizations", "provided", "responsibilities",
                     "inherited", "satisfied", "findings"), ("uuid",)),
    "sources": ("id-ref",), "targets": ("id-ref",),
}


@dataclass(frozen=True)
class OscalDocument:
    model: str  # one of MODELS
    root: dict[str, Any]  # the model's object (what is under the model key in JSON)
    source: str
    data: bytes


def read_oscal(data: bytes, *, source: str, expect: str | None = None,
               limits: InputLimits = LIMITS) -> OscalDocument:
    """Parse JSON, YAML or XML (told apart by their first character) into a document
    whose fields hold what the mappers read (OSCAL_TYPES)."""
    head = data.removeprefix(b"\xef\xbb\xbf").lstrip()[:1]
    fields = {"types": OSCAL_TYPES, "required": OSCAL_REQUIRED}
    if head == b"<":
        tree = _read_xml(data, source, limits)
        check_tree(tree, source, limits, surrogates=False, **fields)  # (XML has none)
    elif head in (b"{", b"["):  # checked once, as it is parsed (twice: a fifth of reading)
        tree = load_json(data, source, limits, **fields)
    else:
        tree = load_yaml(data, source, limits, **fields)
    if not isinstance(tree, dict) or len(tree) != 1 or next(iter(tree)) not in MODELS:
        raise BadInput(f"not an OSCAL document: expected one of {', '.join(MODELS)} at the "
                       f"top, found {_found(tree)}", where=f"{source}, /")
    model, root = next(iter(tree.items()))
    if expect and model != expect:
        raise BadInput(f"expected an OSCAL {expect}, found a {model}", where=f"{source}, /")
    if not isinstance(root, dict):
        raise BadInput(f"the {model} must be an object", where=f"{source}, /{model}")
    if model not in ("catalog", "profile") and not root.get("uuid"):  # it names the graph
        raise BadInput("required field 'uuid' is missing", where=f"{source}, /{model}")
    return OscalDocument(model, root, source, data)


def _found(tree: Any) -> str:
    if isinstance(tree, dict):
        return ", ".join(map(str, tree)) or "an empty object"
    return "nothing (an empty file)" if tree is None else f"a {type(tree).__name__}"


def _read_xml(data: bytes, source: str, limits: InputLimits) -> dict[str, Any]:
    check_xml(data, source, limits)  # UTF-8, no DTD (so no entities), depth bounded
    root = ET.fromstring(data)
    return {_local(root.tag): _convert(root)}


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _convert(element: ET.Element) -> Any:
    children = list(element)
    if not element.attrib and all(_local(c.tag) in MARKUP for c in children):
        return _markup_text(element)
    node: dict[str, Any] = {_local(k): v for k, v in element.attrib.items()}
    prose = [_block(c) for c in children if _local(c.tag) in MARKUP]
    if prose:
        node["prose"] = "\n\n".join(p for p in prose if p)
    for child in children:
        tag = _local(child.tag)
        if tag not in MARKUP:
            name = GROUP_AS_IN.get((_local(element.tag), tag)) or GROUP_AS.get(tag, tag)
            node.setdefault(name, []).append(_convert(child))
    return node


INLINE_MARKDOWN = {"em": "*", "i": "*", "strong": "**", "b": "**", "code": "`", "q": '"',
                   "sub": "~", "sup": "^"}


def _markup_text(element: ET.Element) -> str:
    """Markup as the Markdown OSCAL JSON carries: blocks apart by a blank line, list
    items as "1. " or "- ", emphasis as *...*, parameter inserts as {{ insert: ... }}."""
    blocks, inline = [], [element.text or ""]
    for child in element:
        tag = _local(child.tag)
        if tag in BLOCK_MARKUP:
            blocks.append("".join(inline).strip())
            blocks.append(_block(child))
            inline = []
        elif tag == "insert":
            inline.append(f"{{{{ insert: {child.get('type')}, {child.get('id-ref')} }}}}")
        elif tag == "a":
            inline.append(f"[{_markup_text(child)}]({child.get('href', '')})")
        else:
            mark = INLINE_MARKDOWN.get(tag, "")
            inline.append(f"{mark}{_markup_text(child)}{mark}")
        inline.append(child.tail or "")
    blocks.append(re.sub(r"\s*\n\s*", " ", "".join(inline)).strip())
    return "\n\n".join(b for b in blocks if b)


def _block(element: ET.Element) -> str:
    """A list as Markdown lines; any other element as its text."""
    tag = _local(element.tag)
    if tag in ("ul", "ol"):
        marker = "1. " if tag == "ol" else "- "
        return "\n".join(marker + _markup_text(item) for item in element)
    return _markup_text(element)


def many(node: Any, key: str) -> list[Any]:
    """The list under ``key`` (a single value counts as a list of one)."""
    value = node.get(key) if isinstance(node, dict) else None
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def one(node: Any, key: str) -> dict[str, Any]:
    """The object under ``key`` (the first, if XML gave a list); {} when absent."""
    values = many(node, key)
    return values[0] if values and isinstance(values[0], dict) else {}


def text(node: Any, key: str) -> str | None:
    """The text under ``key``: a string, or the prose of converted XML markup."""
    values = many(node, key)
    if not values:
        return None
    value = values[0]
    if isinstance(value, dict):
        return value.get("prose") or None
    return str(value).strip()


def value_text(value: Any) -> str | None:
    """A markup value as text: a string, or the prose XML markup was converted to."""
    return value if isinstance(value, str) else text({"v": value}, "v")


def prop(node: Any, name: str) -> str | None:
    """The value of the first prop called ``name``."""
    for p in many(node, "props"):
        if isinstance(p, dict) and p.get("name") == name:
            return p.get("value")
    return None


def required(doc: OscalDocument, node: dict[str, Any], key: str, pointer: str) -> dict[str, Any]:
    """The object under ``key``, or BadInput naming the JSON pointer where it is missing."""
    value = one(node, key)
    if not value:
        raise BadInput(f"required field {key!r} is missing", where=f"{doc.source}, {pointer}")
    return value
