// Estimates a request's tokens from its body, for the reservation taken at admission.
#include "llmgw/limits/reservation_estimate.hpp"

#include <algorithm>
#include <cmath>
#include <optional>
#include <nlohmann/json.hpp>

#include "llmgw/usage/request_shape.hpp"

namespace llmgw::limits {

namespace {

// More choices than this are not believed (a reservation must stay a number a bucket holds).
constexpr std::uint64_t max_choices = 128;
constexpr std::uint64_t max_output_tokens = 1ull << 40;

// UTF-8 bytes of the text in a prompt value: a string, an array of strings or of content parts
// ({"type":"text","text":...}); token-id arrays count one token per 4 "bytes" like text does.
std::uint64_t text_bytes(const nlohmann::json& value) {
    if (value.is_string()) return value.get_ref<const std::string&>().size();
    if (value.is_number()) return prompt_bytes_per_token;  // a token id
    std::uint64_t bytes = 0;
    if (value.is_array()) {
        for (const auto& item : value) bytes += text_bytes(item);
    } else if (value.is_object()) {
        for (const char* field : {"text", "content", "input_text"})
            if (const auto it = value.find(field); it != value.end()) bytes += text_bytes(*it);
    }
    return bytes;
}

// A non-negative integer field (JSON from a parser or built in code: unsigned or signed).
std::optional<std::uint64_t> count_field(const nlohmann::json& body, const char* field) {
    const auto it = body.find(field);
    if (it == body.end() || !it->is_number_integer()) return std::nullopt;
    if (it->is_number_unsigned()) return it->get<std::uint64_t>();
    const auto value = it->get<std::int64_t>();
    if (value < 0) return std::nullopt;
    return static_cast<std::uint64_t>(value);
}

std::uint64_t choices(const nlohmann::json& body) {
    return std::clamp<std::uint64_t>(count_field(body, "n").value_or(1), 1, max_choices);
}

std::uint64_t divide_up(std::uint64_t bytes) {
    return (bytes + prompt_bytes_per_token - 1) / prompt_bytes_per_token;
}

}  // namespace

std::uint64_t estimate_prompt_tokens(const nlohmann::json& body) {
    std::uint64_t bytes = 0;
    std::uint64_t messages = 0;
    if (const auto it = body.find("messages"); it != body.end() && it->is_array()) {
        for (const auto& message : *it) {
            ++messages;
            if (message.is_object()) bytes += text_bytes(message.value("content", nlohmann::json()));
        }
    }
    for (const char* field : {"prompt", "input", "instructions", "system"})
        if (const auto it = body.find(field); it != body.end()) bytes += text_bytes(*it);
    return divide_up(bytes) + messages * tokens_per_message;
}

RequestEstimate estimate_request(const nlohmann::json* body, std::uint64_t body_bytes,
                                 usage::EndpointShape shape, std::uint64_t default_completion) {
    RequestEstimate estimate;
    const auto generates = usage::produces_text(shape);
    if (body == nullptr || !body->is_object()) {
        estimate.prompt_tokens = divide_up(body_bytes);  // not JSON: every byte may be prompt
        estimate.completion_tokens = generates ? default_completion : 0;
        return estimate;
    }
    estimate.prompt_tokens = estimate_prompt_tokens(*body);
    if (!generates) return estimate;
    // The endpoint's own field caps the output (usage/request_shape knows which it reads).
    const auto per_choice = std::min(
        usage::max_output_tokens(shape, *body).value_or(default_completion), max_output_tokens);
    estimate.completion_tokens = per_choice * choices(*body);
    return estimate;
}

std::uint64_t cost_of(const config::Price& price, std::uint64_t prompt, std::uint64_t completion) {
    // Per million tokens in units = per token in thousandths of a millionth: × 1000 nano-units.
    const double nano = (static_cast<double>(prompt) * price.prompt +
                         static_cast<double>(completion) * price.completion) *
                        1000.0;
    return static_cast<std::uint64_t>(std::ceil(nano - 1e-6));
}

}  // namespace llmgw::limits
