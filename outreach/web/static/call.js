// A refused outcome form: the summary of what to fix takes the focus (and so the view),
// whatever was scrolled, so that a keyboard or screen-reader user lands on it.
(function () {
  var summary = document.getElementById("error-summary");
  if (summary) {
    summary.scrollIntoView({ block: "start" });
    summary.focus();
  }
})();
