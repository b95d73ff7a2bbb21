// Baton composition editor: dragging, tabs and small conveniences.
//
// The editor's state is the composition's YAML, kept in the page's
// #editor-form; the server rebuilds the editor after each action. This file
// only turns drags into requests: after a drag it reads the rows of the
// canvas as they now stand (task ids, and "new:<type>" for a type dropped
// from the palette) and posts them. Buttons on every card do the same for
// keyboard users (move earlier or later, duplicate, remove).
(function () {
  "use strict";

  var before = null; // the layout when a drag started
  var pending = false;

  function rows() {
    var out = [];
    document.querySelectorAll("#canvas [data-drop]").forEach(function (el) {
      var items = [];
      el.querySelectorAll(":scope > [data-task-id], :scope > [data-new-type]").forEach(function (i) {
        items.push(i.dataset.taskId || "new:" + i.dataset.newType);
      });
      if (items.length) out.push(items);
    });
    return out;
  }

  function dragging(on) {
    var canvas = document.getElementById("canvas");
    if (canvas) canvas.classList.toggle("dragging", on);
  }

  // hold keeps every drop zone at its height from the moment a card or type
  // is pressed until the drag is over, so that the placeholder moving
  // between rows (a row left empty, a row that wraps) moves no zone under
  // the pointer: the drop lands where the placeholder shows it. The
  // server's answer draws the canvas afresh.
  function hold(on) {
    var zones = document.querySelectorAll("#canvas [data-drop]");
    var heights = [];
    zones.forEach(function (el) { heights.push(on ? el.getBoundingClientRect().height + "px" : ""); });
    zones.forEach(function (el, i) { el.style.height = heights[i]; });
  }

  var started = false;
  function choose() {
    started = false;
    hold(true);
  }
  function unchoose() {
    if (!started) hold(false); // a press without a drag
  }

  function start() {
    started = true;
    before = JSON.stringify(rows());
    dragging(true);
  }

  // send posts the new layout once Sortable has finished moving elements
  // (a move between lists fires events on both), and only when it changed.
  function send() {
    dragging(false);
    if (pending) return;
    pending = true;
    setTimeout(function () {
      pending = false;
      var now = JSON.stringify(rows());
      if (now === before) {
        hold(false);
        return;
      }
      before = now;
      var canvas = document.getElementById("canvas");
      htmx.ajax("POST", "/editor", {
        source: "#editor-form",
        values: { op: canvas.dataset.layoutOp, rows: now },
        target: "#editor",
        swap: "outerHTML",
      });
    }, 0);
  }

  // Sortable's own pointer handling (forceFallback) rather than the
  // browser's drag and drop: it behaves the same in every browser, on
  // touch screens, and under automation. No animation: Sortable ignores
  // the pointer over a card while it glides, which could leave the
  // placeholder short of where the pointer is.
  var common = { animation: 0, forceFallback: true, fallbackTolerance: 4 };

  function options(extra) {
    var o = {};
    Object.keys(common).forEach(function (k) { o[k] = common[k]; });
    Object.keys(extra).forEach(function (k) { o[k] = extra[k]; });
    return o;
  }

  function init() {
    if (typeof Sortable === "undefined") return;
    document.querySelectorAll("[data-palette]").forEach(function (el) {
      if (el._sortable) return;
      el._sortable = Sortable.create(el, options({
        group: { name: "tasks", pull: "clone", put: false },
        sort: false,
        draggable: "[data-new-type]",
        filter: "button",
        preventOnFilter: false,
        onChoose: choose,
        onUnchoose: unchoose,
        onStart: start,
        onEnd: function (evt) {
          dragging(false);
          if (evt.to === evt.from) hold(false); // dropped outside the canvas
        },
      }));
    });
    document.querySelectorAll("#canvas [data-drop]").forEach(function (el) {
      if (el._sortable) return;
      el._sortable = Sortable.create(el, options({
        group: { name: "tasks", pull: true, put: true },
        draggable: "[data-task-id],[data-new-type]",
        handle: "[data-handle]",
        ghostClass: "drag-ghost",
        onChoose: choose,
        onUnchoose: unchoose,
        onStart: start,
        onEnd: send,
        onAdd: send,
      }));
    });
  }

  // Tabs: tasks, settings, YAML; the choice survives re-renders through
  // the form's tab field.
  function showTab(name) {
    document.querySelectorAll("[data-panel]").forEach(function (p) {
      p.hidden = p.dataset.panel !== name;
    });
    document.querySelectorAll("[role=tab][data-tab]").forEach(function (t) {
      t.setAttribute("aria-selected", t.dataset.tab === name ? "true" : "false");
    });
  }

  function restoreTab() {
    var form = document.getElementById("editor-form");
    if (form && form.elements.tab) showTab(form.elements.tab.value || "canvas");
  }

  document.addEventListener("click", function (e) {
    var tab = e.target.closest && e.target.closest("[data-tab]");
    if (tab) {
      e.preventDefault();
      var form = document.getElementById("editor-form");
      if (form && form.elements.tab) form.elements.tab.value = tab.dataset.tab;
      showTab(tab.dataset.tab);
      return;
    }
    // A problem's line number selects that line in the YAML.
    var line = e.target.closest && e.target.closest("[data-line]");
    if (line) {
      var ta = document.getElementById("yaml");
      if (!ta) return;
      var n = parseInt(line.dataset.line, 10);
      var lines = ta.value.split("\n");
      var startAt = 0;
      for (var i = 0; i < n - 1 && i < lines.length; i++) startAt += lines[i].length + 1;
      ta.focus();
      ta.setSelectionRange(startAt, startAt + (lines[n - 1] || "").length);
      var lineHeight = ta.scrollHeight / Math.max(lines.length, 1);
      ta.scrollTop = Math.max(0, (n - 5) * lineHeight);
    }
  });

  // The editor's form is never submitted as a whole: Enter in a field
  // sends that field (its change event) instead.
  document.addEventListener("submit", function (e) {
    if (e.target.id === "editor-form") e.preventDefault();
  });
  document.addEventListener("keydown", function (e) {
    if (e.key !== "Enter" || !e.target.matches || !e.target.matches("#editor-form input[type=text], #editor-form input[type=password]")) return;
    e.preventDefault();
    e.target.dispatchEvent(new Event("change", { bubbles: true }));
  });

  // Leaving with unsaved changes asks first: changes the server holds in
  // the draft (#save-state says so), a request still on its way, and a
  // value typed since the last request (its change event has not fired
  // yet, as when a reload or Back comes while the field has the focus).
  var unsent = false;
  var inflight = 0;

  function editorRequest(e) {
    var path = e.detail.pathInfo && e.detail.pathInfo.requestPath;
    return path === "/editor" || path === "/editor/save";
  }

  document.addEventListener("input", function (e) {
    if (e.target.closest && e.target.closest("#editor-form") && e.target.id !== "save-message") unsent = true;
  });
  document.addEventListener("htmx:beforeRequest", function (e) {
    if (!editorRequest(e)) return;
    unsent = false;
    inflight++;
    // Saving redirects when it succeeds; until the answer comes, leaving
    // is expected.
    if (e.detail.pathInfo.requestPath === "/editor/save") window.batonLeaving = true;
  });
  document.addEventListener("htmx:afterRequest", function (e) {
    if (!editorRequest(e)) return;
    inflight = Math.max(0, inflight - 1);
    if (e.detail.pathInfo.requestPath === "/editor/save" && e.detail.xhr && e.detail.xhr.getResponseHeader("HX-Redirect")) {
      if (isNew()) forgetDraft(); // saved: the page goes to the stored composition
      return;
    }
    window.batonLeaving = false;
    keepDraft(); // the answer has been swapped in by now
  });

  function unsaved() {
    return unsent || inflight > 0 || !!document.querySelector("#save-state[data-dirty=true]");
  }

  window.addEventListener("beforeunload", function (e) {
    if (unsaved() && !window.batonLeaving) {
      e.preventDefault();
      e.returnValue = "";
    }
  });
  document.addEventListener("click", function (e) {
    var a = e.target.closest && e.target.closest("a[href]");
    if (a && a.target !== "_blank" && a.closest(".conflict")) window.batonLeaving = true;
  });

  // A new composition's draft lives in this browser's local storage until
  // it is saved or discarded, so that it survives a reload or a closed
  // tab; opening a new composition brings it back. Drafts of stored
  // compositions are not kept: leaving them asks instead.
  var draftKey = "baton.editor.new-draft";

  function isNew() {
    var form = document.getElementById("editor-form");
    return !!form && form.elements.orig && form.elements.orig.value === "";
  }

  function forgetDraft() {
    try { localStorage.removeItem(draftKey); } catch (err) { /* storage off: nothing kept */ }
  }

  function keepDraft() {
    if (!isNew()) return;
    var doc = document.getElementById("doc");
    if (!doc) return;
    if (!document.querySelector("#save-state[data-dirty=true]")) {
      if (!restoring) forgetDraft();
      return;
    }
    try {
      localStorage.setItem(draftKey, JSON.stringify({ doc: doc.value, at: Date.now() }));
    } catch (err) { /* full or off: the prompt on leaving still protects it */ }
  }

  var restoring = false;

  function restoreDraft() {
    if (!isNew()) return;
    var saved = null;
    try { saved = JSON.parse(localStorage.getItem(draftKey) || "null"); } catch (err) { saved = null; }
    var doc = document.getElementById("doc");
    var ta = document.getElementById("yaml");
    if (!saved || typeof saved.doc !== "string" || !doc || !ta || saved.doc === doc.value) return;
    restoring = true;
    ta.value = saved.doc;
    htmx.ajax("POST", "/editor", {
      source: "#editor-form",
      values: { op: ta.dataset.op, yaml: saved.doc },
      swap: "none",
    }).then(function () {
      restoring = false;
      var note = document.getElementById("draft-note");
      if (!note) return;
      var when = note.querySelector("[data-draft-time]");
      if (when) when.textContent = new Date(saved.at || Date.now()).toLocaleString();
      note.hidden = false;
    });
  }

  document.addEventListener("click", function (e) {
    if (!e.target.closest || !e.target.closest("[data-draft-discard]")) return;
    forgetDraft();
    window.batonLeaving = true;
    window.location.reload();
  });

  function ready() {
    init();
    restoreTab();
    restoreDraft();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", ready);
  else ready();
  document.addEventListener("htmx:load", init);
  document.addEventListener("htmx:afterSettle", restoreTab);
})();
