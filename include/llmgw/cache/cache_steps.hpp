// The cache's response steps: x-cache (and Age on hits) on the answer's head, and a bounded
// copy of the answer as the client got it, stored once it completed.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "llmgw/cache/cached_answer.hpp"
#include "llmgw/http/response_phases.hpp"

namespace llmgw::cache {

class CacheStatusStep final : public http::ResponseStep {
public:
    // "HIT" (with the entry's age), "MISS" or "BYPASS"; nothing is said until set.
    void set(std::string_view status, std::optional<std::int64_t> age = std::nullopt) {
        status_ = status;
        age_ = age;
    }
    void on_head(http::AnswerHead& head) override;

private:
    std::string_view status_;
    std::optional<std::int64_t> age_;
};

class AnswerCopyStep final : public http::ResponseStep {
public:
    // Copies answers whose body is at most `limit` bytes; a larger one is dropped as it grows.
    explicit AnswerCopyStep(std::size_t limit) : limit_(limit) {}

    void on_head(http::AnswerHead& head) override;
    std::string_view on_body(std::string_view piece, bool last) override;
    void on_end(http::AnswerEnd end) override { complete_ = end == http::AnswerEnd::complete; }

    // The answer to store, when it reached the client whole, fits, and the upstream allows
    // it (status and Cache-Control); null otherwise. Takes the copy.
    std::shared_ptr<CachedAnswer> take_answer();

private:
    std::size_t limit_;
    CachedAnswer answer_;
    std::string cache_control_;  // the upstream's, to decide whether it may be stored
    bool copying_ = false;
    bool too_large_ = false;
    bool complete_ = false;
};

}  // namespace llmgw::cache
