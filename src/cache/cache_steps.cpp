// CacheStatusStep and AnswerCopyStep.
#include "llmgw/cache/cache_steps.hpp"

#include <boost/beast/http/field.hpp>

#include "llmgw/cache/response_cache.hpp"
#include "llmgw/http/hop_by_hop.hpp"

namespace llmgw::cache {

void CacheStatusStep::on_head(http::AnswerHead& head) {
    if (status_.empty()) return;
    head.replace("x-cache", status_);
    if (age_) head.replace("age", std::to_string(*age_));
}

void AnswerCopyStep::on_head(http::AnswerHead& head) {
    if (head.replayed) return;
    copying_ = true;
    answer_.status = static_cast<int>(head.fields.result_int());
    answer_.streamed = head.event_stream && head.chunked;
    // The upstream's own headers only: what llmgw adds belongs to this one answer.
    head.for_each_upstream_field([this](std::string_view field, std::string_view value) {
        auto name = http::to_lower(field);
        if (name == "cache-control") cache_control_ = std::string(value);
        if (is_replayable_header(name)) answer_.headers.emplace_back(std::move(name), std::string(value));
    });
}

std::string_view AnswerCopyStep::on_body(std::string_view piece, bool /*last*/) {
    if (!copying_ || too_large_) return piece;
    if (answer_.body.size() + piece.size() > limit_) {
        too_large_ = true;
        std::string().swap(answer_.body);
    } else {
        answer_.body.append(piece);
    }
    return piece;
}

std::shared_ptr<CachedAnswer> AnswerCopyStep::take_answer() {
    if (!copying_ || !complete_ || too_large_ || !storable(answer_.status, cache_control_))
        return nullptr;
    copying_ = false;
    prepare_replay(answer_);
    return std::make_shared<CachedAnswer>(std::move(answer_));
}

}  // namespace llmgw::cache
