/* The SLA due column of django-helpdesk's ticket list.
 * Runs before the list's own start-up code and wraps DataTable() so the ticket
 * table gets one more column, sorted on the server by soonest due first. */
(function ($) {
  "use strict";
  if (!$) { return; }
  var BADGES = {breached: "danger", active: "primary", paused: "secondary"};
  function escape(text) {
    return String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
  }
  function render(data, type, row) {
    if (type !== "display") { return data || ""; }
    if (!data) { return row.sla_state === "paused" ? '<span class="badge text-bg-secondary sla-cell">paused</span>' : ""; }
    var due = new Date(data);
    var badge = BADGES[row.sla_state] || "secondary";
    return '<span class="sla-cell badge text-bg-' + badge + '" data-due="' + escape(data) + '">' +
      escape(row.sla_left) + '</span> <span class="small text-body-secondary">' +
      escape(due.toLocaleString()) + '</span>';
  }
  $(function () {
    var original = $.fn.DataTable;
    if (!original) { return; }
    var wrapped = function (options) {
      if (this.is("#ticketTable") && options && options.columns && !options.slaColumn) {
        options.slaColumn = true;
        this.find("thead tr").append('<th class="fw-medium"><span class="text-body-secondary">SLA due</span></th>');
        options.columns.push({data: "sla_due", orderSequence: ["asc", "desc"], render: render});
      }
      return original.apply(this, arguments);
    };
    $.extend(wrapped, original);
    $.fn.DataTable = wrapped;
  });
}(window.jQuery));
