#pragma once
// Durable file writes: every file a run leaves behind (checkpoints, configs, tables, reports,
// exported weights) goes through write_file_atomic, so a crash never leaves half a file.

#include <cstdint>
#include <string>

namespace facegan {

/// Writes `bytes` to `path` atomically: to `path + ".tmp"`, flushed to disk (fsync), then renamed
/// over `path` and the folder synced. A crash at any point leaves either the old file or the new
/// one, never a partial file under `path`. Creates the parent folder. CheckpointError on failure.
void write_file_atomic(const std::string& path, const std::string& bytes);

namespace testing {
/// Fault injection for the kill-during-save test: when >= 0, the next write_file_atomic() of more
/// than `after_bytes` bytes sends SIGKILL to its own process after writing that many bytes of the
/// temporary file.
void kill_during_next_write(int64_t after_bytes);
}  // namespace testing

}  // namespace facegan
