#pragma once

#include <cstddef>
#include <string>

namespace facegan {

/// What tune_cpu_heap() did, for a program's log.
struct HeapTuning {
  /// True when this call changed the C heap's settings.
  bool applied = false;
  /// One line: the settings made, or why none were (not glibc, or the environment chose).
  std::string summary;
};

/// Keeps the C heap's freed blocks of up to `keep_bytes` in the process for reuse: an opt-in
/// setting for programs that run CPU tensors, made once at the start of `main`.
///
/// Why: LibTorch's CPU allocator takes every tensor from malloc. glibc serves large blocks with a
/// fresh mmap (and gives heap tops back to the kernel past 128 KiB), so each forward pass of a
/// 256 px U-Net page-faults its activations in again: about a quarter of its CPU time on this
/// project's machines (docs/benchmarks.md). With the mmap and trim thresholds raised to
/// `keep_bytes`, freed activations stay mapped and the next step reuses them. The price is that
/// up to `keep_bytes` of freed memory stays resident, and training peaks measured up to ~6 %
/// higher (pix2pix 256 px: 1175 vs 1114 MiB above start-up).
///
/// Process-wide, so the library never calls it on its own: the `facegan` command, the examples
/// and the benchmark programs do. The environment wins: when MALLOC_MMAP_THRESHOLD_,
/// MALLOC_TRIM_THRESHOLD_ or a glibc.malloc tunable in GLIBC_TUNABLES is set, this leaves the
/// heap as the user chose. Without glibc it does nothing. Throws ConfigError when `keep_bytes`
/// is 0 or above INT_MAX (glibc's mallopt takes an int).
HeapTuning tune_cpu_heap(std::size_t keep_bytes = std::size_t{1} << 30);

}  // namespace facegan
