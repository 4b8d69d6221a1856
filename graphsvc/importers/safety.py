"""Checks every untrusted document goes through before it is parsed for real: size,
XML DTDs (entity bombs, external entities), YAML aliases (alias bombs), nesting depth."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from xml.parsers import expat

import yaml

from graphsvc.errors import BadInput, TooLarge

MAX_DEPTH = 64


def read_limited(path: Path, max_bytes: int) -> bytes:
    """The file's bytes, refused before reading when larger than ``max_bytes``."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise TooLarge(f"file is {size} bytes; the limit is {max_bytes} "
                           "(set GRAPHSVC_MAX_LOAD_BYTES to change it)", where=str(path))
        return path.read_bytes()
    except OSError as exc:
        raise BadInput(f"cannot read file: {exc.strerror}", where=str(path)) from exc


def refuse_doctype(data: bytes, source: str) -> None:
    """Refuse XML with a DOCTYPE (and so any entity) and XML that is not well-formed.

    Runs expat once over the document; it stops at the DOCTYPE, before any entity is
    declared, so a bomb costs nothing.
    """
    parser = expat.ParserCreate()

    def refuse(*_: object) -> None:
        raise BadInput(
            "XML DOCTYPE/ENTITY declarations are not accepted",
            where=f"{source}, line {parser.CurrentLineNumber}, "
            f"column {parser.CurrentColumnNumber + 1}",
        )

    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        raise BadInput(f"not well-formed XML: {expat.errors.messages[exc.code]}",
                       where=f"{source}, line {exc.lineno}, column {exc.offset + 1}") from exc


_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: 7x faster


def load_yaml(data: bytes, source: str) -> Any:
    """Safe YAML without aliases (an alias bomb expands to billions of nodes) and no
    deeper than MAX_DEPTH. The event stream is checked first (cheap), then loaded."""
    try:
        for event in yaml.parse(data, Loader=_YAML_LOADER):
            if isinstance(event, yaml.AliasEvent):
                mark = event.start_mark
                raise BadInput("YAML aliases are not accepted",
                               where=f"{source}, line {mark.line + 1}, column {mark.column + 1}")
        tree = yaml.load(data, Loader=_YAML_LOADER)  # a safe loader: no Python objects
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}, line {mark.line + 1}, column {mark.column + 1}" if mark else source
        raise BadInput(f"not valid YAML: {getattr(exc, 'problem', exc)}", where=where) from exc
    check_depth(tree, source)
    return tree


def check_depth(tree: Any, source: str, limit: int = MAX_DEPTH) -> None:
    """Refuse documents nested deeper than any real one (JSON/YAML trees)."""
    stack = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            raise BadInput(f"document is nested more than {limit} levels deep", where=source)
        children = node.values() if isinstance(node, dict) else node
        stack.extend((v, depth + 1) for v in children if isinstance(v, dict | list))
