// Reading the GenAI request attributes of an OpenAI-style request.
#include "llmgw/tracing/genai.hpp"

#include <nlohmann/json.hpp>

namespace llmgw::tracing {

std::string_view genai_operation(std::string_view target) {
    const auto path = target.substr(0, target.find('?'));
    if (path.ends_with("/chat/completions")) return "chat";
    if (path.ends_with("/completions")) return "text_completion";
    if (path.ends_with("/embeddings")) return "embeddings";
    return {};
}

GenAiRequest genai_request(std::string_view path, const nlohmann::json* body) {
    GenAiRequest request;
    request.operation = std::string(genai_operation(path));
    if (request.operation.empty() || body == nullptr || !body->is_object()) return request;
    if (const auto model = body->find("model"); model != body->end() && model->is_string())
        request.model = model->get<std::string>();
    // max_completion_tokens is the newer name of the same limit.
    for (const char* key : {"max_completion_tokens", "max_tokens"}) {
        const auto limit = body->find(key);
        if (limit != body->end() && limit->is_number_integer()) {
            request.max_tokens = limit->get<std::int64_t>();
            break;
        }
    }
    const auto stream = body->find("stream");
    request.stream = stream != body->end() && *stream == true;
    return request;
}

}  // namespace llmgw::tracing
