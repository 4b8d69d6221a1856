"""A generator of hostile input files, for the tests (tests/test_hostile_inputs.py) and
the probe (bench/probe_inputs.py). Nothing here is committed as a file: every input is
made from real documents of ../shared/data (cut down) or written here, each time.

Kinds of hostility: wrong types at every level of each format (every field of a real
document in turn gets a value of another type, or goes missing), broken bytes
(truncated, empty, BOMs, UTF-16, invalid UTF-8, NUL and control characters, lone
surrogates), sizes and shapes no real file has (nesting 5k-100k deep, 5,000-digit
numbers, 15 MB literals, 200k XML namespace declarations, a CSV field over csv's own
limit, a million rows, a 20 MB spreadsheet cell), things that would make us fetch or
expand (entities, remote JSON-LD contexts, YAML aliases) and zip bombs.
"""

from __future__ import annotations

import copy
import io
import json
import random
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from rdflib import Graph

from tests.helpers import control_set_turtle


@dataclass(frozen=True)
class Hostile:
    """One hostile file: its name (the suffix picks the parser), bytes, which command
    takes it (``oscal``: import oscal; ``rdf``: load; ``crosswalk``: import crosswalk;
    all go to validate and the HTTP uploads too) and what is wrong with it."""

    name: str
    data: bytes
    kind: str
    what: str
    broken: str = ""  # bytes broken the same way in every format: "kind.suffix document"


# values of every JSON type, put where another type belongs
WRONG: tuple[Any, ...] = (None, 0, -1, 1.5, True, "", "x", [], [None], {}, {"x": 1}, [[[]]],
                          10**30, [{"x": [1]}], "\u0000", False)

OSCAL_BASES = (  # (file under ../shared/data, name) -- small real documents of each model
    ("oscal-examples/basic-catalog.json", "catalog.json"),
    ("oscal-examples/basic-catalog.yaml", "catalog.yaml"),
    ("nist-800-53-rev5/NIST_SP-800-53_rev5_LOW-baseline_profile.json", "profile.json"),
    ("oscal-examples/ssp-example.json", "ssp.json"),
    ("oscal-examples/oscal_leveraging-example_ssp.json", "leveraging-ssp.json"),
    ("oscal-examples/example-component-definition.json", "component-definition.json"),
    ("oscal-examples/ifa_assessment-results-example.json", "assessment-results.json"),
    ("oscal-examples/ifa_assessment-plan-example.json", "assessment-plan.json"),
    ("oscal-mappings/NIST_CSF_v2.0-to-NIST_SP-800-53_rev5.mapping-collection.json",
     "mapping-collection.json"),
)
XML_BASES = (
    ("oscal-examples/basic-catalog.xml", "catalog.xml"),
    ("oscal-examples/oscal_leveraging-example_ssp.xml", "ssp.xml"),
    ("nist-800-53-rev5/xml/NIST_SP-800-53_rev5_MODERATE-baseline_profile.xml", "profile.xml"),
)
CROSSWALK_TREES = (
    ("ciso-library/mapping-iso27001-2013-to-iso27001-2022.yaml", "ciso-mapping.yaml"),
    ("ciso-library/iso27001-2013.yaml", "ciso-framework.yaml"),
    ("aws/prowler/compliance/cisa_aws.json", "prowler.json"),
    ("fedramp-20x/FRMR.documentation.json", "frmr.json"),
)
CSV_BASES = (
    ("oscal-mappings/csf2_to_800-53_crosswalk.csv", "trestle.csv"),
    ("aws/securityhub/securityhub_control_to_nist80053r5.csv", "securityhub.csv"),
    ("aws/services-in-scope/aws_services_compliance_status_2022-07-15.csv", "services.csv"),
)
WORKBOOK = "oscal-mappings/sp800-53r5-to-iso-27001-mapping.xlsx"
FEDRAMP_LOW = "https://w3id.org/graphsvc/id/baseline/fedramp-rev5-low"


def corpus(shared: Path, *, per_base: int = 14) -> list[Hostile]:
    """The hostile files of a few kilobytes each, in a fixed order (the same run after
    run). ``per_base`` bounds the wrong-type variants of each real document."""
    rng = random.Random(12)
    files: list[Hostile] = []
    for path, name in OSCAL_BASES:
        tree = _cut(_read_tree(shared / path))
        files += _tree_variants(tree, name, "oscal", rng, per_base)
    for path, name in CROSSWALK_TREES:
        tree = _cut(_read_tree(shared / path))
        files += _tree_variants(tree, name, "crosswalk", rng, per_base // 2)
    for path, name in XML_BASES:
        files += _xml_variants((shared / path).read_bytes(), name, "oscal", rng)
    for path, name in CSV_BASES:
        files += _csv_variants((shared / path).read_bytes(), name)
    files += _rdf_variants()
    files += _workbook_variants((shared / WORKBOOK).read_bytes())
    files += _specials()
    names = [f.name for f in files]
    assert len(names) == len(set(names)), "hostile file names must be distinct"
    return files


# ------------------------------------------------------------------ trees (JSON, YAML)


def _read_tree(path: Path) -> Any:
    data = path.read_bytes()
    return yaml.safe_load(data) if path.suffix == ".yaml" else json.loads(data)


def _cut(tree: Any, keep: int = 2) -> Any:
    """The document with every list cut to its first ``keep`` items: the same structure,
    a fraction of the size."""
    if isinstance(tree, dict):
        return {k: _cut(v, keep) for k, v in tree.items()}
    if isinstance(tree, list):
        return [_cut(v, keep) for v in tree[:keep]]
    return tree


def _paths(tree: Any) -> list[tuple[Any, ...]]:
    """Every place in the tree (dict keys, and the first item of lists), outermost first."""
    out: list[tuple[Any, ...]] = []
    stack: list[tuple[tuple[Any, ...], Any]] = [((), tree)]
    while stack:
        path, node = stack.pop()
        items = node.items() if isinstance(node, dict) else (
            enumerate(node[:1]) if isinstance(node, list) else ())
        for key, value in items:
            out.append((*path, key))
            stack.append(((*path, key), value))
    return sorted(out, key=len)


def _set(tree: Any, path: tuple[Any, ...], value: Any, *, delete: bool = False) -> Any:
    changed = copy.deepcopy(tree)
    node = changed
    for key in path[:-1]:
        node = node[key]
    if delete and isinstance(node, dict):
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return changed


def _dump(tree: Any, suffix: str) -> bytes:
    if suffix == ".yaml":
        return yaml.safe_dump(tree, allow_unicode=True, sort_keys=False).encode()
    return json.dumps(tree, ensure_ascii=False).encode()


def _tree_variants(tree: Any, name: str, kind: str, rng: random.Random, count: int
                   ) -> list[Hostile]:
    """Wrong types and missing fields spread over every depth of the document, then the
    document's bytes broken in every way that does not depend on its format."""
    stem, suffix = name.rsplit(".", 1)
    suffix = "." + suffix
    paths = _paths(tree)
    chosen = [paths[round(i * (len(paths) - 1) / max(count - 1, 1))] for i in range(count)]
    out = []
    for i, path in enumerate(chosen):
        wrong = WRONG[(i * 5 + len(path)) % len(WRONG)]
        pointer = "/" + "/".join(map(str, path))
        out.append(Hostile(f"{stem}-type{i}{suffix}", _dump(_set(tree, path, wrong), suffix),
                           kind, f"{pointer} is {json.dumps(wrong)}"))
    for i, path in enumerate(rng.sample(paths, min(len(paths), max(count // 3, 2)))):
        pointer = "/" + "/".join(map(str, path))
        if isinstance(path[-1], str):
            out.append(Hostile(f"{stem}-missing{i}{suffix}",
                               _dump(_set(tree, path, None, delete=True), suffix), kind,
                               f"{pointer} is missing"))
    good = _dump(tree, suffix)
    out += _broken_bytes(good, stem, suffix, kind)
    if suffix == ".json":
        out.append(Hostile(f"{stem}-surrogate{suffix}", _json_text_with(tree, "\\ud800"), kind,
                           'a lone surrogate "\\ud800" in a string'))
        out.append(Hostile(f"{stem}-duplicate-keys{suffix}",
                           b'{"' + next(iter(tree)).encode() + b'": {}, ' + good[1:], kind,
                           "the top key twice (the first an empty object)"))
        out.append(Hostile(f"{stem}-bignum{suffix}", _json_text_with(tree, "1" * 5000,
                                                                     quoted=False),
                           kind, "a 5,000-digit number where a string belongs"))
    return out


def _json_text_with(tree: Any, raw: str, *, quoted: bool = True) -> bytes:
    """The document with its first string value replaced by ``raw`` written as is."""
    marker = "@@HOSTILE@@"
    path = next(p for p in _paths(tree) if isinstance(_get(tree, p), str))
    text = json.dumps(_set(tree, path, marker))
    return text.replace(f'"{marker}"', f'"{raw}"' if quoted else raw).encode()


def _get(tree: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        tree = tree[key]
    return tree


def _broken_bytes(good: bytes, stem: str, suffix: str, kind: str) -> list[Hostile]:
    """What a disk, an editor or an attacker does to any file."""
    half = len(good) // 2
    text = good.decode("utf-8", errors="replace")  # (a workbook is not text: still broken)
    return [Hostile(f"{stem}-{label}{suffix}", data, kind, what, broken=f"{kind}{suffix} {stem}")
            for label, data, what in (
        ("empty", b"", "empty file"),
        ("blank", b" \n\t\r\n", "only whitespace"),
        ("bom-only", b"\xef\xbb\xbf", "only a UTF-8 byte order mark"),
        ("bom", b"\xef\xbb\xbf" + good, "UTF-8 byte order mark, then the document"),
        ("utf16", text.encode("utf-16"), "UTF-16 with a byte order mark"),
        ("utf32be", text.encode("utf-32-be"), "UTF-32 big-endian, no mark"),
        ("truncated", good[:half], "cut in the middle"),
        ("truncated-end", good[:-1], "last byte missing"),
        ("invalid-utf8", good[:half] + b"\xff\xfe\xc0\xaf" + good[half:],
         "invalid UTF-8 bytes in the middle"),
        ("nul", good[:half] + b"\x00" * 4 + good[half:], "NUL bytes in the middle"),
        ("control", good.replace(b"a", b"a\x01\x08\x1b", 3), "control characters in text"),
        ("crlf-mixed", good.replace(b"\n", b"\r").replace(b",", b",\r\n", 5), "CR line ends"),
        ("garbage", bytes(random.Random(len(good)).randrange(256) for _ in range(4096)),
         "4 KB of random bytes"),
    )]


# ------------------------------------------------------------------ XML


def _xml_variants(good: bytes, name: str, kind: str, rng: random.Random) -> list[Hostile]:
    import xml.etree.ElementTree as ET

    stem = name.rsplit(".", 1)[0]
    out = _broken_bytes(good, stem, ".xml", kind)
    root = ET.fromstring(good)
    elements = list(root.iter())
    picks = [elements[round(i * (len(elements) - 1) / 9)] for i in range(10)]
    for i, element in enumerate(picks):
        tree = ET.fromstring(good)
        target = list(tree.iter())[elements.index(element)]
        if i % 3 == 0:  # text where elements belong, elements where text belongs
            target.clear()
            target.text = "unexpected text"
            what = f"<{_local(target.tag)}> emptied to text"
        elif i % 3 == 1:
            target.attrib.clear()
            ET.SubElement(target, "unexpected").text = "x"
            what = f"<{_local(target.tag)}> without attributes, with an unknown child"
        else:
            for child in list(target)[: len(target) // 2 + 1]:
                target.remove(child)
            target.set("id", "")
            what = f"<{_local(target.tag)}> with children removed and an empty id"
        out.append(Hostile(f"{stem}-shape{i}.xml", ET.tostring(tree), kind, what))
    declaration = b'<?xml version="1.0" encoding="%s"?>\n'
    body = good.split(b"?>", 1)[1] if good.startswith(b"<?xml") else good
    out += [
        Hostile(f"{stem}-unknown-encoding.xml", declaration % b"x-klingon" + body, kind,
                "an encoding no one knows"),
        Hostile(f"{stem}-wrong-encoding.xml", declaration % b"UTF-16" + body, kind,
                "declared UTF-16, written in UTF-8"),
        Hostile(f"{stem}-ebcdic.xml", declaration % b"cp500" + body, kind,
                "declared EBCDIC"),
        Hostile(f"{stem}-bom-unknown-encoding.xml", b"\xef\xbb\xbf" + declaration % b"x-klingon"
                + body, kind, "a byte order mark, then an encoding no one knows"),
    ]
    return out


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


# ------------------------------------------------------------------ CSV


def _csv_variants(good: bytes, name: str) -> list[Hostile]:
    stem = name.rsplit(".", 1)[0]
    lines = good.splitlines(keepends=True)
    head, rows = lines[0], b"".join(lines[1:30])
    good = head + rows
    header = head.decode().rstrip("\r\n").split(",")
    row = lines[3].decode().rstrip("\r\n").split(",") if len(lines) > 3 else header
    out = _broken_bytes(good, stem, ".csv", "crosswalk")

    def with_row(cells: list[str]) -> bytes:
        return good + (",".join(cells) + "\n").encode()

    out += [Hostile(f"{stem}-{label}.csv", data, "crosswalk", what) for label, data, what in (
        ("header-only", head, "the header and no rows"),
        ("long-field", with_row([*row[:-1], "x" * 140_000]),
         "a field of 140,000 characters (csv's own limit is 131,072)"),
        ("long-quoted", with_row([*row[:-1], '"' + "y" * 140_000 + '"']),
         "a quoted field of 140,000 characters"),
        ("unclosed-quote", good + b'"never closed,' + b"z" * 100, "a quote never closed"),
        ("wide", with_row(["w"] * 20_000), "a row of 20,000 cells"),
        ("ragged", good + b"a\n" + b",".join([b"b"] * 40) + b"\n", "rows of 1 and 40 cells"),
        ("latin1", good + ",".join(row).encode().replace(b"a", b"\xe9") + b"\n",
         "Latin-1 bytes"),
        ("formula", with_row(["=cmd|' /C calc'!A0"] * len(row)), "formulas in every cell"),
        ("bignum", with_row([*row[:-1], "9" * 5000]), "a 5,000-digit number"),
        ("no-header", rows, "rows without the header"),
        ("other-header", b"a,b,c\n1,2,3\n", "a header of no known table"),
        ("surrogate", good + b"\xed\xa0\x80,x\n", "a surrogate encoded as UTF-8 bytes"),
    )]
    return out


# ------------------------------------------------------------------ RDF


def _control_set() -> Graph:
    members = ["ac-1", "ac-2", "au-2"]
    return Graph().parse(data=control_set_turtle(members, FEDRAMP_LOW, "2025-06-30"),
                         format="turtle")


def _rdf_variants() -> list[Hostile]:
    graph = _control_set()
    bases = {
        ".ttl": graph.serialize(format="turtle").encode(),
        ".nt": graph.serialize(format="nt").encode(),
        ".jsonld": graph.serialize(format="json-ld").encode(),
        ".rdf": graph.serialize(format="xml").encode(),
        ".trig": graph.serialize(format="trig").encode(),
    }
    out = []
    for suffix, good in bases.items():
        out += _broken_bytes(good, "control-set" + suffix.replace(".", "-"), suffix, "rdf")
    ttl_prefix = b"@prefix ex: <https://example.org/> .\n"
    out += [Hostile(name, data, "rdf", what) for name, data, what in (
        ("surrogate-escape.ttl", ttl_prefix + b'ex:a ex:b "\\uD800" .\n',
         "a surrogate written as a \\u escape"),
        ("surrogate-escape.nt", b'<https://e.org/a> <https://e.org/b> "\\uDFFF" .\n',
         "a surrogate written as a \\u escape"),
        ("bad-iri.nt", b"<not an iri> <https://e.org/b> <https://e.org/c> .\n",
         "an IRI with spaces"),
        ("relative.ttl", b"<a> <b> <c> .\n", "relative IRIs and no base"),
        ("file-base.ttl", b"@base <file:///etc/> .\n<passwd> <https://e.org/p> 1 .\n",
         "a file: base IRI"),
        ("bignum.ttl", ttl_prefix + b"ex:a ex:b " + b"7" * 5000 + b" .\n",
         "a 5,000-digit integer"),
        ("bigfloat.ttl", ttl_prefix + b"ex:a ex:b 1e99999 .\n", "a float beyond double"),
        ("star.ttl", ttl_prefix + b"<< ex:a ex:b ex:c >> ex:d ex:e .\n", "RDF-star"),
        ("deep-bnodes.ttl", ttl_prefix + b"ex:a ex:b " + b"[ ex:b " * 5000 + b"1" +
         b" ]" * 5000 + b" .\n", "blank nodes nested 5,000 deep"),
        ("deep-lists.ttl", ttl_prefix + b"ex:a ex:b " + b"( " * 5000 + b")" * 5000 + b" .\n",
         "collections nested 5,000 deep"),
        ("staging-graph.trig", b"<urn:graphsvc:staging:x> { <https://e.org/a> "
         b"<https://e.org/b> <https://e.org/c> . }\n", "writes into a staging graph"),
        ("index-graph.trig", b"<https://w3id.org/graphsvc/graph/derived/frameworks> { "
         b"<https://e.org/a> <https://e.org/b> <https://e.org/c> . }\n",
         "writes into the derived framework index"),
        ("nquads-many-graphs.nq", b"".join(
            b"<https://e.org/s> <https://e.org/p> <https://e.org/o> <https://e.org/g%d> .\n"
            % i for i in range(3000)), "3,000 graphs in one file"),
        ("lang-tag.ttl", ttl_prefix + b'ex:a ex:b "x"@' + b"a" * 300 + b" .\n",
         "a 300-character language tag"),
        ("control-char-iri.nt", b"<https://e.org/a\x01> <https://e.org/b> <https://e.org/c> .\n",
         "a control character in an IRI"),
    )]
    jsonld = json.loads(bases[".jsonld"])
    out += [Hostile(name, json.dumps(doc).encode(), "rdf", what) for name, doc, what in (
        ("remote-context.jsonld", {"@context": "https://example.org/ctx", "@id": "x"},
         "a remote context"),
        ("import-context.jsonld", {"@context": {"@import": "https://example.org/c"}},
         "@import of a remote context"),
        ("nested-remote.jsonld", {"@graph": [{"@context": ["https://e.org/c"], "@id": "y"}]},
         "a remote context deep inside"),
        ("plain.jsonld", {"a": 1}, "JSON that is not JSON-LD"),
        ("list-top.jsonld", [1, 2, 3], "a top-level list of numbers"),
        ("number.jsonld", 42, "a bare number"),
        ("graph-type.jsonld", {"@graph": {"@id": 5}}, "an @id that is a number"),
        ("context-type.jsonld", {"@context": 7, "@id": "x"}, "a context that is a number"),
        ("json-literal.jsonld", {"@context": {"p": {"@id": "https://e.org/p", "@type": "@json"}},
                                 "@id": "https://e.org/s", "p": {"deep": [[[{"a": None}]]]}},
         "an @json literal"),
        ("jsonld-cut.jsonld", jsonld[:1] if isinstance(jsonld, list) else jsonld,
         "the first node only"),
    )]
    out.append(Hostile("duplicate-context.jsonld",
                       b'{"@context": "http://127.0.0.1:9/ctx", "@context": {}, "@id": "x"}',
                       "rdf", "@context twice: remote first, inline second"))
    return out


# ------------------------------------------------------------------ xlsx


def _zip(members: dict[str, bytes], *, padding: tuple[str, int] | None = None,
         lie: int | None = None) -> bytes:
    """A zip of ``members``; ``padding`` = (member, n) puts n spaces before that member's
    last 20 bytes, written in chunks (a bomb costs no memory to make); ``lie`` gives the
    padded member a false uncompressed size."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name, data in members.items():
            if padding is None or padding[0] != name:
                archive.writestr(name, data)
                continue
            with archive.open(name, "w", force_zip64=True) as member:
                member.write(data[:-20])
                for _ in range(padding[1] // 1_000_000):
                    member.write(b" " * 1_000_000)
                member.write(data[-20:])
    if lie is None:
        return buffer.getvalue()
    archive = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
    info = archive.getinfo(padding[0] if padding else "")
    real = info.file_size
    data = buffer.getvalue()
    for width in (8, 4):  # zip64 extra fields hold 8 bytes, the plain header 4
        data = data.replace(real.to_bytes(width, "little"), lie.to_bytes(width, "little"))
    return data


def _workbook_members(sheet_xml: bytes, strings: bytes | None = None) -> dict[str, bytes]:
    ct = (b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
          b'content-types"><Default Extension="xml" ContentType="application/xml"/>'
          b'<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
          b'officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/'
          b'sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.'
          b'spreadsheetml.worksheet+xml"/></Types>')
    rels = (b'<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/'
            b'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.'
            b'openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
            b'Target="xl/workbook.xml"/></Relationships>')
    workbook = (b'<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/'
                b'spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/'
                b'officeDocument/2006/relationships"><sheets><sheet name="Sheet1" sheetId="1" '
                b'r:id="rId1"/></sheets></workbook>')
    workbook_rels = (b'<?xml version="1.0"?><Relationships xmlns="http://schemas.'
                     b'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" '
                     b'Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                     b'relationships/worksheet" Target="worksheets/sheet1.xml"/>'
                     + (b'<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/'
                        b'officeDocument/2006/relationships/sharedStrings" '
                        b'Target="sharedStrings.xml"/>' if strings is not None else b"")
                     + b"</Relationships>")
    members = {"[Content_Types].xml": ct, "_rels/.rels": rels, "xl/workbook.xml": workbook,
               "xl/_rels/workbook.xml.rels": workbook_rels, "xl/worksheets/sheet1.xml": sheet_xml}
    if strings is not None:
        members["xl/sharedStrings.xml"] = strings
    return members


SHEET = (b'<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/'
         b'spreadsheetml/2006/main">%s<sheetData>%s</sheetData></worksheet>')


def _row(number: int, *cells: str) -> bytes:
    return b'<row r="%d">' % number + b"".join(
        b'<c r="%s%d" t="inlineStr"><is><t>%s</t></is></c>' % (col.encode(), number, v.encode())
        for col, v in zip("ABCDEFGH", cells, strict=False)) + b"</row>"


def _workbook_variants(real: bytes) -> list[Hostile]:
    rows = b"".join(_row(n, "AC-1", "Policy", "5.1, A.5.1*") for n in range(3, 8))
    good = _zip(_workbook_members(SHEET % (b"", rows)))
    out = _broken_bytes(real, "workbook-real", ".xlsx", "crosswalk")
    out += [Hostile("workbook-truncated.xlsx", good[: len(good) // 2], "crosswalk",
                    "a generated workbook cut in the middle"),
            Hostile("workbook-no-end.xlsx", good[:-22], "crosswalk",
                    "no end of central directory")]
    members = _workbook_members(SHEET % (b"", rows))
    out += [Hostile(name, data, "crosswalk", what) for name, data, what in (
        ("zip-empty.xlsx", _zip({}), "an empty zip"),
        ("zip-no-workbook.xlsx", _zip({"a.txt": b"x"}), "a zip without a workbook"),
        ("doctype.xlsx", _zip({**members, "xl/workbook.xml": b'<?xml version="1.0"?>'
                               b'<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">]>'
                               + members["xl/workbook.xml"][21:]}),
         "a DOCTYPE with an entity in the workbook part"),
        ("doctype-sheet.xlsx", _zip({**members, "xl/worksheets/sheet1.xml":
                                     b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]>'
                                     + (SHEET % (b"", rows))[21:]}),
         "a DOCTYPE in the sheet"),
        ("huge-dimension.xlsx", _zip(_workbook_members(SHEET % (
            b'<dimension ref="A1:XFD1048576"/>', rows + _row(1048576, "AC-2", "x", "1")))),
         "a sheet that says it spans A1:XFD1048576"),
        ("far-cell.xlsx", _zip(_workbook_members(SHEET % (
            b"", rows + b'<row r="9"><c r="XFD9" t="inlineStr"><is><t>x</t></is></c></row>'))),
         "a cell in the last column"),
        ("bad-cell-ref.xlsx", _zip(_workbook_members(SHEET % (
            b"", b'<row r="3"><c r="!!" t="n"><v>1</v></c></row>'))), "a cell named '!!'"),
        ("bad-number.xlsx", _zip(_workbook_members(SHEET % (
            b"", b'<row r="3"><c r="A3" t="n"><v>not a number</v></c></row>'))),
         "a number cell holding text"),
        ("bad-string-index.xlsx", _zip(_workbook_members(SHEET % (
            b"", b'<row r="3"><c r="A3" t="s"><v>99</v></c></row>'), b'<?xml version="1.0"?>'
            b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            b'count="1"><si><t>only</t></si></sst>')), "a shared string that does not exist"),
        ("many-rows-declared.xlsx", _zip(_workbook_members(SHEET % (
            b"", b"".join(b'<row r="%d"/>' % n for n in range(1, 200_001))))),
         "200,000 empty rows"),
    )]
    return out


# ------------------------------------------------------------------ one of a kind


def _deep(open_: bytes, close: bytes, depth: int, middle: bytes = b"1") -> bytes:
    return open_ * depth + middle + close * depth


def _specials() -> list[Hostile]:
    entity_bomb = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
                   + b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1)) * 10
                                                         if i else b"&lol;" * 10)
                              for i in range(9))
                   + b']><catalog xmlns="http://csrc.nist.gov/ns/oscal/1.0">&lol8;</catalog>')
    xxe = (b'<?xml version="1.0"?><!DOCTYPE c [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
           b'<catalog xmlns="http://csrc.nist.gov/ns/oscal/1.0"><metadata><title>&x;</title>'
           b"</metadata></catalog>")
    ox = b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">%s</rdf:RDF>'
    files = [
        ("deep-array.json", _deep(b"[", b"]", 100_000), "oscal", "arrays nested 100,000 deep"),
        ("deep-object.json", _deep(b'{"a":', b"}", 100_000), "oscal",
         "objects nested 100,000 deep"),
        ("deep-2000.json", b'{"catalog":' + _deep(b'{"groups":[', b"]}", 1000, b"{}") + b"}",
         "oscal", "a catalog with groups nested 1,000 deep"),
        ("deep.yaml", _deep(b"[", b"]", 100_000), "oscal", "YAML flow lists 100,000 deep"),
        ("deep-block.yaml", b"".join(b"  " * i + b"a:\n" for i in range(3000)), "oscal",
         "YAML block mappings 3,000 deep"),
        ("deep.xml", _deep(b"<a>", b"</a>", 100_000, b""), "oscal", "XML nested 100,000 deep"),
        ("deep-oscal.xml", b'<catalog xmlns="http://csrc.nist.gov/ns/oscal/1.0">'
         + _deep(b"<group>", b"</group>", 20_000, b"") + b"</catalog>", "oscal",
         "an OSCAL catalog with groups 20,000 deep"),
        ("deep-rdf.rdf", ox % _deep(b"<rdf:Description><rdf:value>", b"</rdf:value>"
                                    b"</rdf:Description>", 20_000, b""), "rdf",
         "RDF/XML nested 40,000 deep"),
        ("deep-5k.jsonld", b'{"@context":{"p":"https://e.org/p"},"@id":"https://e.org/s","p":'
         + _deep(b'{"p":', b"}", 5000) + b"}", "rdf", "JSON-LD nested 5,000 deep"),
        ("deep-100k.jsonld", b'{"@context":{"p":"https://e.org/p"},"@id":"https://e.org/s",'
         b'"p":' + _deep(b'{"p":', b"}", 100_000) + b"}", "rdf", "JSON-LD nested 100,000 deep"),
        ("deep-list.jsonld", b'{"@context":{"p":{"@id":"https://e.org/p","@container":"@list"}},'
         b'"@id":"https://e.org/s","p":' + _deep(b"[", b"]", 5000) + b"}", "rdf",
         "JSON-LD lists of lists 5,000 deep"),
        ("bignum.jsonld", b'{"@context":{"p":"https://e.org/p"},"@id":"https://e.org/s","p":'
         + b"9" * 5000 + b"}", "rdf", "a 5,000-digit number"),
        ("bigfloat.jsonld", b'{"@context":{"p":"https://e.org/p"},"@id":"https://e.org/s","p":'
         b"1" + b"0" * 400 + b".5e400}", "rdf", "a float past double"),
        ("nan.json", b'{"catalog": {"uuid": NaN, "metadata": {"title": Infinity}}}', "oscal",
         "NaN and Infinity"),
        ("bignum.yaml", b"catalog:\n  uuid: " + b"8" * 5000 + b"\n", "oscal",
         "a 5,000-digit YAML integer"),
        ("bad-timestamp.yaml", b"catalog:\n  metadata:\n    published: !!timestamp 2020-13-45\n",
         "oscal", "a timestamp that is no date"),
        ("python-tag.yaml", b"catalog: !!python/object/apply:os.system ['true']\n", "oscal",
         "a Python object tag"),
        ("binary.yaml", b"catalog: !!binary '@@@'\n", "oscal", "bad base64 in !!binary"),
        ("alias-bomb.yaml", b"a: &a ['x','x','x','x','x','x','x','x','x']\n" + b"".join(
            b"%s: &%s [%s]\n" % ((b"b%d" % i,) * 2 + (b",".join([b"*" + (
                b"b%d" % (i - 1) if i else b"a")] * 9),)) for i in range(9)), "oscal",
         "a YAML alias bomb (billions of nodes)"),
        ("multi-doc.yaml", b"catalog: {}\n---\ncatalog: {}\n", "oscal", "two YAML documents"),
        ("set.yaml", b"catalog: !!set {a, b}\n", "oscal", "a YAML set"),
        ("yes-no.yaml", b"catalog:\n  uuid: yes\n  metadata:\n    title: no\n    version: 1.0\n"
         b"    last-modified: 2020-01-01\n", "oscal", "YAML 1.1 booleans and dates for strings"),
        ("tab-indent.yaml", b"catalog:\n\tuuid: x\n", "oscal", "a tab in the indentation"),
        ("entity-bomb.xml", entity_bomb, "oscal", "billion laughs"),
        ("xxe.xml", xxe, "oscal", "an external entity naming /etc/passwd"),
        ("xxe.rdf", xxe.replace(b"catalog", b"rdf:RDF"), "rdf", "an external entity"),
        ("external-dtd.xml", b'<?xml version="1.0"?><!DOCTYPE c SYSTEM "http://127.0.0.1:9/x.dtd">'
         b'<catalog xmlns="http://csrc.nist.gov/ns/oscal/1.0"/>', "oscal", "an external DTD"),
        ("wrong-root.xml", b"<html><body>hi</body></html>", "oscal", "not OSCAL"),
        ("pi-only.xml", b'<?xml version="1.0"?><?xml-stylesheet href="http://127.0.0.1:9/x"?>',
         "oscal", "a stylesheet instruction and no element"),
        ("many-attributes.xml", b'<catalog xmlns="http://csrc.nist.gov/ns/oscal/1.0" '
         + b" ".join(b'a%d="x"' % i for i in range(50_000)) + b"/>", "oscal",
         "50,000 attributes on one element"),
        ("many-xmlns.rdf", ox.replace(b"<rdf:RDF ", b"<rdf:RDF " + b" ".join(
            b'xmlns:n%d="https://e.org/%d#"' % (i, i) for i in range(40_000)) + b" ") % b"",
         "rdf", "40,000 namespace declarations"),
        ("many-xmlns-nested.rdf", ox % b"".join(
            b'<rdf:Description xmlns:m%d="https://e.org/%d#" rdf:about="https://e.org/s">'
            b"</rdf:Description>" % (i, i) for i in range(40_000)), "rdf",
         "40,000 elements, each declaring a namespace"),
        ("unknown-encoding.rdf", b'<?xml version="1.0" encoding="x-klingon"?>' + ox % b"",
         "rdf", "an encoding no one knows"),
        ("big-attribute.xml", b'<catalog xmlns="http://csrc.nist.gov/ns/oscal/1.0" uuid="'
         + b"u" * 5_000_000 + b'"/>', "oscal", "a 5 MB attribute"),
        ("top-list.json", b"[]", "oscal", "a list at the top"),
        ("top-null.json", b"null", "oscal", "null at the top"),
        ("top-string.json", b'"catalog"', "oscal", "a string at the top"),
        ("two-models.json", b'{"catalog": {}, "profile": {}}', "oscal", "two models"),
        ("empty-catalog.json", b'{"catalog": {}}', "oscal", "a catalog with nothing in it"),
        ("catalog-list.json", b'{"catalog": []}', "oscal", "a catalog that is a list"),
        ("comments.json", b'// a comment\n{"catalog": {}}', "oscal", "a JavaScript comment"),
        ("trailing.json", b'{"catalog": {}} trailing', "oscal", "text after the document"),
        ("unknown-model.json", b'{"plan-of-action-and-milestones": {"uuid": "x"}}', "oscal",
         "a model we do not import"),
        ("unknown-suffix.docx", b"PK\x03\x04", "oscal", "a file type no one takes"),
        ("no-suffix", b'{"catalog": {}}', "oscal", "no file name suffix"),
        ("prowler-requirements-dict.json", b'{"Framework": "x", "Requirements": {"Id": 1}}',
         "crosswalk", "Prowler requirements as an object"),
        ("prowler-checks-string.json", b'{"Framework": "NIST-800-53-Revision-5", "Name": "x", '
         b'"Requirements": [{"Id": "a", "Name": "AC-2", "Checks": "iam_x"}]}', "crosswalk",
         "Prowler checks as one string"),
        ("prowler-id-object.json", b'{"Framework": "x", "Requirements": [{"Id": {"a": 1}}]}',
         "crosswalk", "a Prowler requirement id that is an object"),
        ("ciso-objects-list.yaml", b"urn: x\nobjects: [1, 2]\n", "crosswalk",
         "CISO objects as a list"),
        ("ciso-nodes-string.yaml", b"urn: x\nobjects:\n  framework:\n    urn: a:b\n"
         b"    requirement_nodes: nodes\n", "crosswalk", "requirement nodes as a string"),
        ("ciso-mappings-number.yaml", b"urn: x\nobjects:\n  requirement_mapping_sets:\n"
         b"  - name: m\n    requirement_mappings: 5\n", "crosswalk", "mappings as a number"),
    ]
    return [Hostile(name, data, kind, what) for name, data, kind, what in files]


def heavy_corpus(shared: Path) -> list[Hostile]:
    """The multi-megabyte ones, and those that take seconds to make (a zip bomb is
    compressed): each under the web's 16 MiB body limit where it should reach the parser
    over HTTP too."""
    ssp = (shared / "oscal-examples/ssp-example.json").read_bytes()
    ox = b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"%s/>'
    rows = b"".join(_row(n, "AC-1", "Policy", "5.1, A.5.1*") for n in range(3, 8))
    members = _workbook_members(SHEET % (b"", rows))
    return [Hostile(name, data, kind, what) for name, data, kind, what in (
        ("zip-bomb.xlsx", _zip(members, padding=("xl/worksheets/sheet1.xml", 300_000_000)),
         "crosswalk", "300 MB of spaces packed into a sheet"),
        ("zip-bomb-liar.xlsx", _zip(members, padding=("xl/worksheets/sheet1.xml", 50_000_000),
                                    lie=1000),
         "crosswalk", "a sheet of 50 MB whose zip entry says 1,000 bytes"),
        ("xmlns-200k.rdf", ox % b"".join(b' xmlns:n%d="https://e.org/%d#"' % (i, i)
                                          for i in range(200_000)),
         "rdf", "200,000 namespace declarations on one element"),
        ("literal-15mb.jsonld", b'{"@context":{"p":"https://e.org/p"},"@id":"https://e.org/s",'
         b'"p":"' + b"a" * 15_000_000 + b'"}', "rdf", "a 15 MB literal"),
        ("literal-15mb.ttl", b'<https://e.org/s> <https://e.org/p> "' + b"b" * 15_000_000
         + b'" .\n', "rdf", "a 15 MB literal"),
        ("rows-1m.csv", b"source_framework,source_id,target_framework,target_id,relationship\n"
         + b"".join(b"a,x-%d,b,y-%d,equal\n" % (i, i) for i in range(1_000_000)), "crosswalk",
         "a million rows"),
        ("cell-20mb.xlsx", _zip(_workbook_members(SHEET % (b"", _row(
            3, "AC-1", "x", ", ".join(f"A.{i // 100}.{i % 100}" for i in range(2_500_000)))))),
         "crosswalk", "a 20 MB cell listing 2.5 million targets"),
        ("ssp-x2400.json", repeated_ssp(ssp, 2400), "oscal",
         "an SSP implementing one control 2,400 times (15 MB): 2.9 million results"),
        ("strings-20mb.xlsx", _zip(_workbook_members(SHEET % (
            b"", b'<row r="3"><c r="A3" t="s"><v>0</v></c></row>'),
            b'<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
            b'2006/main"><si><t>' + b"d" * 20_000_000 + b"</t></si></sst>")), "crosswalk",
         "a 20 MB shared string"),
    )]


def big_ntriples(triples: int) -> Iterator[bytes]:
    """N-Triples of ``triples`` distinct statements (about 140 bytes each), in chunks."""
    for start in range(0, triples, 10_000):
        yield b"".join(b'<https://example.org/s/%d> <https://example.org/p/%d> "value %d of a '
                       b'long enough literal to look real" .\n' % (i, i % 50, i)
                       for i in range(start, min(start + 10_000, triples)))


def repeated_ssp(ssp: bytes, times: int) -> bytes:
    """An SSP whose implemented requirements are repeated ``times`` times (the issue's
    1.6 MB SSP that took +1.2 GB to validate)."""
    document = json.loads(ssp)
    implementation = document["system-security-plan"]["control-implementation"]
    implementation["implemented-requirements"] = implementation["implemented-requirements"] * times
    return json.dumps(document).encode()
