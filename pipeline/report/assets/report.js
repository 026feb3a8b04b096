/* The benefits report's only script (inlined; nothing is fetched). The charts are complete
   without it: it adds an instant hover label for chart points, bars and status cells (their
   SVG <title> gives the same text more slowly without the script) and the print button. */
(function () {
  "use strict";
  var SELECTOR = ".pt, .q, .fy, .fy-suppressed, .bar, .status-cell, .limit, .target";
  var tip = document.createElement("div");
  tip.className = "tooltip";
  tip.setAttribute("role", "status");
  tip.hidden = true;
  document.body.appendChild(tip);

  // Move each mark's <title> into aria-label and data-tip, so the label shows at once
  // and the browser's delayed native tooltip does not show the same text a second time.
  var marks = document.querySelectorAll(SELECTOR);
  for (var i = 0; i < marks.length; i++) {
    var t = marks[i].querySelector(":scope > title");
    if (t) {
      marks[i].setAttribute("data-tip", t.textContent);
      marks[i].setAttribute("aria-label", t.textContent);
      marks[i].removeChild(t);
    }
  }

  var active = null;
  function show(el, x, y) {
    if (active && active !== el) active.classList.remove("is-active");
    active = el;
    el.classList.add("is-active");
    tip.textContent = el.getAttribute("data-tip");
    tip.hidden = false;
    var w = tip.offsetWidth, h = tip.offsetHeight;
    var left = Math.min(x + 14, window.innerWidth - w - 8);
    var top = y - h - 12 < 4 ? y + 16 : y - h - 12;
    tip.style.left = Math.max(4, left) + "px";
    tip.style.top = top + "px";
  }
  function hide() {
    if (active) active.classList.remove("is-active");
    active = null;
    tip.hidden = true;
  }
  document.addEventListener("mouseover", function (e) {
    var el = e.target.closest ? e.target.closest("[data-tip]") : null;
    if (el) show(el, e.clientX, e.clientY); else hide();
  });
  document.addEventListener("mousemove", function (e) {
    if (active) show(active, e.clientX, e.clientY);
  });
  document.addEventListener("scroll", hide, { passive: true });

  var buttons = document.querySelectorAll("[data-action=print]");
  for (var j = 0; j < buttons.length; j++) {
    buttons[j].addEventListener("click", function () { window.print(); });
  }
  window.addEventListener("beforeprint", hide);
  document.documentElement.setAttribute("data-report-ready", String(marks.length));
})();
