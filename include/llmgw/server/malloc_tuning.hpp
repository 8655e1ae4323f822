// glibc's malloc tuned for a proxy's pattern of allocation, before the process serves.
#pragma once

namespace llmgw::server {

// With glibc, and unless GLIBC_TUNABLES already names the tcache size (the operator's choice,
// or this process after its re-exec), sets glibc.malloc.tcache_count and executes this
// program again with the same arguments: glibc reads tunables only when a process starts.
// Returns (having changed nothing) where that is not possible.
void apply_malloc_tuning(char** argv);

}  // namespace llmgw::server
