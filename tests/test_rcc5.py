"""The RCC-5 composition table is sound and tight (brute force over finite sets), and
derived crosswalks never claim more than it allows."""

from __future__ import annotations

import itertools
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from graphsvc.crosswalks import NAMES, compose, composition_table, derive_crosswalks
from graphsvc.importers.crosswalk import import_crosswalks
from graphsvc.questions import ask
from graphsvc.store import Rows, Store


def relation(a: frozenset[int], b: frozenset[int]) -> str:
    if a == b:
        return "equal"
    if a < b:
        return "subset-of"
    if a > b:
        return "superset-of"
    return "intersects-with" if a & b else "no-relationship"


sets = st.frozensets(st.integers(0, 7), min_size=1)


@settings(max_examples=3000, deadline=None)
@given(sets, sets, sets)
def test_composition_is_sound(a: frozenset[int], b: frozenset[int], c: frozenset[int]) -> None:
    assert relation(a, c) in compose(relation(a, b), relation(b, c))


def test_composition_is_tight() -> None:
    """Every relation the table allows happens for some sets over four elements."""
    universe = [frozenset(s) for n in range(1, 5)
                for s in itertools.combinations(range(4), n)]
    seen: dict[tuple[str, str], set[str]] = {}
    for a, b, c in itertools.product(universe, repeat=3):
        seen.setdefault((relation(a, b), relation(b, c)), set()).add(relation(a, c))
    assert {k: frozenset(v) for k, v in seen.items()} == composition_table()
    assert len(composition_table()) == len(NAMES) ** 2


def test_derived_crosswalks_are_sound(store: Store, tmp_path: Path) -> None:
    """Sets chosen at random stand behind requirements of three frameworks; the stated
    mappings give their true relations; every derived mapping must allow the true
    relation between its ends."""
    import random

    rng = random.Random(8477)
    truth = {f"{fw}:{i}": frozenset(rng.sample(range(10), rng.randint(1, 6)))
             for fw in ("fa", "fb", "fc") for i in range(6)}
    lines = ["source_framework,source_id,target_framework,target_id,relationship"]
    for x, y in [("fa", "fb"), ("fb", "fc")]:
        for i in range(6):
            for j in range(6):
                s, t = f"{x}:{i}", f"{y}:{j}"
                lines.append(f"{x},{i},{y},{j},{relation(truth[s], truth[t])}")
    path = tmp_path / "truth.csv"
    path.write_text("\n".join(lines) + "\n")
    import_crosswalks(store, [path], max_bytes=10**6)
    counts = derive_crosswalks(store)
    rows = store.query(
        "PREFIX gc: <https://w3id.org/graphsvc/compliance#> "
        "SELECT ?d ?a ?c (GROUP_CONCAT(STR(?r); separator=' ') AS ?possible) WHERE { "
        "?d a gc:DerivedMapping ; gc:sourceRequirement ?a ; gc:targetRequirement ?c ; "
        "gc:possibleRelation ?r } GROUP BY ?d ?a ?c")
    assert isinstance(rows, Rows) and len(rows) == counts["derived mappings"] > 0
    names = {"Equal": "equal", "SubsetOf": "subset-of", "SupersetOf": "superset-of",
             "IntersectsWith": "intersects-with", "NoRelationship": "no-relationship"}
    for _, a, c, possible in rows:
        key_a = "{}:{}".format(*str(a).split("/fw/")[1].split("/"))
        key_c = "{}:{}".format(*str(c).split("/fw/")[1].split("/"))
        allowed = {names[p.rsplit("#", 1)[1]] for p in str(possible).split()}
        assert relation(truth[key_a], truth[key_c]) in allowed
        assert len(allowed) < len(NAMES)
    # the crosswalk question shows them, with the middle requirement and the sources
    answer = ask(store, "crosswalk", {"requirement": "id:fw/fa/0"})
    assert isinstance(answer, Rows)
    derived = [r for r in answer.dicts() if r["derived"].toPython()]
    expected = {(f"fc:{k}", f"fb:{j}") for j in range(6) for k in range(6)
                if len(composition_table()[(relation(truth["fa:0"], truth[f"fb:{j}"]),
                                            relation(truth[f"fb:{j}"], truth[f"fc:{k}"]))])
                < len(NAMES)}
    got = {("fc:" + str(r["other"]).rsplit("/", 1)[1], "fb:" + str(r["via"]).rsplit("/", 1)[1])
           for r in derived}
    assert got == expected and len(derived) == len(expected)
    for r in derived:
        true = relation(truth["fa:0"], truth["fc:" + str(r["other"]).rsplit("/", 1)[1]])
        assert true in str(r["relation"]).split("|")
        assert str(r["source"]) == "truth.csv"
    stated = [r for r in answer.dicts() if not r["derived"].toPython()]
    assert len(stated) == 6  # fa:0 -> each fb:j
