// Consumer test: uses llmcache through add_subdirectory() of the source tree.
// Built and run by tools/test_consumers.sh, which checks that it prints the library version.
#include <llmcache/llmcache.hpp>

#include <iostream>

int main() {
    std::cout << "llmcache " << llmcache::version_string() << '\n';
    return 0;
}
