// The response step that tells the client where it stands against its tier's limits.
#pragma once

#include <utility>

#include "llmgw/http/response_phases.hpp"
#include "llmgw/limits/rate_limit_headers.hpp"

namespace llmgw::limits {

class RateLimitHeadersStep final : public http::ResponseStep {
public:
    void set(Headers headers) { headers_ = std::move(headers); }
    void on_head(http::AnswerHead& head) override {
        for (const auto& [name, value] : headers_) head.fields.set(name, value);
    }

private:
    Headers headers_;
};

}  // namespace llmgw::limits
