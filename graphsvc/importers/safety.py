"""What every untrusted document goes through before it is parsed for real, and the
readers that parse it where a bad document can be stopped.

Bounded first: size (:func:`read_limited`), encoding (UTF-8 only), nesting depth
(counted on the event streams of XML and YAML before a tree is built; JSON's parser
stops itself), XML DOCTYPEs (entity bombs, external entities) and namespace
declarations (Oxigraph's RDF/XML parser is quadratic in them), YAML aliases (alias
bombs), CSV rows and cells. Every refusal is a :class:`BadInput` saying what and where:
the file, and a line and column or a JSON pointer.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from enum import Enum
from pathlib import Path
from typing import Any, NamedTuple
from xml.parsers import expat

import yaml

from graphsvc.config import Config
from graphsvc.errors import BadInput, TooLarge


@dataclass(frozen=True)
class InputLimits:
    """How far an untrusted document is read before it is refused (see Config)."""

    depth: int
    rows: int
    cell_chars: int
    xml_namespaces: int
    unpacked_bytes: int
    control_set_triples: int
    implementations: int

    @classmethod
    def of(cls, config: Config) -> InputLimits:
        return cls(config.max_input_depth, config.max_input_rows, config.max_cell_chars,
                   config.max_xml_namespaces, config.max_unpacked_bytes,
                   config.max_control_set_triples, config.max_implementations)


LIMITS = InputLimits.of(Config())  # the defaults


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


def position(source: str, data: bytes | str, index: int) -> str:
    """"source, line L, column C" of the character (or byte) at ``index``."""
    newline = b"\n" if isinstance(data, bytes) else "\n"
    line = data.count(newline, 0, index) + 1  # type: ignore[arg-type]
    column = index - data.rfind(newline, 0, index)  # type: ignore[arg-type]
    return f"{source}, line {line}, column {column}"


_WIDE_MARKS = (b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")


def decode_text(data: bytes, source: str) -> str:
    """The document as text: UTF-8, a leading byte order mark dropped. Other encodings
    are refused, naming the first byte that is not UTF-8."""
    if data.startswith(_WIDE_MARKS):
        raise BadInput("the file is UTF-16 or UTF-32; save it as UTF-8", where=source)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadInput(f"not UTF-8 (byte 0x{data[exc.start]:02x}); save the file as UTF-8",
                       where=position(source, data, exc.start)) from exc


# ------------------------------------------------------------------ JSON

_LONG_NUMBER = re.compile(r"\d{4000,}")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]|\\U0000[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def load_json(data: bytes, source: str, limits: InputLimits = LIMITS, *,
              unique_keys: bool = False, types: Mapping[str, Kind] | None = None,
              required: Mapping[str, tuple[str, ...]] | None = None) -> Any:
    """Parse JSON (UTF-8), then check its tree (:func:`check_tree` with ``types`` and
    ``required``). ``unique_keys`` refuses a key given twice in one object, for
    documents another parser reads again (it might keep the other one)."""
    text = decode_text(data, source)
    try:
        tree = json.loads(text, object_pairs_hook=_unique if unique_keys else None)
    except json.JSONDecodeError as exc:
        raise BadInput(f"not valid JSON: {exc.msg}",
                       where=f"{source}, line {exc.lineno}, column {exc.colno}") from exc
    except RecursionError as exc:
        raise BadInput(f"document is nested more than {limits.depth} levels deep",
                       where=source) from exc
    except ValueError as exc:  # an integer longer than Python converts (4,300 digits)
        if isinstance(exc, _DuplicateKey):
            raise BadInput(f"key {exc.args[0]!r} is given twice in one object",
                           where=source) from None
        found = _LONG_NUMBER.search(text)
        where = position(source, text, found.start()) if found else source
        raise BadInput("a number with more than 4,300 digits", where=where) from exc
    check_tree(tree, source, limits, types=types, required=required,
               surrogates=bool(_SURROGATE_ESCAPE.search(text)))
    return tree


class _DuplicateKey(ValueError):
    pass


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    node = dict(pairs)
    if len(node) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return node


# ------------------------------------------------------------------ YAML

_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: 7x faster


class _Loader(_YAML_LOADER):  # type: ignore[misc, valid-type]
    """The safe loader; a scalar it cannot convert (a 5,000-digit integer, a timestamp
    of month 13) is refused with the scalar's place."""

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except (ValueError, OverflowError, TypeError) as exc:
            mark = node.start_mark
            raise BadInput(f"not valid YAML: cannot read {node.tag.rsplit(':', 1)[-1]} "
                           f"value: {exc}", where=f"{self.name}, line {mark.line + 1}, "
                                                  f"column {mark.column + 1}") from exc


def load_yaml(data: bytes, source: str, limits: InputLimits = LIMITS, *,
              types: Mapping[str, Kind] | None = None,
              required: Mapping[str, tuple[str, ...]] | None = None) -> Any:
    """Safe YAML (UTF-8) without aliases (an alias bomb expands to billions of nodes) and
    no deeper than ``limits.depth``: both checked on the event stream before a tree is
    built. No Python objects (a safe loader). The tree is checked as by
    :func:`load_json`."""
    text = decode_text(data, source)
    try:
        depth = 0
        for event in yaml.parse(text, Loader=_YAML_LOADER):
            if isinstance(event, yaml.AliasEvent):
                raise BadInput("YAML aliases are not accepted", where=_mark(source, event))
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > limits.depth:
                    raise BadInput(f"document is nested more than {limits.depth} levels deep",
                                   where=_mark(source, event))
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
        loader = _Loader(text)
        loader.name = source
        try:
            tree = loader.get_single_data()
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}, line {mark.line + 1}, column {mark.column + 1}" if mark else source
        raise BadInput(f"not valid YAML: {getattr(exc, 'problem', None) or exc}",
                       where=where) from exc
    check_tree(tree, source, limits, types=types, required=required,
               surrogates=bool(_SURROGATE_ESCAPE.search(text)))
    return tree


def _mark(source: str, event: yaml.Event) -> str:
    mark = event.start_mark
    return f"{source}, line {mark.line + 1}, column {mark.column + 1}"


# ------------------------------------------------------------------ trees


class Kind(Enum):
    """What a field of a JSON or YAML document must hold, for the code that reads it."""

    OBJECT = "an object"
    OBJECTS = "a list of objects"
    TEXTS = "a list of texts"
    TEXT = "text"
    ID = "an identifier (text without spaces or any of <>\"{}|^`\\)"


_NOT_IN_ID = re.compile(r'[\s<>"{}|^`\\\x00-\x1f]')


class _At(NamedTuple):
    """A place in a tree: the node, its depth, the place holding it, the key or index it
    is under there, and the name of what it is (a list item is named after its list)."""

    node: Any
    depth: int
    parent: _At | None
    key: str | int
    name: str

    def pointer(self) -> str:
        keys, at = [], self
        while at.parent is not None:
            keys.append(str(at.key).replace("~", "~0").replace("/", "~1"))
            at = at.parent
        return "/" + "/".join(reversed(keys))


def check_tree(tree: Any, source: str, limits: InputLimits = LIMITS, *,
               types: Mapping[str, Kind] | None = None,
               required: Mapping[str, tuple[str, ...]] | None = None,
               surrogates: bool = True) -> None:
    """Refuse a tree nested deeper than ``limits.depth`` or holding a lone surrogate
    (``surrogates``: it may; it cannot be written as UTF-8), with the JSON pointer.

    ``types`` names what fields must hold, wherever they are (``name``) or in the
    objects of one list (``list/name``); a number or date in a TEXT or ID field becomes
    its text (YAML reads ``version: 1.0`` as a number), one item of a list of one
    becomes the value (an XML element), one object where a list of objects belongs
    becomes a list of one. ``required`` names, per list, the fields each of its objects
    must have."""
    types = types or {}
    scoped = {k.split("/", 1)[0] for k in types if "/" in k}  # lists with fields of their own
    required = required or {}
    stack = [_At(tree, 0, None, "", "")]
    while stack:  # a place is made only for a container or an error: most values are text
        at = stack.pop()
        if at.depth > limits.depth:
            raise BadInput(f"document is nested more than {limits.depth} levels deep",
                           where=f"{source}, {at.pointer()}")
        node = at.node
        if isinstance(node, dict):
            items = node.items()
        elif isinstance(node, list):
            items = enumerate(node)
        else:  # (a document of one scalar)
            continue
        for key, value in items:
            if isinstance(key, str):
                if surrogates and _SURROGATE.search(key):
                    raise BadInput("a key holds a lone surrogate (\\ud800-\\udfff)",
                                   where=f"{source}, {_At(value, 0, at, key, key).pointer()}")
                kind = (at.name in scoped and types.get(f"{at.name}/{key}")) or types.get(key)
                if kind is not None:
                    value = node[key] = _checked(value, kind, source, at, key)
                if key in required:
                    _require(value, required[key], source, _At(value, at.depth + 1, at, key, key))
            if isinstance(value, dict | list):
                stack.append(_At(value, at.depth + 1, at, key,
                                 key if isinstance(key, str) else at.name))
            elif surrogates and isinstance(value, str) and _SURROGATE.search(value):
                raise BadInput("text holds a lone surrogate (\\ud800-\\udfff), which "
                               "cannot be written as UTF-8",
                               where=f"{source}, {_At(value, 0, at, key, '').pointer()}")


def identifier(value: str, where: str) -> str:
    """``value`` if it can name a node of ours (it is put into an IRI as it is)."""
    if not value or _NOT_IN_ID.search(value):
        raise BadInput(f"must be {Kind.ID.value}, not {_shown(value)}", where=where)
    return value


def _checked(value: Any, kind: Kind, source: str, parent: _At, key: str) -> Any:
    """``value`` (under ``key`` of ``parent``) as ``kind`` wants it, or BadInput at its
    pointer."""
    if value is None:
        return None
    if kind in (Kind.TEXT, Kind.ID):
        if isinstance(value, list) and len(value) == 1:
            value = value[0]
        if isinstance(value, int | float | date) and not isinstance(value, bool):
            value = str(value)
        if isinstance(value, str) and (kind is Kind.TEXT or not _NOT_IN_ID.search(value)):
            return value
    elif kind in (Kind.OBJECT, Kind.OBJECTS):  # (XML gives a list of one for an object)
        if isinstance(value, dict):
            return [value] if kind is Kind.OBJECTS else value
        if isinstance(value, list) and all(isinstance(v, dict) for v in value):
            return value
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):  # TEXTS
        return value
    at = _At(value, 0, parent, key, key)
    raise BadInput(f"must be {kind.value}, not {_shown(value)}", where=f"{source}, {at.pointer()}")


def _require(value: Any, fields: tuple[str, ...], source: str, at: _At) -> None:
    """Each object of the list ``value`` (at ``at``) has every field of ``fields``."""
    for index, item in enumerate(value if isinstance(value, list) else []):
        for name in fields:
            if isinstance(item, dict) and item.get(name) in (None, ""):
                place = _At(item, at.depth + 1, at, index, at.name)
                raise BadInput(f"required field {name!r} is missing",
                               where=f"{source}, {place.pointer()}")


def _shown(value: Any) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list" if value else "an empty list"
    return json.dumps(value, default=str)[:40]


# ------------------------------------------------------------------ XML

_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*?\bencoding\s*=\s*["']([^"']*)["']""")


def check_xml(data: bytes, source: str, limits: InputLimits = LIMITS) -> None:
    """Refuse XML that is not UTF-8, has a DOCTYPE (and so any entity: bombs, external
    entities), is nested deeper than ``limits.depth``, declares more namespaces than
    ``limits.xml_namespaces`` or is not well-formed.

    One pass of expat over the document; it stops at the first refusal, so a bomb or a
    million declarations cost nothing.
    """
    data = data.removeprefix(b"\xef\xbb\xbf")
    declared = _XML_ENCODING.match(data[:1024])
    if declared and declared.group(1).lower() not in (b"utf-8", b"utf8", b"us-ascii"):
        raise BadInput(f"XML in {declared.group(1).decode('ascii', 'replace')!r} is not "
                       "accepted; save it as UTF-8", where=f"{source}, line 1")
    decode_text(data, source)
    parser = expat.ParserCreate(encoding="utf-8", namespace_separator=" ")
    counts = {"depth": 0, "namespaces": 0}

    def here() -> str:
        return f"{source}, line {parser.CurrentLineNumber}, column " \
               f"{parser.CurrentColumnNumber + 1}"

    def refuse(*_: object) -> None:
        raise BadInput("XML DOCTYPE/ENTITY declarations are not accepted", where=here())

    def start(*_: object) -> None:
        counts["depth"] += 1
        if counts["depth"] > limits.depth:
            raise BadInput(f"XML is nested more than {limits.depth} levels deep",
                           where=here())

    def end(*_: object) -> None:
        counts["depth"] -= 1

    def namespace(*_: object) -> None:
        counts["namespaces"] += 1
        if counts["namespaces"] > limits.xml_namespaces:
            raise TooLarge(f"more than {limits.xml_namespaces} XML namespace declarations "
                           "(GRAPHSVC_MAX_XML_NAMESPACES)", where=here())

    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.StartNamespaceDeclHandler = namespace
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        raise BadInput(f"not well-formed XML: {expat.errors.messages[exc.code]}",
                       where=f"{source}, line {exc.lineno}, column {exc.offset + 1}") from exc


# ------------------------------------------------------------------ CSV


def csv_rows(data: bytes, source: str, limits: InputLimits = LIMITS
             ) -> Iterator[tuple[int, list[str]]]:
    """(line number, cells) of each row of a CSV file. The file is read through once
    first (the csv module's C speed): more than ``limits.rows`` rows or a cell longer
    than ``limits.cell_chars`` is refused before any row is used."""
    text = decode_text(data, source)
    if limits.cell_chars > csv.field_size_limit():  # (the csv module's limit is global)
        csv.field_size_limit(limits.cell_chars)
    for _ in _csv_rows(text, source, limits):
        pass
    yield from _csv_rows(text, source, limits)


def _csv_rows(text: str, source: str, limits: InputLimits) -> Iterator[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(text))
    try:
        for count, row in enumerate(reader, 1):
            where = f"{source}, line {reader.line_num}"
            if count > limits.rows:
                raise TooLarge(f"more than {limits.rows} rows (GRAPHSVC_MAX_INPUT_ROWS)",
                               where=where)
            for column, cell in enumerate(row, 1):
                if len(cell) > limits.cell_chars:
                    raise TooLarge(f"a cell of more than {limits.cell_chars} characters "
                                   "(GRAPHSVC_MAX_CELL_CHARS)", where=f"{where}, column {column}")
            yield reader.line_num, row
    except csv.Error as exc:
        where = f"{source}, line {reader.line_num}"
        if "field limit" in str(exc):
            raise TooLarge(f"a cell of more than {csv.field_size_limit()} characters "
                           "(GRAPHSVC_MAX_CELL_CHARS)", where=where) from exc
        raise BadInput(f"not valid CSV: {exc}", where=where) from exc
