// SmartCommerce web: the little the pages need beyond HTML. htmx requests carry the CSRF
// token (from the page's meta tag) like the forms do; a focus move after htmx swaps keeps
// keyboard users where the content changed.
(function () {
  "use strict";
  var meta = document.querySelector('meta[name="csrf-token"]');
  document.addEventListener("htmx:configRequest", function (e) {
    if (meta) e.detail.headers["X-CSRF-Token"] = meta.content;
  });
  document.addEventListener("htmx:afterSwap", function (e) {
    var target = e.detail.target;
    if (target && target.hasAttribute("data-focus-after-swap")) {
      target.setAttribute("tabindex", "-1");
      target.focus();
    }
  });
})();
