// SmartCommerce shop: live order updates. The order page listens to the order's events
// (Server-Sent Events, passed through by this app) and, on each, sets the status line at once
// and refreshes the progress, timeline and parcels from the server (/orders/{id}/live). Without
// EventSource, or when the stream is gone for good, a reload link stays (the page is whole
// without JavaScript).
(function () {
  "use strict";
  var region = document.getElementById("order-live");
  if (!region || !region.dataset.events || !window.EventSource) return;
  var statusText = document.getElementById("order-status-text");
  var note = document.getElementById("live-note");
  var labels = {};
  try { labels = JSON.parse(region.dataset.labels || "{}"); } catch (e) { labels = {}; }
  var seen = parseInt(region.dataset.version || "0", 10) || 0;
  var tones = { paid: "ok", shipped: "ok", delivered: "ok", completed: "ok",
    cancelled: "bad", payment_failed: "bad", refunded: "bad" };
  var pending = null;
  var retries = 0;
  var source = null;
  var ended = false;

  function label(status) {
    return labels[status] || String(status || "").replace(/_/g, " ");
  }

  function setStatus(status, text, tone) {
    if (!statusText || !status || statusText.dataset.status === status) return;
    statusText.dataset.status = status;
    statusText.textContent = text || label(status);
    statusText.className = "badge " + (tone || tones[status] || "warn");
  }

  function refresh() {
    pending = null;
    fetch(region.dataset.live, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        var box = document.createElement("div");
        box.innerHTML = html;
        var inner = box.querySelector(".order-live-inner");
        if (!inner) return;
        var version = parseInt(inner.dataset.version || "0", 10) || 0;
        if (version < seen && retries < 5) { retries += 1; schedule(800); return; }
        retries = 0;
        var current = region.querySelector(".order-live-inner");
        if (current) current.replaceWith(inner); else region.appendChild(inner);
        setStatus(inner.dataset.status, inner.dataset.label, inner.dataset.tone);
      })
      .catch(function () { schedule(3000); });
  }

  function schedule(ms) {
    if (pending) clearTimeout(pending);
    pending = setTimeout(refresh, ms);
  }

  function onOrder(e) {
    var data = {};
    try { data = JSON.parse(e.data); } catch (err) { return; }
    if (typeof data.version === "number" && data.version > seen) seen = data.version;
    setStatus(data.status);
    schedule(150);
  }

  function connect() {
    source = new EventSource(region.dataset.events);
    source.addEventListener("snapshot", onOrder);
    source.addEventListener("order", onOrder);
    source.addEventListener("shipment", function () { schedule(150); });
    source.addEventListener("resync", function () { source.close(); schedule(0); connect(); });
    source.addEventListener("end", function (e) {
      ended = true;
      source.close();
      onOrder(e);
      if (note) note.textContent = "This order has reached its final step.";
    });
    source.onerror = function () {
      // EventSource reconnects by itself; a closed one (refused) leaves the reload link.
      if (!ended && source.readyState === EventSource.CLOSED && note) {
        note.classList.add("warning");
      }
    };
  }

  region.setAttribute("data-live-connected", "true");
  connect();
})();
