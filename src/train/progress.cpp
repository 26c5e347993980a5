#include <facegan/core/error.hpp>
#include <facegan/core/files.hpp>
#include <facegan/train/progress.hpp>

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <sstream>

namespace facegan::train {

bool is_terminal(int fd) { return ::isatty(fd) == 1; }

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const long long s = std::llround(seconds);
  char buf[32];
  if (s >= 3600) {
    std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", s / 3600, (s / 60) % 60, s % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%lld:%02lld", s / 60, s % 60);
  }
  return buf;
}

Progress::Progress(std::ostream& out, ProgressMode mode, int64_t start, int64_t total, int64_t every)
    : out_(out), mode_(mode), start_(start), total_(total), every_(std::max<int64_t>(every, 1)) {
  if (mode_ == ProgressMode::kAuto) mode_ = is_terminal(STDOUT_FILENO) ? ProgressMode::kBar : ProgressMode::kLines;
  t0_ = last_draw_ = std::chrono::steady_clock::now();
}

double Progress::rate(int64_t step) const {
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
  return step > start_ && secs > 0 ? static_cast<double>(step - start_) / secs : 0.0;
}

std::string Progress::status_line(int64_t step, const std::map<std::string, double>& values) const {
  std::ostringstream s;
  const double pct = total_ > 0 ? 100.0 * static_cast<double>(step) / static_cast<double>(total_) : 100.0;
  const double r = rate(step);
  char head[160];
  std::snprintf(head, sizeof head, "%s %lld/%lld %5.1f%% %.2f it/s eta %s", label_.c_str(),
                static_cast<long long>(step), static_cast<long long>(total_), pct, r,
                r > 0 ? format_duration(static_cast<double>(total_ - step) / r).c_str() : "?");
  s << head;
  for (const auto& [name, v] : values) {
    char buf[96];
    std::snprintf(buf, sizeof buf, " %s %.4g", name.c_str(), v);
    s << buf;
  }
  return s.str();
}

void Progress::update(int64_t step, const std::map<std::string, double>& values) {
  if (mode_ == ProgressMode::kNone) return;
  if (mode_ == ProgressMode::kLines) {
    if (step % every_ == 0 || step == total_) out_ << status_line(step, values) << '\n' << std::flush;
    return;
  }
  const auto now = std::chrono::steady_clock::now();
  if (step != total_ && bar_open_ && now - last_draw_ < std::chrono::milliseconds(200)) return;
  last_draw_ = now;
  constexpr int kWidth = 24;
  const int filled = total_ > 0 ? static_cast<int>(kWidth * step / total_) : kWidth;
  std::string bar = "[" + std::string(static_cast<size_t>(filled), '#') +
                    std::string(static_cast<size_t>(kWidth - filled), '.') + "] ";
  out_ << "\r\033[K" << bar << status_line(step, values) << std::flush;
  bar_open_ = true;
}

void Progress::message(const std::string& text) {
  if (mode_ == ProgressMode::kNone) return;
  if (bar_open_) out_ << "\r\033[K";
  out_ << text << '\n' << std::flush;
  bar_open_ = false;
}

void Progress::finish() {
  if (bar_open_) out_ << '\n' << std::flush;
  bar_open_ = false;
}

JsonLinesWriter::JsonLinesWriter(const std::string& path) : path_(path) {
  const std::filesystem::path p(path);
  std::error_code ec;
  if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path(), ec);
  out_.open(path, std::ios::app);
  if (!out_) throw Error("cannot open " + path + " for appending");
}

void JsonLinesWriter::write(const json& record) {
  out_ << record.dump() << '\n';
  out_.flush();
  if (!out_) throw Error("cannot write to " + path_);
}

void truncate_json_lines(const std::string& path, int64_t step) {
  std::ifstream in(path);
  if (!in) return;
  std::string kept, line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) continue;  // a line cut by a crash
    if (j.contains("step") && j["step"].is_number_integer() && j["step"].get<int64_t>() > step) continue;
    kept += line + '\n';
  }
  in.close();
  write_file_atomic(path, kept);
}

}  // namespace facegan::train
