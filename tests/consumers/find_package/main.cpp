// Consumer test: uses llmcache through the installed package: find_package(llmcache CONFIG REQUIRED)
// (and, compiled by hand, through llmcache.pc).
// Built and run by tools/test_consumers.sh, which checks that it prints the library version.
#include <llmcache/llmcache.hpp>

#include <iostream>

int main() {
    std::cout << "llmcache " << llmcache::version_string() << '\n';
    return 0;
}
