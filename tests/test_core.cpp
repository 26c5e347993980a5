#include <facegan/core/config.hpp>
#include <facegan/core/registry.hpp>

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

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
