// The reservation estimate read straight from the body's text, without building a JSON tree:
// the same figures as estimate_request on the parsed body, or no answer when the body leaves
// the plain subset this reader is sure about (then the caller parses it).
#include <algorithm>
#include <optional>

#include "llmgw/limits/reservation_estimate.hpp"
#include "llmgw/usage/plain_json.hpp"

namespace llmgw::limits {

namespace {

constexpr std::uint64_t max_choices = 128;
constexpr std::uint64_t max_output_cap = 1ull << 40;

using Reader = usage::PlainJsonReader;
using Summary = usage::PlainJsonSummary;

// The top-level fields estimate_request reads.
struct Fields {
    std::uint64_t prompt_bytes = 0, messages = 0;
    std::optional<std::uint64_t> n, max_completion_tokens, max_tokens, max_output_tokens,
        parameters_max_tokens;
    bool parameters = false;
};

// Records one top-level member; false for a repeat of a key that counts.
bool record(Fields& fields, unsigned& seen, std::string_view key, const Summary& item) {
    static constexpr std::string_view keys[] = {
        "messages", "prompt", "input", "instructions", "system", "n",
        "max_completion_tokens", "max_tokens", "max_output_tokens", "parameters"};
    const auto found = std::find(std::begin(keys), std::end(keys), key);
    if (found == std::end(keys)) return true;
    const auto bit = 1u << (found - std::begin(keys));
    if ((seen & bit) != 0) return false;
    seen |= bit;
    const auto index = found - std::begin(keys);
    if (index == 0) {
        fields.messages = item.items;  // zero for a non-array, which estimate_request skips
        fields.prompt_bytes += item.item_contents;
    } else if (index <= 4) {
        fields.prompt_bytes += item.text;
    } else if (index == 5) {
        fields.n = item.count;
    } else if (index == 6) {
        fields.max_completion_tokens = item.count;
    } else if (index == 7) {
        fields.max_tokens = item.count;
    } else if (index == 8) {
        fields.max_output_tokens = item.count;
    } else {
        fields.parameters = true;
        fields.parameters_max_tokens = item.max_tokens;
    }
    return true;
}

std::optional<Fields> read_fields(std::string_view body) {
    Reader reader(body);
    Fields fields;
    unsigned seen = 0;
    const bool read = reader.read_object([&](std::string_view key, const Summary& item) {
        return record(fields, seen, key, item);
    });
    if (!read) return std::nullopt;
    return fields;
}

// usage::max_output_tokens, on the fields read.
std::optional<std::uint64_t> output_cap(const Fields& fields, usage::EndpointShape shape) {
    using Shape = usage::EndpointShape;
    switch (shape) {
        case Shape::chat_completions:
            return fields.max_completion_tokens ? fields.max_completion_tokens : fields.max_tokens;
        case Shape::completions:
        case Shape::messages: return fields.max_tokens;
        case Shape::responses: return fields.max_output_tokens;
        case Shape::triton_generate:
            if (fields.max_tokens) return fields.max_tokens;
            return fields.parameters ? fields.parameters_max_tokens : std::nullopt;
        case Shape::transcriptions:
        case Shape::other: return std::nullopt;
        default: return 0;
    }
}

}  // namespace

std::optional<RequestEstimate> estimate_request_text(std::string_view body,
                                                     usage::EndpointShape shape,
                                                     std::uint64_t default_completion) {
    const auto fields = read_fields(body);
    if (!fields) return std::nullopt;
    RequestEstimate estimate;
    estimate.prompt_tokens = (fields->prompt_bytes + prompt_bytes_per_token - 1) / prompt_bytes_per_token +
                             fields->messages * tokens_per_message;
    if (!usage::produces_text(shape)) return estimate;
    const auto per_choice =
        std::min(output_cap(*fields, shape).value_or(default_completion), max_output_cap);
    const auto choices = std::clamp<std::uint64_t>(fields->n.value_or(1), 1, max_choices);
    estimate.completion_tokens = per_choice * choices;
    return estimate;
}

}  // namespace llmgw::limits
