// Each endpoint's shape: read once from the path, then asked for its token rules.
#include "llmgw/usage/request_shape.hpp"

#include "llmgw/usage/plain_json.hpp"

#include <algorithm>
#include <array>
#include <nlohmann/json.hpp>
#include <utility>

namespace llmgw::usage {

namespace {

// Path endings, longest first where one ends another ("/chat/completions" before
// "/completions"). vLLM serves several of these with and without /v1.
constexpr std::array<std::pair<std::string_view, EndpointShape>, 13> kEndings{{
    {"/chat/completions", EndpointShape::chat_completions},
    {"/completions", EndpointShape::completions},
    {"/embeddings", EndpointShape::embeddings},
    {"/responses", EndpointShape::responses},
    {"/messages", EndpointShape::messages},
    {"/audio/transcriptions", EndpointShape::transcriptions},
    {"/audio/translations", EndpointShape::transcriptions},
    {"/rerank", EndpointShape::rerank},
    {"/score", EndpointShape::score},
    {"/tokenize", EndpointShape::tokenize},
    {"/detokenize", EndpointShape::tokenize},
    {"/generate", EndpointShape::triton_generate},
    {"/generate_stream", EndpointShape::triton_generate},
}};

// A non-negative integer member of `object`, if it has one.
std::optional<std::uint64_t> count_at(const nlohmann::json& object, const char* key) {
    if (!object.is_object()) return std::nullopt;
    const auto it = object.find(key);
    if (it == object.end() || !it->is_number_integer() || *it < 0) return std::nullopt;
    return it->get<std::uint64_t>();
}

}  // namespace

bool produces_text(EndpointShape shape) {
    return shape != EndpointShape::embeddings && shape != EndpointShape::rerank &&
           shape != EndpointShape::score;
}

EndpointShape shape_of(std::string_view path) {
    while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
    for (const auto& [ending, shape] : kEndings)
        if (path.ends_with(ending)) return shape;
    return EndpointShape::other;
}

bool is_model_call(EndpointShape shape) {
    return shape != EndpointShape::tokenize && shape != EndpointShape::other;
}

bool supports_stream_usage(EndpointShape shape) {
    return shape == EndpointShape::chat_completions || shape == EndpointShape::completions;
}

std::optional<std::uint64_t> max_output_tokens(EndpointShape shape, const nlohmann::json& body) {
    switch (shape) {
        case EndpointShape::chat_completions:
            if (auto cap = count_at(body, "max_completion_tokens")) return cap;
            return count_at(body, "max_tokens");
        case EndpointShape::completions:
        case EndpointShape::messages:
            return count_at(body, "max_tokens");
        case EndpointShape::responses:
            return count_at(body, "max_output_tokens");
        case EndpointShape::triton_generate:
            if (auto cap = count_at(body, "max_tokens")) return cap;
            if (body.is_object() && body.contains("parameters"))
                return count_at(body["parameters"], "max_tokens");
            return std::nullopt;
        case EndpointShape::transcriptions:
        case EndpointShape::other:
            return std::nullopt;
        case EndpointShape::embeddings:
        case EndpointShape::rerank:
        case EndpointShape::score:
        case EndpointShape::tokenize:
            return 0;
    }
    return std::nullopt;
}

bool asks_for_stream(EndpointShape shape, std::string_view path, const nlohmann::json* body) {
    if (shape == EndpointShape::triton_generate && path.ends_with("_stream")) return true;
    if (body == nullptr || !body->is_object()) return false;
    const auto it = body->find("stream");
    return it != body->end() && *it == true;
}

std::optional<bool> text_asks_for_stream(EndpointShape shape, std::string_view path,
                                         std::string_view body_text) {
    if (shape == EndpointShape::triton_generate && path.ends_with("_stream")) return true;
    PlainJsonReader reader(body_text);
    bool stream = false;  // a repeated member: the last counts, as in a parsed body
    const bool read = reader.read_object([&](std::string_view key, const PlainJsonSummary& item) {
        if (key == "stream") stream = item.is_true;
        return true;
    });
    if (!read) return std::nullopt;
    return stream;
}

TokenUsage estimate_usage(EndpointShape shape, std::uint64_t request_bytes,
                          std::uint64_t answer_bytes) {
    if (!is_model_call(shape)) return {};
    TokenUsage usage;
    usage.estimated = true;
    if (shape != EndpointShape::transcriptions)
        usage.prompt_tokens = std::max<std::uint64_t>(1, request_bytes / 4);
    if (produces_text(shape)) usage.completion_tokens = answer_bytes / 4;
    return usage;
}

}  // namespace llmgw::usage
