#include <facegan/core/error.hpp>
#include <facegan/core/files.hpp>

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

namespace fs = std::filesystem;

namespace facegan {
namespace {

std::atomic<int64_t> g_kill_after_bytes{-1};

std::string errno_text() { return std::strerror(errno); }

void fsync_path(const std::string& path, int flags) {
  const int fd = ::open(path.c_str(), flags);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

void write_file_atomic(const std::string& path, const std::string& bytes) {
  const fs::path target(path);
  std::error_code ec;
  if (target.has_parent_path()) fs::create_directories(target.parent_path(), ec);
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw CheckpointError("cannot create " + tmp + ": " + errno_text());
  int64_t kill_after = g_kill_after_bytes.load();
  if (kill_after >= 0 && bytes.size() > static_cast<size_t>(kill_after)) {
    g_kill_after_bytes = -1;
  } else {
    kill_after = -1;  // armed for a larger file (a checkpoint, not config.json)
  }
  size_t written = 0;
  while (written < bytes.size()) {
    size_t chunk = std::min<size_t>(bytes.size() - written, 1 << 20);
    if (kill_after >= 0 && written + chunk > static_cast<size_t>(kill_after)) {
      chunk = static_cast<size_t>(kill_after) - written;
      if (chunk > 0 && ::write(fd, bytes.data() + written, chunk) < 0) break;
      ::fsync(fd);
      ::kill(::getpid(), SIGKILL);  // the fault injection: die mid-save, like a node preemption
    }
    const ssize_t n = ::write(fd, bytes.data() + written, chunk);
    if (n < 0) {
      if (errno == EINTR) continue;
      const std::string why = errno_text();
      ::close(fd);
      throw CheckpointError("cannot write " + tmp + ": " + why);
    }
    written += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) throw CheckpointError("cannot flush " + tmp + ": " + errno_text());
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    throw CheckpointError("cannot rename " + tmp + " to " + path + ": " + errno_text());
  }
  // The rename itself is durable once the folder's entry is on disk.
  fsync_path(target.has_parent_path() ? target.parent_path().string() : ".", O_RDONLY | O_DIRECTORY);
}

namespace testing {
void kill_during_next_write(int64_t after_bytes) { g_kill_after_bytes = after_bytes; }
}  // namespace testing

}  // namespace facegan
