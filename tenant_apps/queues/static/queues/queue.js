// Work queues: keep the rows a reviewer selected across the 3-second refresh, "select all", and the per-row
// Claim button (it submits the bulk form with that row alone selected).
(function () {
  var body = document.getElementById("queue-body");
  if (!body) return;
  var selected = new Set();
  function remember() {
    selected = new Set(Array.prototype.map.call(body.querySelectorAll('input[name="ids"]:checked'), function (b) { return b.value; }));
  }
  body.addEventListener("change", function (e) {
    if (e.target.matches("[data-select-all]")) {
      body.querySelectorAll('input[name="ids"]').forEach(function (b) { b.checked = e.target.checked; });
    }
    remember();
  });
  body.addEventListener("click", function (e) {
    var one = e.target.closest("[data-claim-one]");
    if (!one) return;
    body.querySelectorAll('input[name="ids"]').forEach(function (b) { b.checked = b.value === one.dataset.claimOne; });
  });
  document.body.addEventListener("htmx:afterSwap", function (e) {
    if (e.detail.target !== body) return;
    body.querySelectorAll('input[name="ids"]').forEach(function (b) { b.checked = selected.has(b.value); });
  });
})();
