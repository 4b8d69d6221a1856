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
    mappings give their true relations; each pair of ends gets one derived mapping that
    allows exactly what every path allows, and so always the true relation."""
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

    def allowed(a: str, c: str) -> tuple[frozenset[str], set[str]]:
        """What every informative path a -> fb:j -> c allows, and the middles."""
        possible, middles = frozenset(NAMES), set()
        for j in range(6):
            step = compose(relation(truth[a], truth[f"fb:{j}"]),
                           relation(truth[f"fb:{j}"], truth[c]))
            if len(step) < len(NAMES):
                possible, middles = possible & step, middles | {f"{j}"}
        return possible, middles

    expected = {(f"fa:{i}", f"fc:{k}"): allowed(f"fa:{i}", f"fc:{k}")
                for i in range(6) for k in range(6)}
    expected = {pair: v for pair, v in expected.items() if v[1]}
    rows = store.query(
        "PREFIX gc: <https://w3id.org/graphsvc/compliance#> "
        "SELECT ?d ?a ?c (GROUP_CONCAT(DISTINCT STR(?r); separator=' ') AS ?possible) WHERE { "
        "?d a gc:DerivedMapping ; gc:sourceRequirement ?a ; gc:targetRequirement ?c ; "
        "gc:possibleRelation ?r } GROUP BY ?d ?a ?c")
    assert isinstance(rows, Rows) and len(rows) == counts["derived mappings"] == len(expected)
    names = {"Equal": "equal", "SubsetOf": "subset-of", "SupersetOf": "superset-of",
             "IntersectsWith": "intersects-with", "NoRelationship": "no-relationship"}
    for _, a, c, possible in rows:
        key_a = "{}:{}".format(*str(a).split("/fw/")[1].split("/"))
        key_c = "{}:{}".format(*str(c).split("/fw/")[1].split("/"))
        got = {names[p.rsplit("#", 1)[1]] for p in str(possible).split()}
        assert got == expected[(key_a, key_c)][0]
        assert relation(truth[key_a], truth[key_c]) in got  # sound
    # the crosswalk question shows each pair once, from either end, with its middles
    for end, other_side in (("fa:0", "fc"), ("fc:0", "fa")):
        answer = ask(store, "crosswalk", {"requirement": f"id:fw/{end.replace(':', '/')}"})
        assert isinstance(answer, Rows)
        derived = [r for r in answer.dicts() if r["derived"].toPython()]
        others = [f"{other_side}:{str(r['other']).rsplit('/', 1)[1]}" for r in derived]
        assert sorted(others) == sorted({p[1] if p[0] == end else p[0]
                                         for p in expected if end in p})  # once each
        for r in derived:
            other = f"{other_side}:{str(r['other']).rsplit('/', 1)[1]}"
            assert relation(truth[end], truth[other]) in str(r["relation"]).split("|")
            pair = (end, other) if end.startswith("fa") else (other, end)
            assert set(str(r["via"]).split()) == expected[pair][1]
            assert str(r["source"]) == "truth.csv"
    stated = [r for r in answer.dicts() if not r["derived"].toPython()]
    assert len(stated) == 6  # fc:0 <- each fb:j


def test_equivalent_to_composes_as_an_overlap(store: Store, tmp_path: Path) -> None:
    """equivalent-to says the sets overlap, not that they are equal: composed with
    subset-of it cannot give subset-of alone (as equal would), and it never gives
    no-relationship with equal."""
    path = tmp_path / "eq.csv"
    path.write_text("source_framework,source_id,target_framework,target_id,relationship\n"
                    "fa,1,fb,1,equivalent-to\nfb,1,fc,1,subset-of\n"
                    "fa,2,fb,2,equivalent-to\nfb,2,fc,2,equal\n")
    import_crosswalks(store, [path], max_bytes=10**6)
    derive_crosswalks(store)
    answer = ask(store, "crosswalk", {"requirement": "id:fw/fa/1"})
    assert isinstance(answer, Rows)
    [one] = [r for r in answer.dicts() if r["derived"].toPython()]
    expected = set().union(*(compose(r, "subset-of") for r in
                             ("equal", "subset-of", "superset-of", "intersects-with")))
    assert set(str(one["relation"]).split("|")) == expected != {"subset-of"}
    answer = ask(store, "crosswalk", {"requirement": "id:fw/fa/2"})
    assert isinstance(answer, Rows)
    [two] = [r for r in answer.dicts() if r["derived"].toPython()]
    assert set(str(two["relation"]).split("|")) == {
        "equal", "subset-of", "superset-of", "intersects-with"}
    stated = [r for r in answer.dicts() if not r["derived"].toPython()]
    assert [str(r["relation"]) for r in stated] == ["equivalent-to"]
