// Consumer test: uses llmcache through the single header alone: only -I single_include and the
// directory of xxhash.h; .ci/run also compiles it with -fno-exceptions.
// Built and run by tools/test_consumers.sh, which checks that it prints the library version.
#include <llmcache/llmcache.hpp>

#include <iostream>

int main() {
    std::cout << "llmcache " << llmcache::version_string() << '\n';
    return 0;
}
