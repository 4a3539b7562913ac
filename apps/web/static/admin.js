// Admin pages: a form marked data-confirm asks before it is sent (an action on live
// orders, users or services); confirmed, it carries confirm=yes so the server does not ask
// again. Without JavaScript the server's own confirmation page asks instead.
(function () {
  "use strict";
  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-confirm")) return;
    if (!window.confirm(form.getAttribute("data-confirm"))) {
      e.preventDefault();
      return;
    }
    var flag = form.querySelector('input[name="confirm"]');
    if (!flag) {
      flag = document.createElement("input");
      flag.type = "hidden";
      flag.name = "confirm";
      form.appendChild(flag);
    }
    flag.value = "yes";
  });
})();
