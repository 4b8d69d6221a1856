// Progressive enhancement only: every page works without this script.
// Typeahead on search boxes and requirement fields, live filter on framework trees.
(function () {
  "use strict";

  function debounce(fn, ms) {
    var timer = null;
    return function () {
      var args = arguments, self = this;
      clearTimeout(timer);
      timer = setTimeout(function () { fn.apply(self, args); }, ms);
    };
  }

  // ------------------------------------------------------------ typeahead
  var counter = 0;

  function typeahead(input) {
    var id = "suggest-" + (++counter);
    var list = document.createElement("ul");
    list.id = id;
    list.className = "suggest";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", "Suggestions");
    list.hidden = true;
    input.parentNode.classList.add("suggest-host");
    input.parentNode.appendChild(list);
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", id);
    var items = [], active = -1, navigate = input.form && input.form.getAttribute("role") === "search";

    function close() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function choose(item) {
      if (navigate) {
        window.location.href = item.href;
      } else {
        input.value = item.iri;
        close();
      }
    }

    function show(results) {
      list.innerHTML = "";
      items = [];
      results.frameworks.forEach(function (group) {
        group.results.forEach(function (hit) {
          items.push({ iri: hit.iri, href: "/id/" + hit.iri.split("/id/")[1],
                       text: hit.notation + " " + hit.title + " - " + group.label });
        });
      });
      items.slice(0, 10).forEach(function (item, i) {
        var li = document.createElement("li");
        li.id = id + "-" + i;
        li.setAttribute("role", "option");
        li.textContent = item.text;
        li.addEventListener("mousedown", function (e) { e.preventDefault(); choose(item); });
        list.appendChild(li);
      });
      list.hidden = items.length === 0;
      input.setAttribute("aria-expanded", items.length ? "true" : "false");
      active = -1;
    }

    function mark(i) {
      var options = list.querySelectorAll("li");
      options.forEach(function (li, j) { li.setAttribute("aria-selected", j === i ? "true" : "false"); });
      active = i;
      if (options[i]) { input.setAttribute("aria-activedescendant", options[i].id); }
    }

    input.addEventListener("input", debounce(function () {
      var text = input.value.trim();
      if (text.length < 2 || text.indexOf(":") >= 0) { close(); return; }
      fetch("/search.json?prefix=1&limit=4&q=" + encodeURIComponent(text))
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (results) { if (results && input.value.trim() === text) { show(results); } })
        .catch(function () { close(); });
    }, 120));
    input.addEventListener("keydown", function (e) {
      var n = list.querySelectorAll("li").length;
      if (list.hidden || !n) { return; }
      if (e.key === "ArrowDown") { mark((active + 1) % n); e.preventDefault(); }
      else if (e.key === "ArrowUp") { mark((active - 1 + n) % n); e.preventDefault(); }
      else if (e.key === "Enter" && active >= 0) { choose(items[active]); e.preventDefault(); }
      else if (e.key === "Escape") { close(); }
    });
    input.addEventListener("blur", function () { setTimeout(close, 150); });
  }

  // ------------------------------------------------------------ tree filter
  function treeFilter(input) {
    var root = document.querySelector(input.dataset.filter);
    if (!root) { return; }
    input.addEventListener("input", debounce(function () {
      var text = input.value.trim().toLowerCase();
      root.querySelectorAll("section.tree-section").forEach(function (section) {
        var rows = section.querySelectorAll("tbody tr");
        var shown = 0;
        rows.forEach(function (tr) {
          if (tr.hasAttribute("data-filter-row")) {
            var hit = !text || tr.textContent.toLowerCase().indexOf(text) >= 0;
            tr.hidden = !hit;
            if (hit) { shown++; }
          }
        });
        // a group row stays while a row under it (until the next group) stays
        var group = null, any = false;
        rows.forEach(function (tr) {
          if (tr.hasAttribute("data-filter-group")) {
            if (group) { group.hidden = !any; }
            group = tr; any = false;
          } else if (!tr.hidden) { any = true; }
        });
        if (group) { group.hidden = !any; }
        section.hidden = shown === 0;
        if (text) { section.querySelector("details").open = true; }
      });
    }, 150));
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("input[data-suggest]").forEach(typeahead);
    document.querySelectorAll("input[data-filter]").forEach(treeFilter);
  });
})();
