#pragma once
// The lock of a run folder: one process at a time trains into an out_dir. Two runs sharing a folder
// would overwrite each other's checkpoints and metrics (and the experiment runner writes many run
// folders), so the second one stops at once and says who holds the folder.

#include <facegan/core/error.hpp>

#include <string>

namespace facegan::train {

/// Another live process trains into the folder: the message names the folder and the holder's pid.
class RunLockedError : public Error {
 public:
  using Error::Error;
};

/// An exclusive lock on a run folder, held from construction to destruction: an advisory flock(2)
/// on `<dir>/.lock`, which records the holder's pid. The kernel releases a flock when its process
/// dies, so a lock file left by a crashed or killed run is simply taken over.
class RunLock {
 public:
  /// Creates the folder when needed and takes the lock; RunLockedError naming the folder and the
  /// holder's pid when a live process (this one included, through another RunLock) holds it;
  /// Error naming the file when it cannot be opened.
  explicit RunLock(const std::string& dir);
  ~RunLock();
  RunLock(const RunLock&) = delete;
  RunLock& operator=(const RunLock&) = delete;

  /// The lock file.
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  int fd_ = -1;
};

}  // namespace facegan::train
