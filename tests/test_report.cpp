// The HTML report: tables round-trip, the page holds what the run folders hold, and a real browser
// (headless Chromium, installed by scripts/setup.sh) shows its images and tables.
#include <facegan/core/error.hpp>
#include <facegan/eval/report.hpp>

#include <catch2/catch.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "test_util.hpp"

using namespace facegan;
namespace fs = std::filesystem;

namespace {

void write_text(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

/// A run folder as the trainer leaves it: metrics with two losses and an eval record, a sample grid
/// (a red and a green block, colours a browser screenshot can be searched for) and its column names.
void make_run(const fs::path& dir) {
  std::string lines;
  for (int step = 1; step <= 20; ++step) {
    lines += json{{"step", step}, {"losses", {{"g_adv", 1.0 / step}, {"d", 0.5 + 0.01 * step}}}}.dump() + "\n";
  }
  lines += json{{"step", 20}, {"eval", {{"psnr", 21.5}, {"ssim", 0.71}, {"samples", 8}}}}.dump() + "\n";
  write_text(dir / "metrics.jsonl", lines);
  cv::Mat grid(96, 192, CV_8UC3, cv::Scalar(255, 255, 255));
  grid(cv::Rect(0, 0, 96, 96)).setTo(cv::Scalar(0, 0, 255));   // red (BGR)
  grid(cv::Rect(96, 0, 96, 96)).setTo(cv::Scalar(0, 255, 0));  // green
  fs::create_directories(dir / "samples");
  REQUIRE(cv::imwrite((dir / "samples" / "step_000000010.png").string(), grid));
  REQUIRE(cv::imwrite((dir / "samples" / "step_000000020.png").string(), grid));
  write_text(dir / "samples" / "columns.json", "[\"input\", \"output\"]\n");
}

eval::ReportTable example_table() {
  eval::ReportTable t;
  t.title = "Held-out identities";
  t.columns = {"method", "PSNR", "top-1"};
  t.rows = {{"model", 24.126, 0.8}, {"baseline <x_a>", 19.5, int64_t{0}}};
  t.note = "bench --steps 10";
  t.precision = 2;
  return t;
}

/// Runs `command`, returning its exit status (the shell's).
int shell(const std::string& command) { return std::system(command.c_str()); }

}  // namespace

TEST_CASE("report tables round-trip and reject malformed files", "[report]") {
  const fs::path dir = testing::fresh_dir("report_table");
  const eval::ReportTable t = example_table();
  eval::write_table(t, (dir / "a.table.json").string());
  const eval::ReportTable back = eval::read_table((dir / "a.table.json").string());
  CHECK(back.title == t.title);
  CHECK(back.columns == t.columns);
  CHECK(back.rows == t.rows);
  CHECK(back.note == t.note);
  CHECK(back.precision == 2);

  write_text(dir / "bad.table.json", R"({"columns": ["a", "b"], "rows": [[1, 2], [3]]})");
  CHECK_THROWS_WITH(eval::read_table((dir / "bad.table.json").string()),
                    Catch::Contains("bad.table.json.rows[1]") && Catch::Contains("2 cells"));
  write_text(dir / "nocols.table.json", R"({"rows": []})");
  CHECK_THROWS_WITH(eval::read_table((dir / "nocols.table.json").string()), Catch::Contains("columns"));
  CHECK_THROWS_WITH(eval::read_table((dir / "missing.table.json").string()), Catch::Contains("missing.table.json"));
}

TEST_CASE("write_report lays out sections, tables, newest sample grid and loss curves", "[report]") {
  const fs::path root = testing::fresh_dir("report_page");
  eval::write_table(example_table(), (root / "summary.table.json").string());
  make_run(root / "paper_a" / "stage1");
  eval::write_table(example_table(), (root / "paper_a" / "results.table.json").string());
  write_text(root / "paper_a" / "section.json", R"({"title": "Paper A", "description": "what it does"})");
  fs::create_directories(root / "empty_folder");
  // A figure of its own, with its caption beside it.
  REQUIRE(cv::imwrite((root / "paper_a" / "expressions.figure.png").string(), cv::Mat(8, 16, CV_8UC3, cv::Scalar(0, 0, 255))));
  write_text(root / "paper_a" / "expressions.figure.txt", "one face per <expression>");

  const fs::path out = root / "report.html";
  const eval::ReportSummary s = eval::write_report(root.string(), out.string());
  CHECK(s.sections == 2);  // the overview (root tables) and paper_a; the empty folder is skipped
  CHECK(s.images == 2);    // the newest grid and the figure
  CHECK(read_text(out).find("one face per &lt;expression&gt;") != std::string::npos);
  CHECK(s.tables == 3);    // two table files and the run's last eval
  CHECK(s.plots == 2);     // one per loss
  const std::string html = read_text(out);
  CHECK(html.find("<h2>Paper A</h2>") != std::string::npos);
  CHECK(html.find("Samples (step_000000020.png), columns: input | output") != std::string::npos);
  CHECK(html.find("baseline &lt;x_a&gt;") != std::string::npos);  // cells are escaped
  CHECK(html.find("24.13") != std::string::npos);                 // numbers at the table's precision
  CHECK(html.find("data:image/png;base64,iVBOR") != std::string::npos);
  CHECK(html.find("width=\"576\" height=\"288\"") != std::string::npos);  // 96 px high: shown 3x
  CHECK(html.find("aria-label=\"g_adv\"") != std::string::npos);
  CHECK(html.find("Evaluation at step 20") != std::string::npos);

  CHECK_THROWS_WITH(eval::write_report((root / "nope").string(), out.string()), Catch::Contains("nope"));
  write_text(root / "paper_b" / "run" / "metrics.jsonl", "{\"step\": 1}\nnot json\n{\"step\": 2}\n");
  CHECK_THROWS_WITH(eval::write_report(root.string(), out.string()), Catch::Contains("metrics.jsonl line 2"));
}

TEST_CASE("headless Chromium shows the report's images and tables", "[report][browser]") {
  if (shell("command -v chromium > /dev/null 2>&1") != 0) {
    FAIL("chromium is not installed: run scripts/setup.sh (it installs Debian's chromium package)");
  }
  const fs::path root = testing::fresh_dir("report_browser");
  make_run(root / "paper" / "run");
  eval::write_table(example_table(), (root / "paper" / "results.table.json").string());
  const fs::path html = root / "report.html";
  const eval::ReportSummary s = eval::write_report(root.string(), html.string());
  REQUIRE(s.images == 1);
  REQUIRE(s.tables == 2);

  const std::string flags = "timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-dev-shm-usage "
                            "--no-first-run --user-data-dir=" + (root / "profile").string() +
                            " --virtual-time-budget=3000 --window-size=1200,1400 ";
  const fs::path dom = root / "dom.html";
  const fs::path png = root / "shot.png";
  REQUIRE(shell(flags + "--dump-dom file://" + html.string() + " > " + dom.string() + " 2> /dev/null") == 0);
  REQUIRE(shell(flags + "--screenshot=" + png.string() + " file://" + html.string() + " > /dev/null 2>&1") == 0);

  // What the page's own script counted after the load event: decoded, laid-out images and tables.
  const std::string dumped = read_text(dom);
  std::smatch m;
  REQUIRE(std::regex_search(dumped, m, std::regex("data-images-loaded=\"(\\d+)\"")));
  CHECK(std::stoi(m[1]) == s.images);
  REQUIRE(std::regex_search(dumped, m, std::regex("data-tables-shown=\"(\\d+)\"")));
  CHECK(std::stoi(m[1]) == s.tables);

  // The screenshot shows the grid's red and green blocks (so the image is really painted) and is
  // not a blank page.
  const cv::Mat shot = cv::imread(png.string(), cv::IMREAD_COLOR);
  REQUIRE(!shot.empty());
  cv::Mat red, green;
  cv::inRange(shot, cv::Scalar(0, 0, 230), cv::Scalar(30, 30, 255), red);
  cv::inRange(shot, cv::Scalar(0, 230, 0), cv::Scalar(30, 255, 30), green);
  CHECK(cv::countNonZero(red) > 40 * 40);
  CHECK(cv::countNonZero(green) > 40 * 40);
  cv::Mat gray;
  cv::cvtColor(shot, gray, cv::COLOR_BGR2GRAY);
  cv::Scalar mean, stddev;
  cv::meanStdDev(gray, mean, stddev);
  CHECK(stddev[0] > 10.0);
}
