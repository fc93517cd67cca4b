// ODR/link test, translation unit 2 of 2 (see a.cpp): links against a.cpp and checks that both
// TUs see the same library.
#include <llmcache/llmcache.hpp>

#include <cstdio>
#include <string_view>

std::string_view llmcache_odr_version_from_a() noexcept;

int main() {
    const std::string_view from_a = llmcache_odr_version_from_a();
    const std::string_view from_b = llmcache::version_string();
    if (from_a.empty() || from_a != from_b) {
        std::fprintf(stderr, "odr: a.cpp sees llmcache '%.*s' but b.cpp sees '%.*s'\n",
                     static_cast<int>(from_a.size()), from_a.data(), static_cast<int>(from_b.size()),
                     from_b.data());
        return 1;
    }
    std::printf("odr: a.cpp and b.cpp link together and agree on llmcache %.*s\n",
                static_cast<int>(from_b.size()), from_b.data());
    return 0;
}
