// Reading a request's routing hints: its prompt's blocks, affinity key, model and size.
#include "llmgw/upstream/routing_hints.hpp"

#include <nlohmann/json.hpp>

namespace llmgw::upstream {

namespace {

// Tokens a request without max_tokens is assumed to generate.
constexpr std::int64_t default_completion_tokens = 512;
// Bytes of prompt per token, the usual estimate for English text and BPE vocabularies.
constexpr std::int64_t bytes_per_token = 4;

void append_limited(std::string& out, std::string_view piece, std::size_t limit) {
    out.append(piece.substr(0, limit - std::min(limit, out.size())));
}

// A message's text: a string, or the text parts of a list of parts.
void append_content(std::string& out, const nlohmann::json& content, std::size_t limit) {
    if (content.is_string()) {
        append_limited(out, content.get_ref<const std::string&>(), limit);
        return;
    }
    if (!content.is_array()) return;
    for (const auto& part : content) {
        if (out.size() >= limit) return;
        const auto text = part.is_object() ? part.find("text") : part.end();
        if (part.is_object() && text != part.end() && text->is_string())
            append_limited(out, text->get_ref<const std::string&>(), limit);
    }
}

std::int64_t max_tokens(const nlohmann::json& body) {
    for (const char* key : {"max_completion_tokens", "max_tokens"}) {
        const auto found = body.find(key);
        if (found != body.end() && found->is_number_unsigned())
            return static_cast<std::int64_t>(
                std::min<std::uint64_t>(found->get<std::uint64_t>(), 1u << 24));
    }
    return default_completion_tokens;
}

}  // namespace

std::uint64_t hash_text(std::string_view text, std::uint64_t seed) {
    std::uint64_t hash = 14695981039346656037ull ^ seed;
    for (const char c : text) {
        hash ^= static_cast<unsigned char>(c);
        hash *= 1099511628211ull;
    }
    return hash == 0 ? 1 : hash;
}

std::string prompt_text(const nlohmann::json& body, std::size_t limit) {
    std::string out;
    if (!body.is_object()) return out;
    const auto messages = body.find("messages");
    if (messages != body.end() && messages->is_array()) {
        for (const auto& message : *messages) {
            if (out.size() >= limit) break;
            if (!message.is_object()) continue;
            const auto role = message.find("role");
            if (role != message.end() && role->is_string())
                append_limited(out, role->get_ref<const std::string&>(), limit);
            append_limited(out, "\x1f", limit);  // separators no text contains
            if (const auto content = message.find("content"); content != message.end())
                append_content(out, *content, limit);
            append_limited(out, "\x1e", limit);
        }
        return out;
    }
    const auto prompt = body.find("prompt");
    if (prompt != body.end()) append_content(out, *prompt, limit);
    return out;
}

std::vector<std::uint64_t> prefix_blocks(std::string_view text, std::size_t block_bytes) {
    std::vector<std::uint64_t> blocks;
    if (block_bytes == 0) return blocks;
    blocks.reserve(text.size() / block_bytes);
    std::uint64_t chain = 0;
    for (std::size_t at = 0; at + block_bytes <= text.size(); at += block_bytes) {
        chain = hash_text(text.substr(at, block_bytes), chain);
        blocks.push_back(chain);
    }
    return blocks;
}

RoutingHints routing_hints(const config::Backend& backend, const nlohmann::json* body,
                           std::size_t body_bytes, std::string_view header,
                           std::string_view consumer) {
    RoutingHints hints;
    const bool object = body != nullptr && body->is_object();
    hints.estimated_tokens = static_cast<std::int64_t>(body_bytes) / bytes_per_token +
                             (object ? max_tokens(*body) : default_completion_tokens);
    if (object) {
        const auto model = body->find("model");
        if (model != body->end() && model->is_string())
            hints.model = hash_text(model->get_ref<const std::string&>());
    }
    if (!backend.affinity) return hints;
    const auto& affinity = *backend.affinity;
    using By = config::AffinityConfig::By;
    if (affinity.by == By::header && !header.empty()) hints.affinity_key = hash_text(header);
    if (affinity.by == By::consumer && !consumer.empty()) hints.affinity_key = hash_text(consumer);
    if (affinity.by == By::prefix && object)
        hints.prefix_blocks =
            prefix_blocks(prompt_text(*body, affinity.prefix_bytes), affinity.block_bytes);
    return hints;
}

}  // namespace llmgw::upstream
