// Baton run page: the live, aggregated log.
//
// The page loads the tail of the log over the API (a huge log never loads
// whole), then follows it over a websocket from the last line it has. Lines
// are added in batches once per animation frame, and at most MAX_LINES stay
// in the page: older ones are dropped and can be loaded again with "Load
// earlier lines". Following stops when the reader scrolls up. Task and run
// changes from the same websocket refresh the panel above (graph, tasks,
// approvals) through the "baton:run" event.
(function () {
  "use strict";

  var PAGE = 1000;        // lines per request
  var MAX_LINES = 20000;  // lines kept in the page
  var STREAMS = { 1: "stdout", 2: "stderr", 3: "system" };

  var box, status, count, follow, taskSel, search;
  var runID, total = 0, firstSeq = 0, lastSeq = 0, done = false;
  var queue = [], scheduled = false, socket = null, retry = 1000;
  var earlierBtn = null, emptyNote = null;
  var panelChanged = function () {};

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  // ansi turns text with SGR colour codes into spans; other escape codes
  // (cursor moves, line clears) are dropped. Text is only ever set as text.
  function ansi(text, into) {
    text = text.replace(/\x1b\[[0-9;?]*[A-Za-ln-z]/g, "");
    var re = /\x1b\[([0-9;]*)m/g, at = 0, m, fg = 0, bold = false;
    function push(s) {
      if (!s) return;
      if (!fg && !bold) { into.appendChild(document.createTextNode(s)); return; }
      var span = el("span", (fg ? "ansi-" + fg : "") + (bold ? " ansi-bold" : ""), s);
      into.appendChild(span);
    }
    while ((m = re.exec(text)) !== null) {
      push(text.slice(at, m.index));
      at = re.lastIndex;
      var codes = m[1] === "" ? [0] : m[1].split(";").map(Number);
      for (var i = 0; i < codes.length; i++) {
        var c = codes[i];
        if (c === 0) { fg = 0; bold = false; }
        else if (c === 1) bold = true;
        else if (c === 22) bold = false;
        else if (c === 39) fg = 0;
        else if ((c >= 30 && c <= 37) || (c >= 90 && c <= 97)) fg = c;
        else if (c === 38 || c === 48) i += codes[i + 1] === 5 ? 2 : 4; // 256/true colour: skip
      }
    }
    push(text.slice(at));
  }

  // line renders one log line: [seq, task, stream, unix ms, text].
  function line(l) {
    var d = el("div", "line " + (STREAMS[l[2]] || "stdout"));
    d.dataset.seq = l[0];
    d.dataset.task = l[1] || "";
    d.appendChild(el("span", "seq", String(l[0])));
    var t = el("span", "task", l[1] || "baton");
    t.title = new Date(l[3]).toLocaleTimeString();
    d.appendChild(t);
    var x = el("span", "text");
    ansi(l[4], x);
    d.appendChild(x);
    applyFilter(d);
    return d;
  }

  function matches(d) {
    var task = taskSel.value, q = search.value.toLowerCase();
    if (task && d.dataset.task !== task) return false;
    if (q && d.lastChild.textContent.toLowerCase().indexOf(q) < 0) return false;
    return true;
  }

  function applyFilter(d) {
    d.classList.toggle("hidden", !matches(d));
  }

  function refilter() {
    var lines = box.querySelectorAll(".line");
    for (var i = 0; i < lines.length; i++) applyFilter(lines[i]);
    updateCount();
    if (follow.checked) toBottom();
  }

  function toBottom() { box.scrollTop = box.scrollHeight; }

  function updateCount() {
    var shown = box.querySelectorAll(".line:not(.hidden)").length;
    var loaded = box.querySelectorAll(".line").length;
    count.textContent = (shown === loaded ? loaded : shown + " of " + loaded) + " lines shown" +
      (total > loaded ? " · " + total + " in the log" : "");
  }

  function setEarlier() {
    if (firstSeq > 1 && !earlierBtn) {
      earlierBtn = el("button", "btn link note", "Load earlier lines");
      earlierBtn.type = "button";
      earlierBtn.dataset.testid = "load-earlier";
      earlierBtn.addEventListener("click", loadEarlier);
      box.insertBefore(earlierBtn, box.firstChild);
    } else if (firstSeq <= 1 && earlierBtn) {
      earlierBtn.remove();
      earlierBtn = null;
    }
  }

  // add queues lines from the live stream; they are drawn on the next frame.
  function add(lines) {
    for (var i = 0; i < lines.length; i++) {
      if (lines[i][0] > lastSeq) {
        queue.push(lines[i]);
        lastSeq = lines[i][0];
      }
    }
    total = Math.max(total, lastSeq);
    if (!scheduled && queue.length) {
      scheduled = true;
      requestAnimationFrame(flush);
    }
  }

  function flush() {
    scheduled = false;
    var batch = queue;
    queue = [];
    if (batch.length > MAX_LINES) batch = batch.slice(batch.length - MAX_LINES);
    if (emptyNote && batch.length) { emptyNote.remove(); emptyNote = null; }
    var frag = document.createDocumentFragment();
    for (var i = 0; i < batch.length; i++) frag.appendChild(line(batch[i]));
    box.appendChild(frag);
    if (!firstSeq && batch.length) firstSeq = batch[0][0];
    trim();
    updateCount();
    if (follow.checked) toBottom();
  }

  // trim drops the oldest lines past MAX_LINES; they can be loaded again.
  function trim() {
    var lines = box.getElementsByClassName("line");
    var extra = lines.length - MAX_LINES;
    if (extra <= 0) return;
    for (var i = 0; i < extra; i++) lines[0].remove();
    firstSeq = Number(lines[0].dataset.seq);
    setEarlier();
  }

  function fetchLines(params) {
    return fetch("/api/v1/runs/" + runID + "/log?" + params, { credentials: "same-origin" })
      .then(function (r) {
        if (!r.ok) throw new Error("the server answered " + r.status);
        return r.json();
      })
      .then(function (page) {
        return page.lines.map(function (l) {
          return [l.seq, l.task || "", l.stream === "stderr" ? 2 : l.stream === "system" ? 3 : 1, Date.parse(l.time), l.text];
        });
      });
  }

  function loadEarlier() {
    var before = firstSeq;
    earlierBtn.disabled = true;
    fetchLines("before=" + before + "&limit=" + PAGE).then(function (lines) {
      var height = box.scrollHeight, top = box.scrollTop;
      var frag = document.createDocumentFragment();
      for (var i = 0; i < lines.length; i++) frag.appendChild(line(lines[i]));
      var anchor = earlierBtn ? earlierBtn.nextSibling : box.firstChild;
      box.insertBefore(frag, anchor);
      if (lines.length) firstSeq = lines[0][0];
      else firstSeq = 1;
      if (earlierBtn) earlierBtn.disabled = false;
      setEarlier();
      box.scrollTop = top + (box.scrollHeight - height);
      updateCount();
    }).catch(function (err) {
      status.textContent = "Could not load earlier lines: " + err.message;
      if (earlierBtn) earlierBtn.disabled = false;
    });
  }

  function connect() {
    var proto = location.protocol === "https:" ? "wss:" : "ws:";
    socket = new WebSocket(proto + "//" + location.host + "/runs/" + runID + "/live?after=" + lastSeq);
    socket.onopen = function () { retry = 1000; status.textContent = done ? "Run ended" : "Live"; };
    socket.onmessage = function (e) {
      var msg;
      try { msg = JSON.parse(e.data); } catch (err) { return; }
      if (msg.t === "lines") {
        add(msg.lines);
      } else if (msg.t === "run" || msg.t === "task") {
        panelChanged();
        if (msg.t === "run" && msg.done) {
          done = true;
          status.textContent = "Run ended";
        }
      }
    };
    socket.onclose = function (e) {
      socket = null;
      if (e.code === 4401) { location.reload(); return; } // the session ended
      if (done) { status.textContent = "Run ended"; return; }
      status.textContent = "Reconnecting…";
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 15000);
    };
  }

  function start() {
    box = document.getElementById("log");
    if (!box) return;
    status = document.getElementById("log-status");
    count = document.getElementById("log-count");
    follow = document.getElementById("log-follow");
    taskSel = document.getElementById("log-task");
    search = document.getElementById("log-search");
    runID = box.dataset.run;
    panelChanged = window.batonLive("baton:run", 400);
    total = Number(box.dataset.lines) || 0;
    done = box.dataset.done === "true";

    box.addEventListener("scroll", function () {
      var atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 30;
      if (!atBottom && follow.checked) follow.checked = false;
      else if (atBottom && !follow.checked && !done) follow.checked = true;
    });
    follow.addEventListener("change", function () { if (follow.checked) toBottom(); });
    taskSel.addEventListener("change", refilter);
    var timer = null;
    search.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(refilter, 150);
    });
    // Clicking a task in the graph shows its lines.
    document.addEventListener("click", function (e) {
      var a = e.target.closest && e.target.closest("a[data-task]");
      if (!a) return;
      e.preventDefault();
      taskSel.value = taskSel.value === a.dataset.task ? "" : a.dataset.task;
      refilter();
      box.scrollIntoView({ behavior: "smooth", block: "start" });
    });

    var tail = total > 0 ? fetchLines("before=" + (total + 1) + "&limit=" + PAGE) : Promise.resolve([]);
    tail.then(function (lines) {
      var frag = document.createDocumentFragment();
      for (var i = 0; i < lines.length; i++) frag.appendChild(line(lines[i]));
      box.appendChild(frag);
      if (lines.length) {
        firstSeq = lines[0][0];
        lastSeq = lines[lines.length - 1][0];
      }
      if (!lines.length) {
        emptyNote = el("div", "note", done ? "This run wrote no log lines." : "No lines yet; they appear here as tasks write them.");
        box.appendChild(emptyNote);
      }
      setEarlier();
      updateCount();
      toBottom();
      connect();
    }).catch(function (err) {
      status.textContent = "Could not load the log: " + err.message;
    });
  }

  document.addEventListener("DOMContentLoaded", start);
})();
