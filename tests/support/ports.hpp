// Loopback ports for tests: pick a free one, wait until something listens on one.
#pragma once

#include <chrono>
#include <cstdint>

namespace llmgw::testing {

// A port that was free on 127.0.0.1 a moment ago, from below the kernel's ephemeral range
// (so the kernel never hands it to another socket by itself): checked by binding it, then
// closed (SO_REUSEADDR not set). Throws std::runtime_error on failure.
uint16_t free_port();

// Tries to connect to 127.0.0.1:port every ~10 ms until a connection succeeds (true) or
// the deadline passes (false). Never blocks longer than the deadline.
bool wait_for_port(uint16_t port, std::chrono::milliseconds deadline);

// A listening socket on 127.0.0.1 at a port the kernel chose: its fd, and the port.
struct LoopbackListener {
    int fd = -1;
    uint16_t port = 0;
};
LoopbackListener listen_on_loopback(int backlog = 64);

}  // namespace llmgw::testing
