/* Campaign form helpers; the pages work without them (server-side "Compter" and
   "Appliquer les réglages de ce type" buttons, which this script hides).
   - live count of the seniors the targeting matches, announced in an aria-live region;
   - a new campaign's kind change refills the settings that depend on the kind;
   - fieldsets that only concern one kind are hidden for the others. */
(function () {
  "use strict";

  // After a refused submit, take keyboard and screen-reader users to the list of errors.
  var summary = document.querySelector(".error-summary");
  if (summary) summary.focus();

  var form = document.getElementById("campaign-form");
  if (!form) return;

  Array.prototype.forEach.call(form.querySelectorAll(".js-hide"), function (el) {
    el.hidden = true;
  });

  // ---------------------------------------------------------------- live count
  var output = document.getElementById("live-count");
  var url = form.getAttribute("data-count-url");
  var timer = null;
  var pending = null;

  // The fields the count reads (the rest of the form does not change who matches).
  var COUNTED = [
    "organisation", "campaign_id", "departements", "min_age", "max_age", "lives_alone",
    "canicule_register", "gir_max", "residences", "consent", "priority_only",
  ];

  function query() {
    var params = new URLSearchParams();
    new FormData(form).forEach(function (value, name) {
      if (COUNTED.indexOf(name) !== -1 && typeof value === "string") {
        params.append(name, value);
      }
    });
    return params.toString();
  }

  function show(text, isError) {
    output.textContent = text;
    output.classList.toggle("is-error", !!isError);
  }

  function count() {
    if (pending) pending.abort();
    pending = new AbortController();
    fetch(url + "?" + query(), {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
      signal: pending.signal,
    })
      .then(function (resp) {
        return resp.json().then(function (data) {
          if (resp.ok) show(data.text, false);
          else show(data.error || "Comptage impossible.", true);
        });
      })
      .catch(function (err) {
        if (err && err.name === "AbortError") return;
        show("Comptage impossible pour le moment.", true);
      });
  }

  function later() {
    clearTimeout(timer);
    timer = setTimeout(count, 400);
  }

  if (output && url) {
    form.addEventListener("input", later);
    form.addEventListener("change", later);
    count();
  }

  // ---------------------------------------------------------------- kind defaults
  var kind = form.querySelector("select[name='kind']");
  var defaults = {};
  try {
    defaults = JSON.parse(form.getAttribute("data-kind-defaults") || "{}");
  } catch (e) {
    defaults = {};
  }

  function set(name, value) {
    var el = form.elements.namedItem(name);
    if (!el) return;
    if (el.type === "checkbox") el.checked = !!value;
    else el.value = value == null ? "" : String(value);
  }

  function applyDefaults(k) {
    var d = defaults[k];
    if (!d) return;
    ["mon", "tue", "wed", "thu", "fri", "sat", "sun"].forEach(function (day) {
      var spans = d.window[day] || [];
      [1, 2].forEach(function (i) {
        var span = spans[i - 1];
        set("w_" + day + "_" + i + "_start", span ? span[0] : "");
        set("w_" + day + "_" + i + "_end", span ? span[1] : "");
      });
    });
    set("skip_holidays", d.skip_holidays);
    set("retry_delay_minutes", d.retry_delay_minutes);
    set("max_attempts_per_day", d.max_attempts_per_day);
    set("max_attempts", d.max_attempts);
    var script = form.elements.namedItem("script");
    if (script && script.querySelector("option[value='" + d.script + "']")) script.value = d.script;
  }

  function showKindFieldsets(k) {
    Array.prototype.forEach.call(form.querySelectorAll("fieldset[data-kinds]"), function (fs) {
      var kinds = fs.getAttribute("data-kinds").split(" ");
      fs.hidden = kinds.indexOf(k) === -1;
    });
  }

  var current = kind ? kind.value : null;
  var fixedKind = form.querySelector("[data-kind]");
  if (!current && fixedKind) current = fixedKind.getAttribute("data-kind");
  if (current) showKindFieldsets(current);
  if (kind) {
    kind.addEventListener("change", function () {
      if (form.getAttribute("data-new") === "1") applyDefaults(kind.value);
      showKindFieldsets(kind.value);
    });
  }
})();
