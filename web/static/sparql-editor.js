// The SPARQL editor: YASGUI (vendored) against this server's /sparql, nothing else.
// Our prefixes and vocabulary complete locally (no prefix.cc, no LOV); the named
// questions load as examples; our IRIs in results open their page here; errors are
// shown as the server words them.
document.addEventListener("DOMContentLoaded", function () {
  var element = document.getElementById("yasgui");
  var configElement = document.getElementById("editor-config");
  if (!element || !configElement || typeof Yasgui === "undefined") { return; }
  var config = JSON.parse(configElement.textContent);
  var Yasqe = Yasgui.Yasqe;
  var prefixLines = Object.keys(config.prefixes).map(function (p) {
    return p + ": <" + config.prefixes[p] + ">";
  });
  var expand = function (name) { return config.prefixes.gc + name.slice(3); };

  // local completions: the bulk lists are full IRIs, shown with our prefixes
  Yasqe.forkAutocompleter("prefixes", {
    name: "localPrefixes", persistenceId: null,
    get: function () { return Promise.resolve(prefixLines); }
  }, false);
  Yasqe.forkAutocompleter("property", {
    name: "localProperties", bulk: true, autoShow: false, persistenceId: null,
    get: function () { return Promise.resolve(config.properties.map(expand)); }
  }, false);
  Yasqe.forkAutocompleter("class", {
    name: "localClasses", bulk: true, autoShow: false, persistenceId: null,
    get: function () { return Promise.resolve(config.classes.map(expand)); }
  }, false);

  var header = Object.keys(config.prefixes).filter(function (p) {
    return ["gc", "id", "rdfs", "skos"].indexOf(p) >= 0;
  }).map(function (p) { return "PREFIX " + p + ": <" + config.prefixes[p] + ">"; }).join("\n");

  function errorInWords(error) {
    var box = document.createElement("div");
    var message = error && error.text ? error.text : "the server did not answer";
    try {
      var body = JSON.parse(message);
      message = body.error + (body.where ? " (" + body.where + ")" : "");
    } catch (e) { /* not our JSON: show the text as it came */ }
    var p = document.createElement("p");
    p.className = "error";
    p.setAttribute("role", "alert");
    p.textContent = (error && error.status ? "Error " + error.status + ": " : "") + message;
    box.appendChild(p);
    return Promise.resolve(box);
  }

  Yasgui.Yasr.defaults.errorRenderers = [errorInWords];  // what each tab's results use
  var yasgui = new Yasgui(element, {
    requestConfig: { endpoint: element.dataset.endpoint, method: "POST", queryArgument: "query" },
    copyEndpointOnNewTab: false,
    endpointCatalogueOptions: { getData: function () { return [{ endpoint: element.dataset.endpoint }]; } },
    persistenceId: null,
    yasqe: {
      value: header + "\n\nSELECT ?g (COUNT(*) AS ?triples) WHERE { GRAPH ?g { ?s ?p ?o } }\n" +
             "GROUP BY ?g ORDER BY DESC(?triples)",
      autocompleters: ["localPrefixes", "localProperties", "localClasses", "variables"],
      prefixCcApi: null
    },
    yasr: { prefixes: config.prefixes }
  });
  window.yasgui = yasgui;

  // result IRIs of ours open their page here
  var ours = config.ours;
  new MutationObserver(function () {
    element.querySelectorAll("a.iri").forEach(function (a) {
      var href = a.getAttribute("href") || "";
      if (href.indexOf(ours) === 0) {
        a.setAttribute("href", "/id/" + href.slice(ours.length));
        a.removeAttribute("target");
      }
    });
  }).observe(element, { childList: true, subtree: true });

  // the named questions as examples
  var examples = document.getElementById("examples");
  examples.innerHTML = "";
  var none = document.createElement("option");
  none.value = "";
  none.textContent = "(choose a question)";
  examples.appendChild(none);
  config.examples.forEach(function (example, i) {
    var option = document.createElement("option");
    option.value = String(i);
    option.textContent = example.name + " - " + example.summary;
    examples.appendChild(option);
  });
  examples.disabled = false;
  examples.addEventListener("change", function () {
    if (examples.value === "") { return; }
    yasgui.getTab().getYasqe().setValue(config.examples[Number(examples.value)].query);
  });

  // labels for the editor's controls that have none (axe: every control has a name)
  function label() {
    element.querySelectorAll("textarea").forEach(function (t) {
      if (!t.getAttribute("aria-label")) { t.setAttribute("aria-label", "SPARQL query"); }
    });
    element.querySelectorAll("input:not([aria-label]), select:not([aria-label])").forEach(function (c) {
      var name = c.closest(".tab") ? "Tab name" : c.closest(".controlbar") ? "SPARQL endpoint" :
        c.getAttribute("placeholder") || c.getAttribute("title") || "Result setting";
      c.setAttribute("aria-label", name);
    });
    element.querySelectorAll("button:not([aria-label]), [role=button]:not([aria-label])").forEach(function (b) {
      if (!b.textContent.trim()) {
        b.setAttribute("aria-label", b.getAttribute("title") || b.className || "editor action");
      }
    });
  }
  label();
  new MutationObserver(label).observe(element, { childList: true, subtree: true });
});
