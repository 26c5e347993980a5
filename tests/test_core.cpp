#include <facegan/core/config.hpp>
#include <facegan/core/heap.hpp>
#include <facegan/core/registry.hpp>

#include <catch2/catch.hpp>

#include <climits>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

using namespace facegan;

namespace {
struct Widget {
  int id;
};
}  // namespace

TEST_CASE("registry builds by name and lists what it knows", "[core]") {
  Registry<Widget> reg("widget");
  reg.add("small_one", [](const json& o) { return std::make_shared<Widget>(Widget{o.value("id", 1)}); }, "a widget");
  reg.add("big", [](const json&) { return std::make_shared<Widget>(Widget{2}); }, "another");
  CHECK(reg.create("small_one", json{{"id", 7}})->id == 7);
  CHECK(reg.names() == std::vector<std::string>{"big", "small_one"});
  CHECK_THROWS_AS(reg.create("huge", json::object()), ConfigError);
  CHECK_THROWS_WITH(reg.create("huge", json::object()),
                    Catch::Contains("unknown widget 'huge'") && Catch::Contains("big, small_one"));
  CHECK_THROWS_WITH(reg.add("big", nullptr, ""), Catch::Contains("twice"));
  CHECK_THROWS_WITH(reg.add("Big", nullptr, ""), Catch::Contains("snake"));
  CHECK_FALSE(is_snake_name("9lives"));
  CHECK_FALSE(is_snake_name(""));
  CHECK(is_snake_name("wgan_gp"));
}

TEST_CASE("error_message drops LibTorch's stack trace", "[core]") {
  try {
    TORCH_CHECK(false, "bad value ", 42);
  } catch (const std::exception& e) {
    CHECK(error_message(e) == "bad value 42");
  }
  CHECK(error_message(ConfigError("unknown option 'x'")) == "unknown option 'x'");
}

TEST_CASE("command-line overrides set nested keys with JSON or string values", "[core]") {
  json config = {{"trainer", {{"steps", 10}, {"amp", "none"}}}, {"task", {{"type", "pix2pix"}}}};
  apply_overrides(config, {"trainer.steps=200", "trainer.amp=bf16", "task.generator.depth=6", "trainer.lr=[1,2]",
                           "name=run one"});
  CHECK(config["trainer"]["steps"] == 200);
  CHECK(config["trainer"]["amp"] == "bf16");
  CHECK(config["task"]["generator"]["depth"] == 6);
  CHECK(config["trainer"]["lr"] == json::array({1, 2}));
  CHECK(config["name"] == "run one");
  CHECK_THROWS_WITH(apply_overrides(config, {"trainer.steps"}), Catch::Contains("key.path=value"));
  CHECK_THROWS_WITH(apply_overrides(config, {"trainer.steps.x=1"}),
                    Catch::Contains("trainer.steps") && Catch::Contains("not an object"));
  CHECK_THROWS_WITH(apply_overrides(config, {"trainer..x=1"}), Catch::Contains("empty key"));
}

TEST_CASE("config files: missing and malformed files are named", "[core]") {
  const auto path = std::filesystem::temp_directory_path() / "facegan_test_config.json";
  std::ofstream(path) << R"({"a": 1, "b": [1, 2)";
  CHECK_THROWS_WITH(load_json_file(path.string()), Catch::Contains("facegan_test_config.json") &&
                                                      Catch::Contains("malformed"));
  std::ofstream(path) << R"({"a": 1})";
  CHECK(load_json_file(path.string())["a"] == 1);
  std::filesystem::remove(path);
  CHECK_THROWS_WITH(load_json_file(path.string()), Catch::Contains("cannot open"));
}

#if defined(__GLIBC__)
namespace {
void* volatile heap_sink = nullptr;  // keeps the compiler from eliding malloc/free pairs

/// Bytes the heap holds in mmap'd chunks while a touched block of `bytes` is live.
std::size_t mmapped_while_holding(std::size_t bytes) {
  heap_sink = std::malloc(bytes);
  REQUIRE(heap_sink != nullptr);
  std::memset(heap_sink, 1, bytes);
  const std::size_t mapped = mallinfo2().hblkhd;
  std::free(heap_sink);
  heap_sink = nullptr;
  return mapped;
}
}  // namespace

TEST_CASE("tune_cpu_heap keeps large freed blocks in the heap, and the environment wins", "[core]") {
  for (const char* name : {"MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "GLIBC_TUNABLES"}) unsetenv(name);
  CHECK_THROWS_WITH(tune_cpu_heap(0), Catch::Contains("keep_bytes 0"));
  CHECK_THROWS_WITH(tune_cpu_heap(std::size_t{INT_MAX} + 1), Catch::Contains(std::to_string(std::size_t{INT_MAX} + 1)));

  setenv("MALLOC_TRIM_THRESHOLD_", "4096", 1);
  const HeapTuning left = tune_cpu_heap();
  unsetenv("MALLOC_TRIM_THRESHOLD_");
  CHECK_FALSE(left.applied);
  CHECK_THAT(left.summary, Catch::Contains("MALLOC_TRIM_THRESHOLD_=4096"));
  setenv("GLIBC_TUNABLES", "glibc.malloc.mmap_threshold=65536", 1);
  CHECK_FALSE(tune_cpu_heap().applied);
  unsetenv("GLIBC_TUNABLES");

  // glibc's default: 64 MiB is past its largest dynamic mmap threshold (32 MiB), so the block is
  // its own mapping, unmapped on free; the next step would fault it in again.
  constexpr std::size_t block = std::size_t{64} << 20;
  const std::size_t before = mallinfo2().hblkhd;
  CHECK(mmapped_while_holding(block) >= before + block);

  const HeapTuning tuned = tune_cpu_heap();
  CHECK(tuned.applied);
  CHECK_THAT(tuned.summary, Catch::Contains("1073741824 bytes"));
  const std::size_t mapped_before = mallinfo2().hblkhd;
  CHECK(mmapped_while_holding(block) == mapped_before);  // served from the heap, no mapping of its own
  // Freed, it stays in the heap (not trimmed), ready for the next allocation of its size.
  CHECK(mallinfo2().fordblks >= block);
}
#endif
