// Catch2 v2 main for the evaluation library's tests.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
