/* Transaction list: live updates and the custom date range.
 *
 * Every data-live-ms (1.5 s) while the tab is visible, ask the server for the rows written since
 * the token it last gave (a bounded, indexed query; see payments/listing.py). Then:
 * - a row already on the page is replaced in place when its version changed;
 * - a new row matching the list's filters is inserted at its place when this is the unfiltered
 *   first page and the reader is at the top; otherwise it is held and counted in the
 *   "N new — show" marker, so nobody loses their place. The marker floats at the top of the
 *   window while the reader is scrolled down, where they can see it;
 * - the status tab counts are fetched again when rows changed, at most every COUNTS_MS.
 * The multi-choice filters (status, method, store, terminal, type) are menus of checkboxes:
 * their one-line summary follows the boxes ticked.
 */
(function () {
  "use strict";

  var COUNTS_MS = 10000;
  var held = new Map();
  var busy = false;
  var countsTimer = null;
  var countsAt = Date.now();

  function scheduleCounts() {
    if (countsTimer) return;
    countsTimer = setTimeout(function () {
      countsTimer = null;
      countsAt = Date.now();
      var el = root();
      if (!el || !el.dataset.countsUrl || !document.getElementById("txn-tabs") || !window.htmx) return;
      window.htmx.ajax("GET", el.dataset.countsUrl, { target: "#txn-tabs", swap: "outerHTML" });
    }, Math.max(0, countsAt + COUNTS_MS - Date.now()));
  }

  function root() { return document.getElementById("txn-results"); }

  function newer(a, b) {
    // [key, pk] of a is newer than b
    return a[0] > b[0] || (a[0] === b[0] && a[1] > b[1]);
  }

  function rowOrder(tr) { return [Number(tr.dataset.key), Number(tr.dataset.pk)]; }

  function fromHtml(html) {
    var tbody = document.createElement("tbody");
    tbody.innerHTML = html.trim();
    return tbody.firstElementChild;
  }

  function insertRow(tbody, row) {
    var tr = fromHtml(row.html);
    tr.classList.add("just-arrived");
    var empty = tbody.querySelector("[data-empty]");
    if (empty) empty.remove();
    var order = [row.key, row.pk];
    var rows = tbody.querySelectorAll("tr[data-pk]");
    for (var i = 0; i < rows.length; i++) {
      if (newer(order, rowOrder(rows[i]))) { tbody.insertBefore(tr, rows[i]); return; }
    }
    tbody.appendChild(tr);
  }

  function atTop() { return window.scrollY < 150; }

  function renderMarker(el) {
    var marker = el.querySelector("[data-new-marker]");
    if (!marker) return;
    marker.classList.toggle("floating", !atTop());
    if (held.size === 0) { marker.hidden = true; return; }
    marker.textContent = held.size === 1 ? marker.dataset.one : marker.dataset.many.replace("__N__", held.size);
    marker.hidden = false;
  }

  function summarise(menu) {
    var labels = [];
    menu.querySelectorAll("input[type=checkbox]:checked").forEach(function (box) {
      labels.push(box.parentElement.textContent.trim());
    });
    var text = labels.length === 0 ? menu.dataset.any : labels.length === 1 ? labels[0] : labels[0] + " +" + (labels.length - 1);
    var out = menu.querySelector("[data-multi-summary]");
    if (out) out.textContent = text;
  }

  function showHeld(el) {
    var tbody = el.querySelector("tbody[data-rows]");
    if (el.dataset.prepend === "1") {
      held.forEach(function (row) { insertRow(tbody, row); bumpTop(el, row); });
      held.clear();
      renderMarker(el);
      window.scrollTo({ top: 0 });
      return;
    }
    // Filtered or deeper page: show the first page of the same filters.
    held.clear();
    if (window.htmx) {
      window.htmx.ajax("GET", el.dataset.firstUrl, { target: "#txn-results", swap: "outerHTML" }).then(function () {
        history.pushState({}, "", el.dataset.firstUrl);
      });
    } else {
      window.location.href = el.dataset.firstUrl;
    }
  }

  function bumpTop(el, row) {
    if (row.key > Number(el.dataset.topKey || 0)) el.dataset.topKey = String(row.key);
  }

  function apply(el, data) {
    el.dataset.liveSince = data.since;
    var tbody = el.querySelector("tbody[data-rows]");
    var top = [Number(el.dataset.topKey || 0), 0];
    data.rows.forEach(function (row) {
      var existing = tbody.querySelector('tr[data-pk="' + row.pk + '"]');
      if (existing) {
        if (existing.dataset.v !== row.v) {
          var fresh = fromHtml(row.html);
          fresh.classList.add("just-changed");
          existing.replaceWith(fresh);
        }
        return;
      }
      if (!row.match || !newer([row.key, row.pk], top)) return;
      if (held.has(row.pk) || el.dataset.prepend !== "1" || !atTop()) {
        held.set(row.pk, row);
        return;
      }
      var before = document.documentElement.scrollHeight;
      insertRow(tbody, row);
      bumpTop(el, row);
      // Scrolled a little: keep the rows in view where they were.
      if (window.scrollY > 0) window.scrollBy(0, document.documentElement.scrollHeight - before);
    });
    renderMarker(el);
    if (data.rows.length) scheduleCounts();
    if (data.more) setTimeout(poll, 0);
  }

  function poll() {
    var el = root();
    if (!el || busy || document.hidden || !el.dataset.liveUrl) return;
    busy = true;
    var url = el.dataset.liveUrl + (el.dataset.liveUrl.indexOf("?") >= 0 ? "&" : "?") +
      "since=" + encodeURIComponent(el.dataset.liveSince);
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        // Signed out (the idle timeout passed): reload, which leads to the sign-in page.
        if (response.redirected || response.status === 401 || response.status === 403) {
          window.location.reload();
          throw new Error("signed out");
        }
        if (!response.ok && response.status !== 400) throw new Error(String(response.status));
        return response.json();
      })
      .then(function (data) {
        if (!el.isConnected) return;
        if (data.error) { el.dataset.liveSince = data.since; return; }
        apply(el, data);
      })
      .catch(function () { /* offline or signed out: try again next time */ })
      .finally(function () { busy = false; });
  }

  // A click anywhere on a row opens its transaction (the id link may be scrolled out of view),
  // except on controls and while the reader is selecting text to copy.
  function openRow(event) {
    var row = event.target.closest("[data-testid=txn-row]");
    if (!row || event.defaultPrevented || event.button !== 0) return;
    if (event.target.closest("a, button, input, select, label, summary")) return;
    if (String(window.getSelection ? window.getSelection() : "")) return;
    var link = row.querySelector("a[href]");
    if (!link) return;
    if (event.ctrlKey || event.metaKey) window.open(link.href, "_blank");
    else window.location.assign(link.href);
  }

  function start() {
    document.addEventListener("click", openRow);
    var el = root();
    var ms = el ? Number(el.dataset.liveMs) || 1500 : 1500;
    setInterval(poll, ms);
    document.addEventListener("visibilitychange", function () { if (!document.hidden) poll(); });
    document.addEventListener("click", function (event) {
      var marker = event.target.closest("[data-new-marker]");
      if (marker) { event.preventDefault(); showHeld(root()); }
    });
    document.body.addEventListener("htmx:afterSwap", function (event) {
      if (event.target && event.target.id === "txn-results") { held.clear(); countsAt = Date.now(); }
    });
    document.addEventListener("change", function (event) {
      var menu = event.target.closest("[data-multi]");
      if (menu) summarise(menu);
    });
    // One menu open at a time; a click elsewhere closes it.
    document.addEventListener("click", function (event) {
      document.querySelectorAll("details[data-multi][open]").forEach(function (menu) {
        if (!menu.contains(event.target)) menu.open = false;
      });
    });
    // Picking a date makes the period a custom range; picking a preset clears the dates.
    var period = document.getElementById("f-period");
    ["f-from", "f-to"].forEach(function (id) {
      var input = document.getElementById(id);
      if (input && period) input.addEventListener("change", function () { period.value = "custom"; });
    });
    if (period) period.addEventListener("change", function () {
      if (period.value !== "custom") {
        ["f-from", "f-to"].forEach(function (id) { var i = document.getElementById(id); if (i) i.value = ""; });
      }
    });
    window.addEventListener("scroll", function () {
      var current = root();
      if (!current) return;
      if (atTop() && current.dataset.prepend === "1" && held.size) showHeld(current);
      else renderMarker(current);
    }, { passive: true });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
