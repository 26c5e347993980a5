#pragma once
// The HTML report of a set of runs: what `facegan report` and the demo write. The report knows no
// paper: it reads what the trainer and the experiment programs leave on disk (metrics.jsonl,
// samples/step_*.png with samples/columns.json, *.table.json evaluation tables, and *.figure.png
// pictures with their caption in the *.figure.txt beside them) and lays them
// out as one self-contained page (images embedded as data: URIs, loss curves as inline SVG), so the
// file can be mailed or archived alone.

#include <facegan/core/config.hpp>

#include <string>
#include <vector>

namespace facegan::eval {

/// An evaluation table: a title, column names and rows of cells (strings or numbers; numbers are
/// printed with `precision` decimals). Stored as JSON {"title", "columns", "rows", "note",
/// "precision"} in files named *.table.json.
struct ReportTable {
  std::string title;
  std::vector<std::string> columns;
  std::vector<std::vector<json>> rows;
  /// Shown under the table: how the numbers were produced (the command, the data).
  std::string note;
  int precision = 3;
};

/// Table as JSON (the *.table.json form).
json table_to_json(const ReportTable& table);
/// Inverse of table_to_json; ConfigError naming `where` and the key when malformed (a row whose
/// length differs from the column count included).
ReportTable table_from_json(const json& j, const std::string& where = "table");
/// The table as GitHub markdown: the title in bold, the header, the rows (numbers with the table's
/// precision), the note under it.
std::string table_to_markdown(const ReportTable& table);

/// Writes `table` to `path` atomically (a crash never leaves half a file).
void write_table(const ReportTable& table, const std::string& path);
/// Reads a *.table.json file; ConfigError naming the file when it is missing or malformed.
ReportTable read_table(const std::string& path);

/// Options of write_report.
struct ReportOptions {
  std::string title = "facegan report";
  /// Loss curves are thinned to at most this many points per curve.
  int max_curve_points = 300;
};

/// What write_report put on the page (a test and the demo check it).
struct ReportSummary {
  int sections = 0;
  int images = 0;
  int tables = 0;
  int plots = 0;
};

/// Writes an HTML report of the runs under `root` to `out_html`. Every sub-folder of `root` (sorted
/// by name) that holds something becomes a section; inside it, recursively, every *.table.json is an
/// evaluation table, and every folder with a metrics.jsonl is a run: its loss curves (one small plot
/// per loss), its last evaluation record and its newest sample grid (column names from
/// samples/columns.json). An optional section.json {"title", "description"} names the section.
/// Tables directly in `root` form a first section. The page sets data-images / data-tables on
/// <body> and, once loaded, data-images-loaded (images the browser decoded), so a headless browser
/// can check what it shows. Error naming the file when one cannot be read or the output not written.
ReportSummary write_report(const std::string& root, const std::string& out_html,
                           const ReportOptions& options = ReportOptions());

}  // namespace facegan::eval
