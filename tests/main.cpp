// One Catch2 main for the whole suite; every test seeds itself with torch::manual_seed.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
