#include <facegan/core/error.hpp>
#include <facegan/core/files.hpp>
#include <facegan/eval/report.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

namespace facegan::eval {
namespace fs = std::filesystem;
namespace {

std::string html_escape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string base64(const std::string& bytes) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const uint32_t v = (uint32_t(uint8_t(bytes[i])) << 16) | (uint32_t(uint8_t(bytes[i + 1])) << 8) | uint8_t(bytes[i + 2]);
    for (int k = 3; k >= 0; --k) out += kAlphabet[(v >> (6 * k)) & 63];
  }
  if (i < bytes.size()) {
    uint32_t v = uint32_t(uint8_t(bytes[i])) << 16;
    if (i + 1 < bytes.size()) v |= uint32_t(uint8_t(bytes[i + 1])) << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < bytes.size() ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("report: cannot read " + path.string());
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

/// width/height attributes that show a small grid (32-pixel faces) at a readable size: whole-number
/// upscaling to about 360 pixels high, pixelated by the style sheet. Empty when the PNG header is
/// not readable (the browser then uses the natural size).
std::string display_size(const std::string& png) {
  if (png.size() < 24 || png.compare(1, 3, "PNG") != 0) return "";
  auto be32 = [&](size_t at) {
    return (uint32_t(uint8_t(png[at])) << 24) | (uint32_t(uint8_t(png[at + 1])) << 16) |
           (uint32_t(uint8_t(png[at + 2])) << 8) | uint32_t(uint8_t(png[at + 3]));
  };
  const uint32_t width = be32(16), height = be32(20);
  if (width == 0 || height == 0) return "";
  const uint32_t scale = std::max<uint32_t>(1, std::min<uint32_t>(4, 360 / height));
  return " width=\"" + std::to_string(width * scale) + "\" height=\"" + std::to_string(height * scale) + "\"";
}

std::string format_cell(const json& cell, int precision) {
  if (cell.is_string()) return cell.get<std::string>();
  if (cell.is_number_integer()) return std::to_string(cell.get<int64_t>());
  if (cell.is_number()) {
    const double v = cell.get<double>();
    if (!std::isfinite(v)) return "n/a";
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", precision, v);
    return buf;
  }
  if (cell.is_null()) return "";
  return cell.dump();
}

std::string table_html(const ReportTable& t) {
  std::ostringstream h;
  h << "<table>\n";
  if (!t.title.empty()) h << "<caption>" << html_escape(t.title) << "</caption>\n";
  h << "<thead><tr>";
  for (const auto& c : t.columns) h << "<th>" << html_escape(c) << "</th>";
  h << "</tr></thead>\n<tbody>\n";
  for (const auto& row : t.rows) {
    h << "<tr>";
    for (size_t i = 0; i < row.size(); ++i) {
      h << (i == 0 ? "<th scope=\"row\">" : "<td>") << html_escape(format_cell(row[i], t.precision))
        << (i == 0 ? "</th>" : "</td>");
    }
    h << "</tr>\n";
  }
  h << "</tbody></table>\n";
  if (!t.note.empty()) h << "<p class=\"note\">" << html_escape(t.note) << "</p>\n";
  return h.str();
}

/// One small line plot (a loss against the step) as inline SVG.
std::string curve_svg(const std::string& name, const std::vector<std::pair<double, double>>& points, int max_points) {
  const double width = 280, height = 150, left = 46, right = 8, top = 20, bottom = 22;
  std::vector<std::pair<double, double>> pts;
  const size_t stride = std::max<size_t>(1, (points.size() + max_points - 1) / std::max(max_points, 1));
  for (size_t i = 0; i < points.size(); i += stride) pts.push_back(points[i]);
  if (!points.empty() && pts.back() != points.back()) pts.push_back(points.back());
  double x0 = pts.front().first, x1 = pts.back().first;
  double y0 = pts.front().second, y1 = y0;
  for (const auto& p : pts) y0 = std::min(y0, p.second), y1 = std::max(y1, p.second);
  if (x1 <= x0) x1 = x0 + 1;
  if (y1 <= y0) y1 = y0 + (y0 == 0 ? 1 : std::abs(y0) * 0.1);
  auto sx = [&](double x) { return left + (x - x0) / (x1 - x0) * (width - left - right); };
  auto sy = [&](double y) { return top + (1.0 - (y - y0) / (y1 - y0)) * (height - top - bottom); };
  char buf[128];
  std::ostringstream s;
  s << "<svg class=\"plot\" width=\"" << width << "\" height=\"" << height << "\" viewBox=\"0 0 " << width << ' '
    << height << "\" role=\"img\" aria-label=\"" << html_escape(name) << "\">";
  s << "<text x=\"" << left << "\" y=\"13\" class=\"title\">" << html_escape(name) << "</text>";
  s << "<rect x=\"" << left << "\" y=\"" << top << "\" width=\"" << width - left - right << "\" height=\""
    << height - top - bottom << "\" class=\"frame\"/>";
  std::snprintf(buf, sizeof buf, "%.4g", y1);
  s << "<text x=\"" << left - 3 << "\" y=\"" << top + 8 << "\" class=\"axis\" text-anchor=\"end\">" << buf << "</text>";
  std::snprintf(buf, sizeof buf, "%.4g", y0);
  s << "<text x=\"" << left - 3 << "\" y=\"" << height - bottom << "\" class=\"axis\" text-anchor=\"end\">" << buf
    << "</text>";
  std::snprintf(buf, sizeof buf, "%.0f", x0);
  s << "<text x=\"" << left << "\" y=\"" << height - 6 << "\" class=\"axis\">" << buf << "</text>";
  std::snprintf(buf, sizeof buf, "step %.0f", x1);
  s << "<text x=\"" << width - right << "\" y=\"" << height - 6 << "\" class=\"axis\" text-anchor=\"end\">" << buf
    << "</text>";
  s << "<polyline class=\"line\" points=\"";
  for (const auto& p : pts) {
    std::snprintf(buf, sizeof buf, "%.1f,%.1f ", sx(p.first), sy(p.second));
    s << buf;
  }
  s << "\"/></svg>";
  return s.str();
}

struct RunData {
  std::map<std::string, std::vector<std::pair<double, double>>> curves;  // loss name -> (step, value)
  json last_eval;
  int64_t last_eval_step = -1;
};

RunData read_metrics(const fs::path& path) {
  RunData run;
  std::ifstream in(path);
  if (!in) throw Error("report: cannot read " + path.string());
  std::string line;
  int64_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty()) continue;
    json record;
    try {
      record = json::parse(line);
    } catch (const json::exception& e) {
      // A run killed mid-write can leave a torn last line; anything else is a broken file.
      if (in.peek() == EOF) break;
      throw Error("report: " + path.string() + " line " + std::to_string(number) + ": " + e.what());
    }
    const double step = record.value("step", 0.0);
    if (record.contains("losses") && record["losses"].is_object()) {
      for (const auto& [name, value] : record["losses"].items()) {
        if (value.is_number()) run.curves[name].emplace_back(step, value.get<double>());
      }
    }
    if (record.contains("eval")) {
      run.last_eval = record["eval"];
      run.last_eval_step = record.value("step", int64_t{0});
    }
  }
  return run;
}

/// The newest sample grid of a run (step_*.png sorts by step: the step is zero-padded).
fs::path newest_sample(const fs::path& run_dir) {
  const fs::path dir = run_dir / "samples";
  fs::path best;
  if (!fs::is_directory(dir)) return best;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("step_", 0) == 0 && e.path().extension() == ".png" && (best.empty() || name > best.filename().string())) {
      best = e.path();
    }
  }
  return best;
}

std::string eval_html(const json& ev, int64_t step) {
  ReportTable t;
  t.title = "Evaluation at step " + std::to_string(step);
  t.columns = {"metric", "value"};
  for (const auto& [key, value] : ev.items()) {
    if (value.is_number()) t.rows.push_back({key, value});
  }
  return t.rows.empty() ? std::string() : table_html(t);
}

std::string anchor(const std::string& s) {
  std::string a;
  for (char c : s) a += std::isalnum(static_cast<unsigned char>(c)) ? c : '-';
  return a;
}

std::vector<fs::path> sorted_entries(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

bool is_table_file(const fs::path& p) {
  const std::string name = p.filename().string();
  return name.size() > 11 && name.compare(name.size() - 11, 11, ".table.json") == 0;
}

/// Tables and runs of one section, found recursively in sorted order.
bool is_figure_file(const fs::path& p) {
  const std::string name = p.filename().string();
  return name.size() > 11 && name.compare(name.size() - 11, 11, ".figure.png") == 0;
}

void collect(const fs::path& dir, std::vector<fs::path>& tables, std::vector<fs::path>& runs,
             std::vector<fs::path>& figures) {
  if (fs::exists(dir / "metrics.jsonl")) runs.push_back(dir);
  for (const auto& p : sorted_entries(dir)) {
    if (fs::is_directory(p)) {
      if (p.filename() != "samples" && p.filename() != "checkpoints") collect(p, tables, runs, figures);
    } else if (is_table_file(p)) {
      tables.push_back(p);
    } else if (is_figure_file(p)) {
      figures.push_back(p);
    }
  }
}

constexpr const char* kStyle = R"(
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px auto;max-width:1180px;color:#1d2330;padding:0 16px}
h1{font-size:26px;margin-bottom:4px} h2{border-bottom:2px solid #d6dbe6;padding-bottom:4px;margin-top:36px}
h3{font-size:16px;margin:22px 0 8px} nav a{margin-right:14px} .meta{color:#5b6477;font-size:13px}
table{border-collapse:collapse;margin:8px 0 4px;font-size:14px} caption{text-align:left;font-weight:600;padding:4px 0}
th,td{border:1px solid #cfd5e1;padding:4px 10px;text-align:right} thead th{background:#eef1f6;text-align:center}
tbody th{text-align:left;font-weight:500;background:#f8f9fb} .note{color:#5b6477;font-size:12px;margin:2px 0 14px}
figure{margin:8px 0} figure img{image-rendering:pixelated;border:1px solid #cfd5e1;max-width:100%}
figcaption{font-size:13px;color:#5b6477;margin-bottom:4px} .plots{display:flex;flex-wrap:wrap;gap:10px}
.plot .frame{fill:#fbfcfe;stroke:#cfd5e1} .plot .line{fill:none;stroke:#2f6fde;stroke-width:1.5}
.plot .title{font-size:12px;font-weight:600;fill:#1d2330} .plot .axis{font-size:10px;fill:#5b6477}
)";

// Counts what the browser really shows (decoded, laid out with a size): a headless browser's DOM
// dump then tells a test whether images and tables made it onto the page.
constexpr const char* kScript = R"(
window.addEventListener('load', function () {
  var images = 0, tables = 0;
  for (var i = 0; i < document.images.length; ++i) {
    var im = document.images[i];
    if (im.complete && im.naturalWidth > 0 && im.offsetWidth > 0) ++images;
  }
  var all = document.querySelectorAll('table');
  for (var k = 0; k < all.length; ++k) if (all[k].offsetHeight > 0 && all[k].rows.length > 1) ++tables;
  document.body.setAttribute('data-images-loaded', String(images));
  document.body.setAttribute('data-tables-shown', String(tables));
});
)";

}  // namespace

json table_to_json(const ReportTable& t) {
  json rows = json::array();
  for (const auto& r : t.rows) rows.push_back(json(r));
  return json{{"title", t.title}, {"columns", t.columns}, {"rows", rows}, {"note", t.note}, {"precision", t.precision}};
}

ReportTable table_from_json(const json& j, const std::string& where) {
  if (!j.is_object()) throw ConfigError(where + ": a table is a JSON object");
  ReportTable t;
  try {
    t.title = j.value("title", "");
    t.note = j.value("note", "");
    t.precision = j.value("precision", 3);
    if (!j.contains("columns") || !j["columns"].is_array()) throw ConfigError(where + ".columns: missing or not an array");
    t.columns = j["columns"].get<std::vector<std::string>>();
    if (!j.contains("rows") || !j["rows"].is_array()) throw ConfigError(where + ".rows: missing or not an array");
  } catch (const json::exception& e) {
    throw ConfigError(where + ": " + e.what());
  }
  for (size_t i = 0; i < j["rows"].size(); ++i) {
    const json& row = j["rows"][i];
    if (!row.is_array() || row.size() != t.columns.size()) {
      throw ConfigError(where + ".rows[" + std::to_string(i) + "]: expected an array of " +
                        std::to_string(t.columns.size()) + " cells (one per column), got " + row.dump());
    }
    t.rows.push_back(row.get<std::vector<json>>());
  }
  if (t.precision < 0 || t.precision > 12) throw ConfigError(where + ".precision: must be in [0, 12]");
  return t;
}

std::string table_to_markdown(const ReportTable& t) {
  std::ostringstream md;
  if (!t.title.empty()) md << "**" << t.title << "**\n\n";
  auto line = [&](const std::vector<std::string>& cells) {
    md << "|";
    for (const auto& c : cells) md << " " << c << " |";
    md << "\n";
  };
  line(t.columns);
  line(std::vector<std::string>(t.columns.size(), "---"));
  for (const auto& row : t.rows) {
    std::vector<std::string> cells;
    for (const auto& c : row) cells.push_back(format_cell(c, t.precision));
    line(cells);
  }
  if (!t.note.empty()) md << "\n" << t.note << "\n";
  return md.str();
}

void write_table(const ReportTable& table, const std::string& path) {
  table_from_json(table_to_json(table), path);  // the same checks as reading it back
  write_file_atomic(path, table_to_json(table).dump(2) + "\n");
}

ReportTable read_table(const std::string& path) { return table_from_json(load_json_file(path), path); }

ReportSummary write_report(const std::string& root_text, const std::string& out_html, const ReportOptions& options) {
  const fs::path root(root_text);
  if (!fs::is_directory(root)) throw Error("report: " + root_text + " is not a folder");
  ReportSummary summary;
  std::ostringstream body;

  struct Section {
    std::string id, title, description;
    std::vector<fs::path> tables, runs, figures;
  };
  std::vector<Section> sections;
  {
    Section top{"overview", "Overview", "", {}, {}, {}};
    for (const auto& p : sorted_entries(root)) {
      if (!fs::is_directory(p) && is_table_file(p)) top.tables.push_back(p);
    }
    if (!top.tables.empty()) sections.push_back(top);
  }
  for (const auto& p : sorted_entries(root)) {
    if (!fs::is_directory(p)) continue;
    Section s{anchor(p.filename().string()), p.filename().string(), "", {}, {}, {}};
    collect(p, s.tables, s.runs, s.figures);
    if (s.tables.empty() && s.runs.empty() && s.figures.empty()) continue;
    if (fs::exists(p / "section.json")) {
      const json meta = load_json_file((p / "section.json").string());
      s.title = meta.value("title", s.title);
      s.description = meta.value("description", "");
    }
    sections.push_back(std::move(s));
  }

  for (const auto& s : sections) {
    ++summary.sections;
    body << "<section id=\"" << s.id << "\">\n<h2>" << html_escape(s.title) << "</h2>\n";
    if (!s.description.empty()) body << "<p>" << html_escape(s.description) << "</p>\n";
    for (const auto& t : s.tables) {
      body << table_html(read_table(t.string()));
      ++summary.tables;
    }
    for (const auto& f : s.figures) {
      // The caption: <name>.figure.txt beside the picture, else its file name.
      fs::path caption_file = f;
      caption_file.replace_extension(".txt");
      const std::string caption = fs::exists(caption_file) ? read_bytes(caption_file) : f.filename().string();
      const std::string png = read_bytes(f);
      body << "<figure><figcaption>" << html_escape(caption) << "</figcaption><img alt=\"" << html_escape(f.filename().string())
           << "\"" << display_size(png) << " src=\"data:image/png;base64," << base64(png) << "\"></figure>\n";
      ++summary.images;
    }
    for (const auto& run : s.runs) {
      const RunData data = read_metrics(run / "metrics.jsonl");
      const std::string name = fs::relative(run, root).string();
      body << "<h3>Run " << html_escape(name) << "</h3>\n";
      const fs::path grid = newest_sample(run);
      if (!grid.empty()) {
        std::string caption = "Samples (" + grid.filename().string() + ")";
        const fs::path columns = run / "samples" / "columns.json";
        if (fs::exists(columns)) {
          const json names = load_json_file(columns.string());
          std::string joined;
          for (const auto& n : names) joined += (joined.empty() ? "" : " | ") + n.get<std::string>();
          caption += ", columns: " + joined;
        }
        const std::string png = read_bytes(grid);
        body << "<figure><figcaption>" << html_escape(caption) << "</figcaption><img alt=\"samples of "
             << html_escape(name) << "\"" << display_size(png) << " src=\"data:image/png;base64," << base64(png)
             << "\"></figure>\n";
        ++summary.images;
      }
      if (!data.curves.empty()) {
        body << "<div class=\"plots\">";
        for (const auto& [loss, points] : data.curves) {
          body << curve_svg(loss, points, options.max_curve_points);
          ++summary.plots;
        }
        body << "</div>\n";
      }
      if (data.last_eval_step >= 0) {
        const std::string ev = eval_html(data.last_eval, data.last_eval_step);
        if (!ev.empty()) {
          body << ev;
          ++summary.tables;
        }
      }
    }
    body << "</section>\n";
  }

  std::ostringstream page;
  page << "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" << html_escape(options.title)
       << "</title><style>" << kStyle << "</style></head>\n<body data-images=\"" << summary.images
       << "\" data-tables=\"" << summary.tables << "\" data-plots=\"" << summary.plots << "\">\n<h1>"
       << html_escape(options.title) << "</h1>\n<p class=\"meta\">" << html_escape(fs::absolute(root).string())
       << "</p>\n<nav>";
  for (const auto& s : sections) page << "<a href=\"#" << s.id << "\">" << html_escape(s.title) << "</a>";
  page << "</nav>\n" << body.str() << "<script>" << kScript << "</script>\n</body></html>\n";
  write_file_atomic(out_html, page.str());
  return summary;
}

}  // namespace facegan::eval
