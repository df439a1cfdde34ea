// Catch2 v2 main for the model file I/O tests.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
