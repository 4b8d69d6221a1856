// The SPARQL editor: YASGUI (vendored) against this server's /sparql, nothing else.
document.addEventListener("DOMContentLoaded", function () {
  var element = document.getElementById("yasgui");
  if (!element || typeof Yasgui === "undefined") { return; }
  var endpoint = element.dataset.endpoint;
  window.yasgui = new Yasgui(element, {
    requestConfig: { endpoint: endpoint, method: "POST" },
    copyEndpointOnNewTab: false,
    endpointCatalogueOptions: { getData: function () { return [{ endpoint: endpoint }]; } },
    yasqe: {
      value: "PREFIX gc: <https://w3id.org/graphsvc/compliance#>\n" +
             "SELECT ?g (COUNT(*) AS ?triples) WHERE { GRAPH ?g { ?s ?p ?o } }\n" +
             "GROUP BY ?g ORDER BY DESC(?triples)",
      autocompleters: []
    }
  });
});
