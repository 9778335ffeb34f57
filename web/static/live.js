// Herald live updates. A page with an element id="live-root" carrying
// data-events (the URL of the server's event stream) refreshes that element
// in place whenever the stream reports something: the page is fetched again
// and only the live region is swapped, so scrolling, open forms and the rest
// of the page stay as they are. Without JavaScript the page is the same,
// only static.
(function () {
  "use strict";
  var root = document.getElementById("live-root");
  if (!root || !window.EventSource || !window.fetch || !window.DOMParser) {
    return;
  }
  var src = root.getAttribute("data-events");
  if (!src) {
    return;
  }
  var timer = null;
  var busy = false;
  var again = false;
  var updates = 0;
  var retried = false;

  function refresh() {
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    fetch(window.location.href, { credentials: "same-origin", cache: "no-store", headers: { Accept: "text/html" } })
      .then(function (resp) {
        if (!resp.ok) {
          throw new Error("status " + resp.status);
        }
        return resp.text();
      })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("live-root");
        var cur = document.getElementById("live-root");
        if (!fresh || !cur) {
          return;
        }
        if (fresh.innerHTML === cur.innerHTML) {
          // The host's history may record an event a moment after this
          // page hears of it: look once more before settling.
          if (!retried) {
            retried = true;
            setTimeout(schedule, 1000);
          }
          return;
        }
        retried = false;
        cur.replaceWith(document.importNode(fresh, true));
        updates++;
        document.documentElement.setAttribute("data-live-updates", String(updates));
      })
      .catch(function () {
        // Keep the page as it is; the next event tries again.
      })
      .then(function () {
        busy = false;
        if (again) {
          again = false;
          schedule();
        }
      });
  }

  // Events come in bursts (a step ends, the next starts): refresh once per
  // burst.
  function schedule() {
    if (timer === null) {
      timer = setTimeout(function () {
        timer = null;
        refresh();
      }, 200);
    }
  }

  var es = new EventSource(src);
  es.onmessage = function () {
    retried = false;
    schedule();
  };
  es.onopen = function () {
    document.documentElement.setAttribute("data-live", "open");
  };
  window.addEventListener("pagehide", function () {
    es.close();
  });
})();
