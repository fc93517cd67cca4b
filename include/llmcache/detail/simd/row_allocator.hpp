// The allocator of a flat matcher's row buffers. A top-1 query over a large matcher streams every
// row through the core once, so its speed is the memory read bandwidth; with 4 KiB pages the TLB
// misses and the hardware prefetchers stopping at every page boundary cost about a quarter of it
// (measured: 13.6 against 18.4 GB/s on one core of the development machine). Buffers of 2 MiB and
// more are therefore 2 MiB-aligned and, on Linux, marked MADV_HUGEPAGE, so the kernel backs them with
// transparent huge pages when it has them (with THP "madvise" mode, as on Debian, nothing else asks
// for them). The hint is best effort: if it fails the buffer simply keeps 4 KiB pages.
#pragma once

#include "../../config.hpp"

#include <cstddef>
#include <cstdlib>
#include <new>

#if defined(__linux__)
#include <sys/mman.h>
#endif

LLMCACHE_BEGIN_NAMESPACE
namespace detail::simd {

template <class T>
struct RowAllocator {
    using value_type = T;
    static constexpr std::size_t huge_page = std::size_t{2} << 20;

    RowAllocator() noexcept = default;
    template <class U>
    RowAllocator(const RowAllocator<U>&) noexcept {}

    T* allocate(std::size_t n) {
        if (n > static_cast<std::size_t>(-1) / sizeof(T) - huge_page) {
            throw_bad_alloc();
        }
        const std::size_t bytes = n * sizeof(T);
        if (bytes < huge_page) {
            return static_cast<T*>(::operator new(bytes));
        }
        const std::size_t rounded = (bytes + huge_page - 1) / huge_page * huge_page;
        void* p = ::operator new (rounded, std::align_val_t{huge_page});
#if defined(__linux__) && defined(MADV_HUGEPAGE)
        (void)::madvise(p, rounded, MADV_HUGEPAGE);
#endif
        return static_cast<T*>(p);
    }

    void deallocate(T* p, std::size_t n) noexcept {
        if (n * sizeof(T) < huge_page) {
            ::operator delete(p);
        } else {
            ::operator delete (p, std::align_val_t{huge_page});
        }
    }

    template <class U>
    friend bool operator==(const RowAllocator&, const RowAllocator<U>&) noexcept {
        return true;
    }

private:
    [[noreturn]] static void throw_bad_alloc() {
#if LLMCACHE_HAS_EXCEPTIONS
        throw std::bad_array_new_length();
#else
        std::abort();
#endif
    }
};

} // namespace detail::simd
LLMCACHE_END_NAMESPACE
