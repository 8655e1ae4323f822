// `llmgw healthcheck [URL]`: a container HEALTHCHECK without curl in the image.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace llmgw::observability {

struct ProbeResult {
    bool healthy = false;
    std::string detail{};  // the status line, or why no answer came
};

// GET `url` (http://HOST:PORT/PATH, plain HTTP: the admin listener) with one deadline for
// connect, send and receive; healthy when the answer's status is 200.
ProbeResult probe_health(std::string_view url, std::chrono::milliseconds timeout);

}  // namespace llmgw::observability
