#include <facegan/core/error.hpp>
#include <facegan/core/heap.hpp>

#include <climits>
#include <cstdlib>
#include <string>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace facegan {

namespace {

/// The environment setting that already decides the heap's thresholds, or "" when none does.
std::string heap_setting_in_environment() {
  for (const char* name : {"MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_"})
    if (const char* value = std::getenv(name)) return std::string(name) + "=" + value;
  if (const char* tunables = std::getenv("GLIBC_TUNABLES")) {
    const std::string t = tunables;
    for (const char* key : {"glibc.malloc.mmap_threshold", "glibc.malloc.trim_threshold"})
      if (t.find(key) != std::string::npos) return "GLIBC_TUNABLES=" + t;
  }
  return "";
}

}  // namespace

HeapTuning tune_cpu_heap(std::size_t keep_bytes) {
  if (keep_bytes == 0 || keep_bytes > static_cast<std::size_t>(INT_MAX))
    throw ConfigError("tune_cpu_heap: keep_bytes " + std::to_string(keep_bytes) + " is not in [1, " +
                      std::to_string(INT_MAX) + "]");
  HeapTuning result;
#if defined(__GLIBC__)
  if (const std::string chosen = heap_setting_in_environment(); !chosen.empty()) {
    result.summary = "heap left as the environment sets it (" + chosen + ")";
    return result;
  }
  const int value = static_cast<int>(keep_bytes);
  // Both thresholds: with the mmap threshold alone, freed blocks at the heap's top would still go
  // back to the kernel past the trim threshold, and the next step would fault them in again.
  if (mallopt(M_TRIM_THRESHOLD, value) != 1 || mallopt(M_MMAP_THRESHOLD, value) != 1) {
    result.summary = "glibc refused mmap/trim threshold " + std::to_string(keep_bytes);
    return result;
  }
  result.applied = true;
  result.summary = "heap keeps freed blocks up to " + std::to_string(keep_bytes) +
                   " bytes (glibc mmap and trim thresholds)";
#else
  result.summary = "heap unchanged (not glibc)";
#endif
  return result;
}

}  // namespace facegan
