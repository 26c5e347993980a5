#include <facegan/train/run_lock.hpp>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>

namespace facegan::train {

RunLock::RunLock(const std::string& dir) : path_((std::filesystem::path(dir) / ".lock").string()) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) throw Error("cannot open the run lock " + path_ + ": " + std::strerror(errno));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    char buf[32] = {0};
    const ssize_t n = ::pread(fd_, buf, sizeof buf - 1, 0);
    std::string holder = n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string("unknown");
    while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) holder.pop_back();
    ::close(fd_);
    fd_ = -1;
    if (err == EWOULDBLOCK) {
      throw RunLockedError("run folder " + dir + " is in use by process " + holder +
                           " (it holds " + path_ + "); wait for it to finish, stop it, or choose another out_dir");
    }
    throw Error("cannot lock " + path_ + ": " + std::strerror(err));
  }
  // The pid only serves the message of a second process: a failed write leaves the lock held.
  const std::string pid = std::to_string(::getpid()) + "\n";
  const bool wrote = ::ftruncate(fd_, 0) == 0 && ::pwrite(fd_, pid.data(), pid.size(), 0) == static_cast<ssize_t>(pid.size());
  (void)wrote;
}

RunLock::~RunLock() {
  if (fd_ >= 0) {
    // Emptied before the unlock, so that a stale pid is never read from a free lock.
    const bool emptied = ::ftruncate(fd_, 0) == 0;
    (void)emptied;
    ::flock(fd_, LOCK_UN);
    ::close(fd_);
  }
}

}  // namespace facegan::train
