"""Tables as an analyst used to Datasette expects them: labels linked to our pages
instead of IRIs, the question's own inputs said once above the table instead of on
every row, natural sort (ac-2 before ac-10), sortable columns, pages with row counts,
facets where a column takes few values, and the same rows as CSV and JSON.

Everything is driven by the query string, so it works without JavaScript:
``_sort=col``, ``_desc=1``, ``_page=N``, ``_size=N`` and ``col__exact=value`` (a facet),
as Datasette spells them; nothing else in it is read here.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlencode

from graphsvc.identity import notation
from graphsvc.namespaces import ID
from graphsvc.output import spreadsheet_cell
from graphsvc.search import natural_key

PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
FACETS = ("family", "category", "level", "status", "responsibility", "relation", "kind",
          "via", "valid", "inForce", "derived", "change", "severity", "rule", "programme",
          "holder", "source", "baseline", "framework")
MAX_FACET_VALUES = 30
OURS = str(ID)
_REQUIREMENT = re.compile(re.escape(OURS) + r"fw/[^/]+/([^/]+)$")
_ORDER_BY = re.compile(r"\bORDER\s+BY\b(.*)$", re.IGNORECASE | re.DOTALL)


@dataclass
class Cell:
    text: str
    href: str = ""
    title: str = ""  # the full IRI, when the text is its label


@dataclass
class Facet:
    column: str
    values: list[tuple[str, int, str, bool]]  # value, rows, link, selected


@dataclass
class Table:
    columns: list[str]
    rows: list[list[Cell]]
    total: int  # rows before filters
    matching: int  # rows after filters
    page: int
    pages: int
    size: int
    sort: str
    desc: bool
    facets: list[Facet] = field(default_factory=list)
    filters: list[tuple[str, str, str]] = field(default_factory=list)  # column, value, drop
    numeric: set[str] = field(default_factory=set)
    args: dict[str, str] = field(default_factory=dict)

    def link(self, **changes: object) -> str:
        """This table's query string with some arguments changed (None drops one)."""
        return "?" + urlencode(with_args(self.args, **changes))

    def sort_link(self, column: str) -> str:
        desc = self.sort == column and not self.desc
        return self.link(_sort=column, _desc="1" if desc else None, _page=None)


def with_args(args: Mapping[str, str], **changes: object) -> dict[str, str]:
    out = {k: v for k, v in args.items() if k not in changes}
    out.update({k: str(v) for k, v in changes.items() if v is not None})
    return out


def local_link(iri: str) -> str:
    """Our IRIs link to their page here; others are shown, not followed."""
    return "/id/" + iri[len(OURS):] if iri.startswith(OURS) else ""


def short_label(iri: str) -> str:
    """A label from the IRI alone: AC-2(1) for a requirement, else its last segment."""
    match = _REQUIREMENT.match(iri)
    if match:
        return notation(match.group(1))
    return iri.rstrip("/").rsplit("/", 1)[-1].rsplit("#", 1)[-1]


def order_columns(sparql: str, columns: list[str]) -> list[str]:
    """The columns the question orders by, when it orders by plain columns only (then the
    page sorts them naturally instead of as text); otherwise none."""
    match = _ORDER_BY.search(sparql)
    if not match:
        return []
    keys = match.group(1).split("#", 1)[0].split()
    names = [k[1:] for k in keys if k.startswith("?")]
    return names if len(names) == len(keys) and set(names) <= set(columns) else []


def sort_key(value: str) -> tuple:
    """Numbers as numbers, identifiers naturally, empty last."""
    if value == "":
        return (2,)
    try:
        return (0, float(value))
    except ValueError:
        return (1, natural_key(value))


def filtered(rows: list[dict[str, str]], args: Mapping[str, str]) -> list[dict[str, str]]:
    """The rows the facet filters (``col__exact=value``) keep."""
    wanted = {k[:-7]: v for k, v in args.items() if k.endswith("__exact")}
    return [r for r in rows if all(r.get(c) == v for c, v in wanted.items())]


def ordered(rows: list[dict[str, str]], args: Mapping[str, str], order: list[str]
            ) -> list[dict[str, str]]:
    """Sorted by ``_sort`` (``_desc=1`` reversed), else naturally by the question's order."""
    column = args.get("_sort", "")
    if rows and column in rows[0]:
        return sorted(rows, key=lambda r: sort_key(r[column]), reverse=args.get("_desc") == "1")
    if order:
        return sorted(rows, key=lambda r: tuple(sort_key(r[c]) for c in order))
    return rows


def build(rows: list[dict[str, str]], columns: list[str], args: Mapping[str, str], *,
          hidden: set[str] = frozenset(), order: list[str] = (),
          label: Callable[[str], str] = short_label) -> Table:
    """The page of ``rows`` the arguments ask for, with facets and links."""
    args = {k: v for k, v in args.items()}
    shown = [c for c in columns if c not in hidden and not _is_companion(c, columns)]
    kept = ordered(filtered(rows, args), args, list(order))
    size = bounded_int(args.get("_size"), PAGE_SIZE, 1, MAX_PAGE_SIZE)
    pages = max(1, -(-len(kept) // size))
    page = bounded_int(args.get("_page"), 1, 1, pages)
    table = Table(shown, [], len(rows), len(kept), page, pages, size, args.get("_sort", ""),
                  args.get("_desc") == "1", args=args)
    table.rows = [[_cell(c, r, columns, label) for c in shown]
                  for r in kept[(page - 1) * size: page * size]]
    table.numeric = {c for c in shown if rows and all(_number(r[c]) for r in rows if r[c])
                     and any(r[c] for r in rows)}
    table.facets = _facets(rows, kept, shown, args, table)
    table.filters = [(k[:-7], v, table.link(**{k: None, "_page": None}))
                     for k, v in args.items() if k.endswith("__exact")]
    return table


def bounded_int(raw: str | None, default: int, low: int, high: int) -> int:
    """A whole number from the query string, kept within bounds (else the default)."""
    return min(high, max(low, int(raw))) if raw and raw.isdigit() else default


def _number(text: str) -> bool:
    return bool(re.fullmatch(r"-?\d+(\.\d+)?", text))


def _is_companion(column: str, columns: list[str]) -> bool:
    """``xLabel`` beside ``x`` is shown as the text of x's link, not as a column."""
    return column.endswith("Label") and column[:-5] in columns


def _cell(column: str, row: dict[str, str], columns: list[str],
          label: Callable[[str], str]) -> Cell:
    value = row[column]
    href = local_link(value)
    if not href:
        return Cell(value)
    companion = row.get(column + "Label", "") if column + "Label" in columns else ""
    return Cell(companion or label(value), href, value)


def _facets(rows: list[dict[str, str]], kept: list[dict[str, str]], shown: list[str],
            args: dict[str, str], table: Table) -> list[Facet]:
    out = []
    for column in (c for c in FACETS if c in shown):
        counts = Counter(r[column] for r in kept)
        if not 1 < len(Counter(r[column] for r in rows)) <= MAX_FACET_VALUES:
            continue
        selected = args.get(column + "__exact")
        values = [(v, n, table.link(**{column + "__exact": None if v == selected else v,
                                       "_page": None}), v == selected)
                  for v, n in sorted(counts.items(), key=lambda kv: (-kv[1], sort_key(kv[0])))]
        out.append(Facet(column, values))
    return out


def export_csv(rows: list[dict[str, str]], columns: list[str]) -> str:
    """CSV for spreadsheets: no cell runs as a formula when opened."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    writer.writerows([spreadsheet_cell(r[c]) for c in columns] for r in rows)
    return buffer.getvalue()
