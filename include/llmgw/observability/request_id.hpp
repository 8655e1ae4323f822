// Request ids: the client's own when it is a sane token, otherwise a fresh random one.
#pragma once

#include <string>
#include <string_view>

namespace llmgw::observability {

// 1 to 128 characters of [A-Za-z0-9._:-]: safe to log, echo and send upstream.
bool is_sane_request_id(std::string_view id);
// 32 random hex digits.
std::string generate_request_id();

}  // namespace llmgw::observability
