# Every third-party library llmgw uses comes from Debian packages (scripts/install-deps.sh).
find_package(Threads REQUIRED)
# Debian 12 ships Boost 1.74 by default; Beast needs the newer 1.81 packages.
find_package(Boost 1.81.0 EXACT REQUIRED CONFIG)
find_package(OpenSSL REQUIRED)
find_package(nlohmann_json 3 REQUIRED)
find_package(yaml-cpp REQUIRED)
find_package(spdlog REQUIRED)
find_package(prometheus-cpp REQUIRED COMPONENTS core)
find_package(PkgConfig REQUIRED)
find_package(SQLite3 REQUIRED)
find_package(PostgreSQL REQUIRED)
# hiredis' own CMake config file is broken in Debian 12; pkg-config works.
pkg_check_modules(HIREDIS REQUIRED IMPORTED_TARGET hiredis)

# Asio and Beast are compiled once into this library instead of in every
# translation unit that includes them: on two cores this halves build times.
add_library(llmgw_asio STATIC ${PROJECT_SOURCE_DIR}/src/asio_impl.cpp)
target_compile_definitions(llmgw_asio PUBLIC
  BOOST_ASIO_SEPARATE_COMPILATION
  BOOST_BEAST_SEPARATE_COMPILATION
  BOOST_ASIO_NO_DEPRECATED
  BOOST_ASIO_DISABLE_BOOST_ARRAY
  BOOST_ASIO_DISABLE_BOOST_DATE_TIME
  # Coroutine frames from operator new (the executable's per-thread lists, thread_cache_new.cpp)
  # rather than Asio's two-slot cache, which keeps frames of up to 1 KiB only.
  BOOST_ASIO_DISABLE_AWAITABLE_FRAME_RECYCLING
  # Operations and handlers (a socket's read, a timer's wait, a post) from Asio's per-thread
  # cache of 8 blocks per kind rather than its default 2: a request has more than two under way
  # at once, and each one the cache missed cost an aligned_alloc and a free.
  BOOST_ASIO_RECYCLING_ALLOCATOR_CACHE_SIZE=8)
target_link_libraries(llmgw_asio PUBLIC Boost::headers Threads::Threads OpenSSL::SSL OpenSSL::Crypto)
