// The one place the tests name their test framework (Catch2 v2.13 from Debian's catch2), so a
// move to Catch2 v3 changes this file only.
#pragma once

#include <catch2/catch.hpp>
