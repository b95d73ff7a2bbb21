// Baton web UI: live updates for every page.
//
// One websocket (/ws/events) carries a small message whenever a run or a
// task changes. Messages become a "baton:change" event on <body>, at most
// one a second and always one after the last change; parts of the page that
// show live data (the navigation badges, the dashboard, run lists) re-fetch
// themselves from the server on that event with htmx. The server renders;
// this file only rings the bell.
(function () {
  "use strict";

  var socket = null;
  var retry = 1000;

  // throttled returns fn limited to one call per wait ms that always makes
  // a last call after the final request, so the page ends up current.
  function throttled(fn, wait) {
    var last = 0, timer = null;
    return function () {
      var now = Date.now();
      if (timer) return;
      var delay = Math.max(0, last + wait - now);
      timer = setTimeout(function () { timer = null; last = Date.now(); fn(); }, delay);
    };
  }

  // Live parts re-fetch themselves on an event dispatched on <body>. An
  // event can miss one: htmx drops a trigger while the part's own request
  // is in flight, and a part just swapped in listens only once settled.
  // So the dispatches of each event are counted, each request remembers
  // the counts when it was sent, and a live part that settles having
  // missed a dispatch of its event asks again.
  var dispatched = {};
  var sentAt = new WeakMap();
  var live = {};

  // batonLive returns the throttled dispatcher of the live event name.
  function batonLive(name, wait) {
    if (!live[name]) {
      dispatched[name] = 0;
      live[name] = throttled(function () {
        dispatched[name]++;
        document.body.dispatchEvent(new CustomEvent(name));
      }, wait);
    }
    return live[name];
  }
  window.batonLive = batonLive;

  document.addEventListener("htmx:beforeRequest", function (e) {
    if (e.detail.xhr) sentAt.set(e.detail.xhr, Object.assign({}, dispatched));
  });
  document.addEventListener("htmx:afterSettle", function (e) {
    var elt = e.target, xhr = e.detail && e.detail.xhr;
    var sent = xhr && sentAt.get(xhr);
    if (!sent || !elt.getAttribute) return;
    var m = /(baton:[a-z]+) from:body/.exec(elt.getAttribute("hx-trigger") || "");
    if (m && live[m[1]] && sent[m[1]] !== dispatched[m[1]]) live[m[1]]();
  });

  var changed = batonLive("baton:change", 1000);

  function url(path) {
    var proto = location.protocol === "https:" ? "wss:" : "ws:";
    return proto + "//" + location.host + path;
  }

  function connect() {
    if (!document.body || document.body.dataset.live === "off") return;
    socket = new WebSocket(url("/ws/events"));
    socket.onopen = function () { retry = 1000; document.body.dataset.socket = "open"; };
    socket.onmessage = function () { changed(); };
    socket.onclose = function (e) {
      socket = null;
      delete document.body.dataset.socket;
      // 4401: the session ended (logged out, password changed, user
      // removed); reloading leads to the login form.
      if (e.code === 4401) { location.reload(); return; }
      // Reconnect with a capped backoff; on reconnect the page may have
      // missed changes, so refresh the live parts once.
      setTimeout(function () {
        connect();
        changed();
      }, retry);
      retry = Math.min(retry * 2, 30000);
    };
  }

  document.addEventListener("DOMContentLoaded", connect);

  // A server answer that asks for a full page load (a new run was started)
  // comes as an HX-Redirect header, which htmx follows itself. Errors from
  // htmx requests are shown instead of failing silently.
  document.addEventListener("htmx:responseError", function (e) {
    var xhr = e.detail.xhr;
    if (xhr && xhr.status >= 500) {
      alert("The server could not do that (" + xhr.status + "). The server log has the details.");
    }
  });
})();
