"""Any SPARQL 1.1 endpoint: queries through SPARQLWrapper, loads through the Graph Store
HTTP Protocol into staging graphs, made visible by one SPARQL Update.

The endpoint must use the union of its named graphs as the default graph for queries
(Oxigraph: ``--union-default-graph``; Fuseki: ``unionDefaultGraph``; Virtuoso does so
for a query without FROM, and its own graphs must be private to the SPARQL user, see
:func:`graphsvc.store.server.virtuoso_server`), as the embedded store does.

The questions are portable SPARQL 1.1. What differs between engines is handled here,
for every endpoint alike:

* a question's parameter values are given by ``BIND`` at the start of the WHERE group,
  not by a one-row ``VALUES`` block (the same solutions; Virtuoso 7.2 drops rows where
  such a block meets a join with a sub-select: coverage lost its covered controls);
* an ASK answer that comes as one row of ``?__ASK_RETVAL`` (Virtuoso 7) is read as the
  boolean it is;
* the named graphs are listed from their triples where ``GRAPH ?g { }`` gives one
  unbound row (Virtuoso 7);
* the answer's format is asked for by the Accept header alone (SPARQLWrapper's
  ``format=`` parameter made Virtuoso refuse CONSTRUCT answers with 406);
* strings are written without ``^^xsd:string`` (one literal in RDF 1.1; Virtuoso 7 keeps
  the two forms apart, and they would compare unequal and sort apart).

The question texts themselves avoid what Virtuoso 7.2 gets wrong (each place says so):
no bare ``EXISTS`` in a BIND, no OPTIONAL + FILTER on an outer variable, no sub-select
projecting a parameter it only reads, concatenations from sorted rows, MIN not SAMPLE.
What it still cannot answer is listed in ``graphsvc.store.server.VIRTUOSO_LIMITS``.
"""

from __future__ import annotations

import base64
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Collection, Iterable, Mapping

from rdflib import Graph
from rdflib.term import BNode, Literal, URIRef
from SPARQLWrapper import ASK, CONSTRUCT, DESCRIBE, JSON, N3, POST, SELECT, SPARQLWrapper
from SPARQLWrapper.SPARQLExceptions import QueryBadFormed, SPARQLWrapperException

from graphsvc.config import Config
from graphsvc.errors import BadInput, StoreError
from graphsvc.store import (
    QueryResult,
    Rows,
    Store,
    Term,
    Triple,
    check_iri,
    is_staging,
    move_update,
    plan_write,
    replaced,
    term_bytes,
)
from graphsvc.store.bindings import _texts, bind_values
from graphsvc.store.embedded import ntriples
from graphsvc.store.guard import check_query

# (grouped: Virtuoso 7 lists its private graphs too for a bare DISTINCT ?g)
GRAPH_NAMES = "SELECT ?g WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"
_EMPTY = "SELECT * WHERE {"
XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"  # text: answers give datatypes as text
QUERY_FORMS = {"SelectQuery": SELECT, "ConstructQuery": CONSTRUCT, "DescribeQuery": DESCRIBE,
               "AskQuery": ASK}


class RemoteStore(Store):
    """A SPARQL 1.1 endpoint with Protocol (query, update) and Graph Store Protocol URLs."""

    def __init__(
        self,
        query_url: str,
        update_url: str,
        gsp_url: str,
        *,
        user: str | None = None,
        password: str | None = None,
        timeout_s: float = 60.0,
    ) -> None:
        self.query_url, self.update_url, self.gsp_url = query_url, update_url, gsp_url
        self.timeout_s = timeout_s
        self._auth = (user, password) if user else None

    @classmethod
    def from_config(cls, config: Config) -> RemoteStore:
        """Update and GSP URLs default to Oxigraph's layout beside the query URL."""
        assert config.remote
        base = re.sub(r"/query/?$", "", config.remote)
        return cls(
            config.remote,
            config.remote_update or base + "/update",
            config.remote_gsp or base + "/store",
            user=config.remote_user,
            password=config.remote_password,
            timeout_s=config.remote_timeout_s,
        )

    def query(self, sparql: str, bindings: Mapping[str, Term] | None = None, *,
              limit: int | None = None, max_bytes: int | None = None) -> QueryResult:
        if bindings:
            sparql = bound(sparql, bindings)
        checked = check_query(sparql)  # the text the guard read is the one sent
        form = checked.form
        client = self._client(self.query_url)
        client.setQuery(checked.text)
        # SPARQLWrapper guesses the form from the first keyword anywhere in the text (a
        # string's "added" included, and then sends an update): the guard decides
        client.queryType = QUERY_FORMS[form]
        client.setMethod(POST)
        client.setReturnFormat(N3 if form in ("ConstructQuery", "DescribeQuery") else JSON)
        if form in ("ConstructQuery", "DescribeQuery"):
            client.addCustomHttpHeader("Accept", "application/n-triples")
        try:
            response = client.query()
            if form in ("ConstructQuery", "DescribeQuery"):
                graph = Graph().parse(data=response.response.read(), format="nt")
                return _first(graph, limit, max_bytes)
            data = response.convert()
        except QueryBadFormed as exc:
            raise BadInput(f"not a valid SPARQL 1.1 query: {exc}", where=self.query_url
                           ) from exc
        except (SPARQLWrapperException, urllib.error.URLError, OSError) as exc:
            raise StoreError(f"query failed: {exc}", where=self.query_url) from exc
        if "boolean" in data:
            return bool(data["boolean"])
        if form == "AskQuery":  # one row of ?__ASK_RETVAL (Virtuoso 7)
            return any(b.get("__ASK_RETVAL", {}).get("value") in ("1", "true")
                       for b in data["results"]["bindings"])
        variables = data["head"]["vars"]
        rows, size = [], 0
        for b in data["results"]["bindings"][:limit]:
            rows.append(tuple(_from_json(b.get(v)) for v in variables))
            size += term_bytes(rows[-1])
            if max_bytes is not None and size > max_bytes:
                break
        return Rows(variables, rows)

    def graph_names(self) -> set[str]:
        result = self.query("SELECT DISTINCT ?g WHERE { GRAPH ?g { } }")
        assert isinstance(result, Rows)
        if any(g is None for (g,) in result):  # Virtuoso 7: one unbound row
            result = self.query(GRAPH_NAMES)
            assert isinstance(result, Rows)
        return {str(g) for (g,) in result if g is not None and not is_staging(str(g))}

    def write(self, graphs: Mapping[str, Iterable[Triple]], *,
              replace: bool | Collection[str] = False, drop: Iterable[str] = ()) -> None:
        targets = {str(check_iri(g, "graph")): triples for g, triples in graphs.items()}
        dropped = [str(check_iri(g, "graph")) for g in drop if g not in targets]
        try:  # every term is checked here, before anything is sent (so the write's text
            # is in memory whole: about 260 bytes a quad, 21 MB for what init loads)
            bodies = {target: "".join(ntriples(triples)).encode()
                      for target, triples in targets.items()}
        except (ValueError, TypeError) as exc:
            raise StoreError(f"write failed, nothing was changed: {exc}") from exc
        first = plan_write(targets, self._existing(targets))
        moves = {stage: target for target, stage in first.items() if stage != target}
        written: list[str] = []
        try:
            for target, body in bodies.items():
                written.append(first[target])
                self._put(first[target], body)  # (N-Triples is Turtle)
            if moves or dropped:
                self._update(move_update(moves, replacing=replaced(replace, targets),
                                         drop=dropped))
        except BaseException:
            self.drop(written)  # new graphs and staging copies: the store is as it was
            raise
        self.drop(moves)

    def _existing(self, targets: Iterable[str]) -> set[str]:
        return set(targets) & self.graph_names()

    def _client(self, url: str) -> SPARQLWrapper:
        client = SPARQLWrapper(url)
        client.setTimeout(int(self.timeout_s))
        client.setOnlyConneg(True)  # the Accept header alone (Virtuoso: 406 for format=n3)
        if self._auth:
            client.setCredentials(*self._auth)
        return client

    def _update(self, update: str) -> None:
        client = self._client(self.update_url)
        client.setMethod(POST)
        client.setRequestMethod("postdirectly")
        client.setQuery(update)
        try:
            client.query()
        except (SPARQLWrapperException, urllib.error.URLError, OSError) as exc:
            raise StoreError(f"update failed: {exc}", where=self.update_url) from exc

    def _put(self, graph: str, body: bytes) -> None:
        url = self.gsp_url + "?" + urllib.parse.urlencode({"graph": graph})
        request = urllib.request.Request(url, data=body, method="PUT")
        request.add_header("Content-Type", "text/turtle")
        if self._auth:
            token = base64.b64encode(":".join(self._auth).encode()).decode()
            request.add_header("Authorization", "Basic " + token)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                response.read()
        except (urllib.error.URLError, OSError) as exc:
            raise StoreError(f"Graph Store PUT failed: {exc}", where=self.gsp_url) from exc


def bound(sparql: str, bindings: Mapping[str, Term]) -> str:
    """The query with ``bindings`` written in as for the embedded store
    (:func:`~graphsvc.store.bindings.bind_values`), the one-row VALUES block it starts
    the WHERE group with replaced by one BIND per value: the same solutions."""
    text = bind_values(sparql, bindings)
    block = bind_values(_EMPTY + " }", bindings)[len(_EMPTY):-2]
    binds = " ".join(f"BIND ({term} AS ?{name})" for name, term in sorted(_texts(bindings).items()))
    return text.replace(block, f" {binds} ", 1)


def _from_json(value: dict | None) -> Term | None:
    if value is None:
        return None
    kind = value["type"]
    if kind == "uri":
        return URIRef(value["value"])
    if kind == "bnode":
        return BNode(value["value"])
    if "xml:lang" in value:
        return Literal(value["value"], lang=value["xml:lang"])
    datatype = value.get("datatype")
    if datatype == XSD_STRING:
        datatype = None
    return Literal(value["value"], datatype=datatype)


def _first(graph: Graph, limit: int | None, max_bytes: int | None) -> Graph:
    """The first ``limit`` triples, no further than the first past ``max_bytes``."""
    if (limit is None or len(graph) <= limit) and max_bytes is None:
        return graph
    out, size = Graph(), 0
    for triple, _ in zip(graph, range(len(graph) if limit is None else limit), strict=False):
        out.add(triple)
        size += term_bytes(triple)
        if max_bytes is not None and size > max_bytes:
            break
    return out
