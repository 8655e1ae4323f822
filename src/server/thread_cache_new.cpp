// The llmgw executable's operator new and delete: blocks of up to 4 KiB are recycled through
// free lists of the thread that freed them, in front of malloc.
//
// Why: a proxied request allocates about 40 blocks and frees them before the next request on
// the same worker thread (coroutine frames, Beast's header fields, strings). glibc's thread
// cache serves blocks up to 1 KiB only and costs about 130 instructions per malloc and free;
// the frames of the larger coroutines go through its bins, several hundred more. A per-thread
// list costs a few instructions each way. (mimalloc and jemalloc measured faster than glibc
// too, but held 15-20 % more memory per idle SSE stream.)
//
// Linked into the executable only (not the component libraries): tests and fuzz targets keep
// the C++ runtime's allocator, and a sanitizer build keeps its own (it must see every block).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>

#if !defined(__SANITIZE_ADDRESS__) && !defined(LLMGW_SYSTEM_NEW)

namespace {

constexpr std::size_t granule = 16;     // size classes 16 bytes apart, 16-byte aligned blocks
constexpr std::size_t largest = 4096;   // bigger blocks go to malloc and back at once
constexpr std::size_t classes = largest / granule;
// What a thread keeps: at most this many bytes in all its lists (a burst's blocks beyond it go
// back to malloc), so a worker never holds more than 4 MiB of freed blocks.
constexpr std::size_t kept_bytes = std::size_t{4} << 20;

// Before each block: its size class (0: not recycled). 16 bytes keep the block aligned.
struct alignas(16) Header {
    std::size_t size_class;
};
static_assert(sizeof(Header) == 16);

struct FreeBlock {
    FreeBlock* next;
};

// Trivially destructible, so each access is a plain thread-local load (no guard): blocks a
// thread keeps when it ends are not returned (llmgw's threads live as long as the process).
struct ThreadCache {
    FreeBlock* head[classes + 1];
    std::size_t bytes;  // in the lists
};
thread_local ThreadCache cache{};

void* allocate(std::size_t size) {
    if (size <= largest) {
        const std::size_t size_class = (size + granule - 1) / granule + (size == 0);
        if (FreeBlock* block = cache.head[size_class]) {
            cache.head[size_class] = block->next;
            cache.bytes -= size_class * granule;
            return block;
        }
        auto* header = static_cast<Header*>(std::malloc(sizeof(Header) + size_class * granule));
        if (header == nullptr) return nullptr;
        header->size_class = size_class;
        return header + 1;
    }
    auto* header = static_cast<Header*>(std::malloc(sizeof(Header) + size));
    if (header == nullptr) return nullptr;
    header->size_class = 0;
    return header + 1;
}

void release(void* pointer) noexcept {
    if (pointer == nullptr) return;
    auto* header = static_cast<Header*>(pointer) - 1;
    const std::size_t size_class = header->size_class;
    if (size_class != 0 && cache.bytes + size_class * granule <= kept_bytes) {
        auto* block = static_cast<FreeBlock*>(pointer);
        block->next = cache.head[size_class];
        cache.head[size_class] = block;
        cache.bytes += size_class * granule;
        return;
    }
    std::free(header);
}

void* allocate_or_throw(std::size_t size) {
    for (;;) {
        if (void* pointer = allocate(size)) return pointer;
        std::new_handler handler = std::get_new_handler();
        if (handler == nullptr) throw std::bad_alloc();
        handler();
    }
}

}  // namespace

void* operator new(std::size_t size) { return allocate_or_throw(size); }
void* operator new[](std::size_t size) { return allocate_or_throw(size); }
void* operator new(std::size_t size, const std::nothrow_t&) noexcept { return allocate(size); }
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept { return allocate(size); }
void operator delete(void* pointer) noexcept { release(pointer); }
void operator delete[](void* pointer) noexcept { release(pointer); }
void operator delete(void* pointer, std::size_t) noexcept { release(pointer); }
void operator delete[](void* pointer, std::size_t) noexcept { release(pointer); }
void operator delete(void* pointer, const std::nothrow_t&) noexcept { release(pointer); }
void operator delete[](void* pointer, const std::nothrow_t&) noexcept { release(pointer); }
// Over-aligned types (alignas above 16) keep the runtime's aligned operators: they pair with
// the aligned deletes below, which never see a block of the lists.

#endif
