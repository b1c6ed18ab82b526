"use strict";
(function () {
  var panel = document.getElementById("filters");
  if (!panel) return;
  panel.hidden = false;  // without JavaScript every scenario simply stays listed
  var items = Array.prototype.slice.call(document.querySelectorAll("details.scenario"));
  var search = document.getElementById("search");
  var tag = document.getElementById("tag");
  var shown = document.getElementById("shown");
  var boxes = Array.prototype.slice.call(panel.querySelectorAll("input[name=status]"));
  function apply() {
    var statuses = boxes.filter(function (b) { return b.checked; }).map(function (b) { return b.value; });
    var needle = search.value.trim().toLowerCase();
    var wanted = tag.value ? " " + tag.value + " " : "";
    var count = 0;
    items.forEach(function (el) {
      var ok = statuses.indexOf(el.dataset.status) >= 0
        && (!wanted || el.dataset.tags.indexOf(wanted) >= 0)
        && (!needle || el.textContent.toLowerCase().indexOf(needle) >= 0);
      el.hidden = !ok;
      if (ok) count += 1;
    });
    shown.textContent = count + " of " + items.length + " shown";
  }
  panel.addEventListener("input", apply);
  panel.addEventListener("change", apply);
  apply();
})();
