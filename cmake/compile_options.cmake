# Warnings are on for all of llmgw's own targets; the build is kept warning-clean.
add_library(llmgw_warnings INTERFACE)
target_compile_options(llmgw_warnings INTERFACE -Wall -Wextra -Wpedantic
  # GCC 12 misreports Asio's coroutine frame allocator as a new/delete mismatch (GCC bug 109224).
  $<$<CXX_COMPILER_ID:GNU>:-Wno-mismatched-new-delete>)

# Sanitized builds exist to run the tests, not to be fast: -O1 and line tables only (what
# sanitizer reports print) compile pipeline.cpp in 22 s instead of 40 s at -O2 -g, which is most
# of CI's time. These come after the build type's flags, so they win.
set(LLMGW_SANITIZER_CODEGEN -O1 -g1)

if(LLMGW_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
                      ${LLMGW_SANITIZER_CODEGEN})
  add_link_options(-fsanitize=address,undefined)
endif()

if(LLMGW_FUZZ)
  # Coverage feedback for libFuzzer everywhere; the fuzz targets link -fsanitize=fuzzer.
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=undefined ${LLMGW_SANITIZER_CODEGEN})
  add_link_options(-fsanitize=address,undefined)
endif()
