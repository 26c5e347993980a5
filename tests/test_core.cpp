#include <facegan/core/config.hpp>
#include <facegan/core/registry.hpp>

#include <catch2/catch.hpp>

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
