import Foundation

extension Workspace {
    /// A whole page around `body`: inline style and script only, and a Content Security Policy
    /// that forbids loading anything else.
    static func page(title: String, body: String) -> String {
        """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(HTML.escape(title))</title>
        <style>\(style)</style>
        </head>
        <body>
        \(body)
        <script>\(script)</script>
        </body>
        </html>

        """
    }

    static let style = """

    body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1d232a; margin: 0 auto; padding: 0 24px 48px; max-width: 1200px; background: #f6f7f9; }
    header { position: sticky; top: 0; background: #f6f7f9; padding: 8px 0; border-bottom: 1px solid #dde1e6; z-index: 1; }
    header h1 { margin: 0 0 4px; font-size: 22px; }
    nav a { margin-right: 12px; }
    section { margin-top: 20px; }
    section.experiment { background: #fff; border: 1px solid #dde1e6; border-radius: 8px; padding: 4px 20px 16px; }
    h2 { font-size: 18px; } h3 { font-size: 15px; margin-top: 22px; } h4 { font-size: 13px; margin: 12px 0 4px; }
    a { color: #0b5cad; text-decoration: none; } a:hover { text-decoration: underline; }
    table { border-collapse: collapse; background: #fff; font-size: 13px; }
    th, td { border: 1px solid #dde1e6; padding: 3px 8px; text-align: left; vertical-align: top; }
    th { background: #eef1f4; }
    table.runs th { cursor: pointer; user-select: none; }
    th[aria-sort=ascending]::after { content: " ▲"; } th[aria-sort=descending]::after { content: " ▼"; }
    code, pre { font: 12px/1.4 ui-monospace, "DejaVu Sans Mono", monospace; }
    pre { background: #f3f5f7; padding: 8px; overflow-x: auto; white-space: pre-wrap; word-break: break-all; max-height: 420px; }
    .diff .add { color: #116329; background: #e6ffec; } .diff .del { color: #82071e; background: #ffebe9; }
    .diff .hunk { color: #6f42c1; } .diff .file { font-weight: 600; }
    svg.chart { max-width: 100%; height: auto; border: 1px solid #e3e6ea; border-radius: 6px; margin: 4px 8px 4px 0; }
    svg.chart a circle:hover { stroke: #000; stroke-width: 2; }
    .small-charts svg.chart { width: 380px; }
    .hint { color: #69737d; font-size: 12px; }
    .badge { padding: 0 6px; border-radius: 8px; font-size: 12px; color: #fff; background: #777; }
    .st-keep { background: #2e9d4a; } .st-discard { background: #9aa3ad; } .st-crash { background: #d62728; }
    .st-timeout { background: #ff7f0e; } .st-no-metric { background: #bc5090; } .st-recheck { background: #1f77b4; }
    .st-agent-error { background: #7f3c8d; } .st-rejected { background: #e377c2; }
    details.run { border-top: 1px solid #e3e6ea; padding: 4px 0; }
    details.run summary { cursor: pointer; }
    details.run:target { background: #fffbe6; }
    section, details { scroll-margin-top: 72px; }

    """

    /// Sorting and filtering of the runs tables, and opening a run's details when linked to.
    static let script = """

    (function () {
      function cell(row, column) {
        var td = row.cells[column], v = td.getAttribute('data-v');
        return v === null ? td.textContent.toLowerCase() : parseFloat(v);
      }
      document.querySelectorAll('table.runs').forEach(function (table) {
        var heads = table.tHead.rows[0].cells;
        Array.prototype.forEach.call(heads, function (th, column) {
          th.addEventListener('click', function () {
            var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
            var order = th.getAttribute('aria-sort') === 'ascending' ? -1 : 1;
            Array.prototype.forEach.call(heads, function (h) { h.removeAttribute('aria-sort'); });
            th.setAttribute('aria-sort', order === 1 ? 'ascending' : 'descending');
            rows.sort(function (a, b) { var x = cell(a, column), y = cell(b, column); return (x < y ? -1 : x > y ? 1 : 0) * order; });
            rows.forEach(function (row) { body.appendChild(row); });
          });
        });
      });
      document.querySelectorAll('select.status-filter').forEach(function (select) {
        select.addEventListener('change', function () {
          var table = document.getElementById(select.getAttribute('data-table'));
          Array.prototype.forEach.call(table.tBodies[0].rows, function (row) {
            row.hidden = select.value !== '' && row.getAttribute('data-status') !== select.value;
          });
        });
      });
      function openTarget() {
        var target = location.hash && document.getElementById(decodeURIComponent(location.hash.slice(1)));
        if (target && target.tagName === 'DETAILS') { target.open = true; }
      }
      window.addEventListener('hashchange', openTarget);
      openTarget();
    })();

    """
}
