"use strict";
(function () {
  var run = JSON.parse(document.getElementById("review-run").textContent);
  var items = Array.prototype.slice.call(document.querySelectorAll("section.review-item"));
  var reviewer = document.getElementById("reviewer");
  var button = document.getElementById("export");
  var link = document.getElementById("download");
  var status = document.getElementById("status");
  document.getElementById("nojs").hidden = true;
  Array.prototype.forEach.call(document.querySelectorAll("fieldset.mark input, fieldset.mark textarea, .export input, .export button"),
    function (el) { el.disabled = false; });

  function marks() {
    var out = [];
    items.forEach(function (item) {
      var chosen = item.querySelector("fieldset.mark input:checked");
      var note = item.querySelector("fieldset.mark textarea").value.trim();
      item.classList.toggle("marked-ok", !!chosen && chosen.value === "ok");
      item.classList.toggle("marked-problem", !!chosen && chosen.value === "problem");
      if (chosen) out.push({ id: item.dataset.id, verdict: chosen.value, note: note });
    });
    return out;
  }
  function refresh() {
    var m = marks();
    var problems = m.filter(function (x) { return x.verdict === "problem"; }).length;
    status.textContent = m.length + " of " + items.length + " marked, " + problems + " problem(s)";
  }
  document.addEventListener("change", refresh);
  document.addEventListener("input", refresh);
  button.addEventListener("click", function () {
    var m = marks();
    var missingNote = m.filter(function (x) { return x.verdict === "problem" && !x.note; });
    if (!reviewer.value.trim()) { status.textContent = "Type your name as the reviewer first."; reviewer.focus(); return; }
    if (missingNote.length) { status.textContent = "A problem needs a note: " + missingNote.map(function (x) { return x.id; }).join(", "); return; }
    var review = { format: run.format, run: { fingerprint: run.fingerprint }, reviewer: reviewer.value.trim(),
                   exported_at: new Date().toISOString(), shortlists: items.length, marks: m };
    var blob = new Blob([JSON.stringify(review, null, 2) + "\n"], { type: "application/json" });
    if (link.href) URL.revokeObjectURL(link.href);
    link.href = URL.createObjectURL(blob);
    link.download = "shortlist-review-" + run.fingerprint + ".json";
    link.hidden = false;
    status.textContent = m.length + " of " + items.length + " marked; saved as " + link.download;
    link.click();
  });
  refresh();
})();
