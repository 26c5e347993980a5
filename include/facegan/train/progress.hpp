#pragma once
// Training output for people and for programs: a progress bar (terminal) or plain lines (log
// files, CI), and metrics as JSON lines.

#include <facegan/core/config.hpp>

#include <chrono>
#include <cstdint>
#include <fstream>
#include <map>
#include <ostream>
#include <string>
#include <utility>

namespace facegan::train {

/// How progress is shown: kAuto picks kBar on a terminal and kLines otherwise.
enum class ProgressMode { kAuto, kBar, kLines, kNone };

/// True when file descriptor `fd` is a terminal.
bool is_terminal(int fd);

/// Formats seconds as "h:mm:ss" (or "m:ss" under an hour).
std::string format_duration(double seconds);

/// Progress of a run of `total` steps starting at `start` (non-zero after a resume). In kBar mode
/// one line is redrawn ('\r') at most every 0.2 s; in kLines mode a full line is written on
/// every update() whose step is a multiple of `every` (and the last). Each shows step/total,
/// percent, rate (steps/s over this process's steps), ETA and the given values.
class Progress {
 public:
  Progress(std::ostream& out, ProgressMode mode, int64_t start, int64_t total, int64_t every);
  /// The word before the count ("step" by default): what is counted, e.g. "render" for faces.
  Progress& label(std::string word) {
    label_ = std::move(word);
    return *this;
  }
  /// Reports that `step` steps are done, with the current losses.
  void update(int64_t step, const std::map<std::string, double>& values);
  /// Writes a message on its own line (after the bar, if one is drawn).
  void message(const std::string& text);
  /// Ends the bar's line.
  void finish();
  /// Steps per second since start (0 before the first step).
  double rate(int64_t step) const;
  ProgressMode mode() const { return mode_; }

 private:
  std::string status_line(int64_t step, const std::map<std::string, double>& values) const;
  std::ostream& out_;
  ProgressMode mode_;
  int64_t start_, total_, every_;
  std::string label_ = "step";
  std::chrono::steady_clock::time_point t0_, last_draw_;
  bool bar_open_ = false;
};

/// Appends one JSON object per line to a file (metrics.jsonl).
class JsonLinesWriter {
 public:
  /// Opens `path` for appending (creating parent folders); CheckpointError-free: Error on failure.
  explicit JsonLinesWriter(const std::string& path);
  void write(const json& record);
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::ofstream out_;
};

/// Keeps the lines of a JSON-lines file whose "step" is <= `step` (used on resume, so the metrics of
/// steps redone after the checkpoint are not written twice). A missing file is left missing.
void truncate_json_lines(const std::string& path, int64_t step);

}  // namespace facegan::train

namespace facegan {
template <>
struct EnumNames<train::ProgressMode> {
  static constexpr std::array<std::pair<train::ProgressMode, const char*>, 4> values{
      {{train::ProgressMode::kAuto, "auto"},
       {train::ProgressMode::kBar, "bar"},
       {train::ProgressMode::kLines, "lines"},
       {train::ProgressMode::kNone, "none"}}};
};
}  // namespace facegan
