/* Live countdowns for the hour-based deadlines (the 72 hours of a CNIL notification...).
 *
 * Every 30 seconds, each <time class="countdown" datetime="2025-03-31T09:00:00Z"> gets the time left
 * before (or elapsed since) its due time, in the page's language: the formats come from the data
 * attributes of the closest [data-countdown-days] element (the table), written by the server with
 * the same translated strings as vigie.deadlines.status.remaining_text, e.g. "%(days)d j %(hours)d h".
 * The server already renders the right text: without this script the page is only less fresh.
 * Loaded with <script src defer> (the CSP allows scripts from 'self' only: nothing inline).
 */
(function () {
  "use strict";

  var PERIOD_MS = 30000;

  function fill(format, values) {
    // Python's %(name)d placeholders, as the catalogs write them.
    return format.replace(/%\((\w+)\)d/g, function (whole, name) {
      return Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : whole;
    });
  }

  function remainingText(ms, formats) {
    // As remaining_text(): whole seconds, then days and hours, hours and minutes, or minutes.
    var seconds = Math.floor(Math.abs(ms) / 1000);
    var days = Math.floor(seconds / 86400);
    var rest = seconds % 86400;
    var hours = Math.floor(rest / 3600);
    var minutes = Math.floor((rest % 3600) / 60);
    if (days) {
      return fill(formats.days, { days: days, hours: hours });
    }
    if (hours) {
      return fill(formats.hours, { hours: hours, minutes: minutes });
    }
    return fill(formats.minutes, { minutes: minutes });
  }

  function update() {
    var now = Date.now();
    var stamp = new Date(now).toISOString();
    document.querySelectorAll("time.countdown[datetime]").forEach(function (el) {
      var holder = el.closest("[data-countdown-days]");
      var due = Date.parse(el.getAttribute("datetime"));
      if (!holder || isNaN(due)) {
        return;
      }
      var data = holder.dataset;
      var delta = due - now;
      el.textContent = remainingText(delta, {
        days: data.countdownDays,
        hours: data.countdownHours,
        minutes: data.countdownMinutes
      });
      var wrapper = el.closest(".remaining");
      var label = wrapper ? wrapper.querySelector(".countdown-label") : null;
      if (label) {
        label.textContent = delta < 0 ? data.countdownLate : data.countdownLeft;
        wrapper.classList.toggle("remaining-late", delta < 0);
      }
      el.setAttribute("data-countdown-updated", stamp);
    });
  }

  function start() {
    update();
    window.setInterval(update, PERIOD_MS);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
