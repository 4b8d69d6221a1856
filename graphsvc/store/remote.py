"""Any SPARQL 1.1 endpoint: queries through SPARQLWrapper, loads through the Graph Store
HTTP Protocol into staging graphs, made visible by one SPARQL Update.

The endpoint must use the union of its named graphs as the default graph for queries
(Oxigraph: ``--union-default-graph``; Fuseki: ``unionDefaultGraph``), as the embedded
store does.
"""

from __future__ import annotations

import base64
import re
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterable, Mapping

from rdflib import Graph
from rdflib.term import BNode, Literal, URIRef
from SPARQLWrapper import JSON, N3, POST, SPARQLWrapper
from SPARQLWrapper.SPARQLExceptions import SPARQLWrapperException

from graphsvc.config import Config
from graphsvc.errors import BadInput, StoreError
from graphsvc.store import (
    STAGING_PREFIX,
    QueryResult,
    Rows,
    Store,
    Term,
    Triple,
    check_iri,
    move_update,
)
from graphsvc.store.guard import check_query


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

    def query(self, sparql: str, bindings: Mapping[str, Term] | None = None) -> QueryResult:
        form = check_query(sparql)
        if bindings:
            sparql = bind_values(sparql, bindings)
        client = self._client(self.query_url)
        client.setQuery(sparql)
        client.setMethod(POST)
        client.setReturnFormat(N3 if form in ("ConstructQuery", "DescribeQuery") else JSON)
        if form in ("ConstructQuery", "DescribeQuery"):
            client.addCustomHttpHeader("Accept", "application/n-triples")
        try:
            response = client.query()
            if form in ("ConstructQuery", "DescribeQuery"):
                return Graph().parse(data=response.response.read(), format="nt")
            data = response.convert()
        except (SPARQLWrapperException, urllib.error.URLError, OSError) as exc:
            raise StoreError(f"query failed: {exc}", where=self.query_url) from exc
        if "boolean" in data:
            return bool(data["boolean"])
        variables = data["head"]["vars"]
        rows = [
            tuple(_from_json(b.get(v)) for v in variables) for b in data["results"]["bindings"]
        ]
        return Rows(variables, rows)

    def write(self, graphs: Mapping[str, Iterable[Triple]], *, replace: bool = False) -> None:
        targets = {str(check_iri(g, "graph")): triples for g, triples in graphs.items()}
        stages = {t: STAGING_PREFIX + uuid.uuid4().hex for t in targets}
        try:
            for target, triples in targets.items():
                self._put(stages[target], ntriples(triples))
            self._update(move_update({s: t for t, s in stages.items()}, replace=replace))
        finally:
            self._update(" ;\n".join(f"DROP SILENT GRAPH <{s}>" for s in stages.values()))

    def drop(self, graphs: Iterable[str]) -> None:
        update = " ;\n".join(f"DROP SILENT GRAPH <{check_iri(g, 'graph')}>" for g in graphs)
        if update:
            self._update(update)

    def _client(self, url: str) -> SPARQLWrapper:
        client = SPARQLWrapper(url)
        client.setTimeout(int(self.timeout_s))
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
        request.add_header("Content-Type", "application/n-triples")
        if self._auth:
            token = base64.b64encode(":".join(self._auth).encode()).decode()
            request.add_header("Authorization", "Basic " + token)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                response.read()
        except (urllib.error.URLError, OSError) as exc:
            raise StoreError(f"Graph Store PUT failed: {exc}", where=self.gsp_url) from exc


def ntriples(triples: Iterable[Triple]) -> bytes:
    """N-Triples text of rdflib terms (``n3()`` without prefixes is N-Triples syntax)."""
    return "".join(f"{s.n3()} {p.n3()} {o.n3()} .\n" for s, p, o in triples).encode()


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
    if datatype == "http://www.w3.org/2001/XMLSchema#string":
        datatype = None
    return Literal(value["value"], datatype=datatype)


_TOKEN = re.compile(
    r"""(?P<skip>\#[^\n]*|"{3}.*?"{3}|'{3}.*?'{3}|"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'
        |<[^<>"{}|^`\\\s]*>)
      |(?P<word>[A-Za-z_][\w.:-]*)
      |(?P<brace>[{}])""",
    re.VERBOSE | re.DOTALL,
)


def bind_values(sparql: str, bindings: Mapping[str, Term]) -> str:
    """Give variables values by a VALUES block at the start of the top-level WHERE group.

    The endpoint has no substitution API, so the values are written as RDF terms
    serialized by rdflib from checked terms, never as raw text of the caller's.
    """
    names = list(bindings)
    for name in names:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise BadInput(f"not a variable name: {name!r}", where="bindings")
    cells = " ".join(_term_text(bindings[n], n) for n in names)
    block = f" VALUES ({' '.join('?' + n for n in names)}) {{ ({cells}) }} "
    depth, seen_where, insert_at = 0, False, None
    for match in _TOKEN.finditer(sparql):
        if match.group("word") and depth == 0 and match.group("word").upper() == "WHERE":
            seen_where = True
        elif match.group("brace") == "{":
            if depth == 0 and (seen_where or insert_at is None):
                insert_at = match.end()
                if seen_where:
                    break
            depth += 1
        elif match.group("brace") == "}":
            depth -= 1
    if insert_at is None:
        raise BadInput("query has no WHERE group to bind values in")
    return sparql[:insert_at] + block + sparql[insert_at:]


def _term_text(term: Term, name: str) -> str:
    if isinstance(term, URIRef):
        return f"<{check_iri(str(term), f'value of ?{name}')}>"
    if isinstance(term, Literal):
        return term.n3()
    raise BadInput(f"?{name} must be an IRI or a literal, not {term!r}", where="bindings")
