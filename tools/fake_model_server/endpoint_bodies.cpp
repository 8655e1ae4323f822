// The bodies of vLLM's other OpenAI-compatible endpoints, Anthropic Messages and Triton generate.
#include "endpoint_bodies.hpp"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <ctime>
#include <nlohmann/json.hpp>

namespace fake_model {

namespace {

using nlohmann::json;

// What every endpoint reads from a request: its model, whether it streams, the prompt size.
struct Asked {
    std::string model;
    bool stream = false;
    std::uint64_t prompt_tokens = 1;  // about four bytes a token, as the completions answer
    int words = 0;
    json body;
};

std::string text_of(int words) {
    std::string out;
    for (int i = 0; i < words; ++i) out += (i == 0 ? "tok" : " tok") + std::to_string(i);
    return out;
}

std::string next_id(std::string_view prefix) {
    static std::atomic<std::uint64_t> next{1};
    return std::string(prefix) + std::to_string(next.fetch_add(1, std::memory_order_relaxed));
}

std::string sse(std::string_view event_name, const json& data) {
    std::string out;
    if (!event_name.empty()) out = "event: " + std::string(event_name) + "\n";
    return out + "data: " + data.dump() + "\n\n";
}

EndpointAnswer error(unsigned status, std::string_view message) {
    EndpointAnswer answer;
    answer.status = status;
    answer.body =
        json{
            {"error", {{"message", message}, {"type", "invalid_request_error"}, {"code", nullptr}}}}
            .dump();
    return answer;
}

EndpointAnswer whole(json body, const Asked& asked, std::uint64_t output_tokens) {
    EndpointAnswer answer;
    answer.body = body.dump();
    answer.prompt_tokens = asked.prompt_tokens;
    answer.output_tokens = output_tokens;
    return answer;
}

EndpointAnswer streamed(std::vector<std::string> events, const Asked& asked) {
    EndpointAnswer answer;
    answer.stream = true;
    answer.events = std::move(events);
    answer.prompt_tokens = asked.prompt_tokens;
    answer.output_tokens = static_cast<std::uint64_t>(asked.words);
    return answer;
}

// The vector as vLLM sends it with encoding_format "base64": float32 little-endian, base64.
std::string base64_floats(const std::vector<float>& values) {
    static constexpr char digits[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string bytes(values.size() * sizeof(float), '\0');
    std::memcpy(bytes.data(), values.data(), bytes.size());  // x86 and ARM are little-endian
    std::string out;
    for (std::size_t i = 0; i < bytes.size(); i += 3) {
        const auto byte = [&](std::size_t k) {
            return k < bytes.size() ? static_cast<unsigned char>(bytes[k]) : 0u;
        };
        const unsigned group = (byte(i) << 16) | (byte(i + 1) << 8) | byte(i + 2);
        for (std::size_t k = 0; k < 4; ++k)
            out += i + k <= bytes.size() ? digits[(group >> (18 - 6 * k)) & 63] : '=';
    }
    return out;
}

EndpointAnswer embeddings(const Asked& asked) {
    const auto& input = asked.body.contains("input") ? asked.body["input"] : json();
    const std::size_t count = input.is_array() ? std::max<std::size_t>(1, input.size()) : 1;
    const std::vector<float> vector{0.5f, -0.25f, 0.125f, 1.0f};
    const auto format = asked.body.find("encoding_format");
    const bool base64 = format != asked.body.end() && *format == "base64";
    json data = json::array();
    for (std::size_t i = 0; i < count; ++i)
        data.push_back({{"object", "embedding"},
                        {"index", i},
                        {"embedding", base64 ? json(base64_floats(vector)) : json(vector)}});
    return whole({{"id", next_id("embd-fake-")},
                  {"object", "list"},
                  {"created", std::time(nullptr)},
                  {"model", asked.model},
                  {"data", std::move(data)},
                  {"usage",
                   {{"prompt_tokens", asked.prompt_tokens},
                    {"total_tokens", asked.prompt_tokens},
                    {"completion_tokens", 0}}}},
                 asked, 0);
}

json response_object(const Asked& asked, const std::string& id, bool done) {
    json usage = nullptr;
    json output = json::array();
    if (done) {
        usage = {{"input_tokens", asked.prompt_tokens},
                 {"input_tokens_details", {{"cached_tokens", 0}}},
                 {"output_tokens", asked.words},
                 {"output_tokens_details", {{"reasoning_tokens", 0}}},
                 {"total_tokens", asked.prompt_tokens + static_cast<std::uint64_t>(asked.words)}};
        output.push_back({{"type", "message"},
                          {"id", "msg-" + id},
                          {"status", "completed"},
                          {"role", "assistant"},
                          {"content",
                           {{{"type", "output_text"},
                             {"text", text_of(asked.words)},
                             {"annotations", json::array()}}}}});
    }
    return {{"id", id},
            {"object", "response"},
            {"created_at", std::time(nullptr)},
            {"model", asked.model},
            {"status", done ? "completed" : "in_progress"},
            {"output", std::move(output)},
            {"usage", std::move(usage)}};
}

EndpointAnswer responses(const Asked& asked) {
    const auto id = next_id("resp-fake-");
    if (!asked.stream) return whole(response_object(asked, id, true), asked, asked.words);
    std::vector<std::string> events;
    int sequence = 0;
    events.push_back(sse("response.created", {{"type", "response.created"},
                                              {"sequence_number", sequence++},
                                              {"response", response_object(asked, id, false)}}));
    for (int i = 0; i < asked.words; ++i)
        events.push_back(sse("response.output_text.delta",
                             {{"type", "response.output_text.delta"},
                              {"sequence_number", sequence++},
                              {"item_id", "msg-" + id},
                              {"output_index", 0},
                              {"content_index", 0},
                              {"delta", (i == 0 ? "tok" : " tok") + std::to_string(i)}}));
    events.push_back(sse("response.completed", {{"type", "response.completed"},
                                                {"sequence_number", sequence++},
                                                {"response", response_object(asked, id, true)}}));
    return streamed(std::move(events), asked);
}

json message_object(const Asked& asked, const std::string& id, bool done) {
    json content = json::array();
    if (done) content.push_back({{"type", "text"}, {"text", text_of(asked.words)}});
    return {{"id", id},
            {"type", "message"},
            {"role", "assistant"},
            {"model", asked.model},
            {"content", std::move(content)},
            {"stop_reason", done ? json("end_turn") : json()},
            {"stop_sequence", nullptr},
            {"usage",
             {{"input_tokens", asked.prompt_tokens}, {"output_tokens", done ? asked.words : 0}}}};
}

// Anthropic Messages: the input in message_start, the output in message_delta.
EndpointAnswer messages(const Asked& asked) {
    const auto id = next_id("msg_fake_");
    if (!asked.stream) return whole(message_object(asked, id, true), asked, asked.words);
    std::vector<std::string> events;
    events.push_back(sse("message_start", {{"type", "message_start"},
                                           {"message", message_object(asked, id, false)}}));
    events.push_back(
        sse("content_block_start", {{"type", "content_block_start"},
                                    {"index", 0},
                                    {"content_block", {{"type", "text"}, {"text", ""}}}}));
    for (int i = 0; i < asked.words; ++i)
        events.push_back(sse(
            "content_block_delta",
            {{"type", "content_block_delta"},
             {"index", 0},
             {"delta",
              {{"type", "text_delta"}, {"text", (i == 0 ? "tok" : " tok") + std::to_string(i)}}}}));
    events.push_back(sse("content_block_stop", {{"type", "content_block_stop"}, {"index", 0}}));
    events.push_back(
        sse("message_delta", {{"type", "message_delta"},
                              {"delta", {{"stop_reason", "end_turn"}, {"stop_sequence", nullptr}}},
                              {"usage", {{"output_tokens", asked.words}}}}));
    events.push_back(sse("message_stop", {{"type", "message_stop"}}));
    return streamed(std::move(events), asked);
}

// vLLM: the text and the audio's duration (no tokens); streamed, chunks of text deltas.
EndpointAnswer transcription(const Asked& asked) {
    if (!asked.stream)
        return whole(
            {{"text", text_of(asked.words)}, {"usage", {{"type", "duration"}, {"seconds", 1}}}},
            asked, asked.words);
    std::vector<std::string> events;
    const auto id = next_id("trsc-fake-");
    for (int i = 0; i < asked.words; ++i)
        events.push_back(sse(
            "", {{"id", id},
                 {"object", "transcription.chunk"},
                 {"model", asked.model},
                 {"choices",
                  {{{"delta", {{"content", (i == 0 ? "tok" : " tok") + std::to_string(i)}}}}}}}));
    events.push_back("data: [DONE]\n\n");
    return streamed(std::move(events), asked);
}

EndpointAnswer rerank(const Asked& asked) {
    const auto& documents = asked.body.contains("documents") ? asked.body["documents"] : json();
    json results = json::array();
    for (std::size_t i = 0; documents.is_array() && i < documents.size(); ++i)
        results.push_back(
            {{"index", i}, {"document", {{"text", documents[i]}}}, {"relevance_score", 0.5}});
    return whole({{"id", next_id("rerank-fake-")},
                  {"model", asked.model},
                  {"usage", {{"total_tokens", asked.prompt_tokens}}},
                  {"results", std::move(results)}},
                 asked, 0);
}

EndpointAnswer score(const Asked& asked) {
    return whole({{"id", next_id("score-fake-")},
                  {"object", "list"},
                  {"created", std::time(nullptr)},
                  {"model", asked.model},
                  {"data", {{{"index", 0}, {"object", "score"}, {"score", 0.5}}}},
                  {"usage",
                   {{"prompt_tokens", asked.prompt_tokens},
                    {"total_tokens", asked.prompt_tokens},
                    {"completion_tokens", 0}}}},
                 asked, 0);
}

EndpointAnswer tokenize(const Asked& asked) {
    json tokens = json::array();
    for (std::uint64_t i = 0; i < asked.prompt_tokens; ++i) tokens.push_back(100 + i);
    EndpointAnswer answer = whole(
        {{"count", asked.prompt_tokens}, {"max_model_len", 4096}, {"tokens", std::move(tokens)}},
        asked, 0);
    answer.prompt_tokens = 0;  // no model run
    return answer;
}

// Triton's generate extension: the model in the path, text_output in the answer (no usage).
EndpointAnswer triton_generate(const Asked& asked, bool stream) {
    if (!stream)
        return whole({{"model_name", asked.model},
                      {"model_version", "1"},
                      {"text_output", text_of(asked.words)}},
                     asked, asked.words);
    std::vector<std::string> events;
    for (int i = 0; i < asked.words; ++i)
        events.push_back(sse("", {{"model_name", asked.model},
                                  {"model_version", "1"},
                                  {"text_output", (i == 0 ? "tok" : " tok") + std::to_string(i)}}));
    return streamed(std::move(events), asked);
}

// A multipart form field's value (audio uploads carry model and stream as fields).
std::string form_field(std::string_view body, std::string_view name) {
    const auto key = "name=\"" + std::string(name) + "\"";
    const auto at = body.find(key);
    if (at == std::string_view::npos) return {};
    const auto start = body.find("\r\n\r\n", at);
    if (start == std::string_view::npos) return {};
    const auto end = body.find("\r\n", start + 4);
    return std::string(body.substr(start + 4, end == std::string_view::npos ? 0 : end - start - 4));
}

std::optional<Asked> read_asked(const EndpointRequest& request) {
    Asked asked;
    asked.words = request.words;
    asked.prompt_tokens = std::max<std::uint64_t>(1, request.body.size() / 4);
    if (request.content_type.starts_with("multipart/form-data")) {
        asked.model = form_field(request.body, "model");
        asked.stream = form_field(request.body, "stream") == "true";
    } else {
        asked.body = json::parse(request.body, nullptr, false);
        if (!asked.body.is_object()) return std::nullopt;
        if (asked.body.contains("model") && asked.body["model"].is_string())
            asked.model = asked.body["model"].get<std::string>();
        const auto stream = asked.body.find("stream");
        asked.stream = stream != asked.body.end() && *stream == true;
    }
    if (asked.model.empty()) asked.model = std::string(request.default_model);
    return asked;
}

}  // namespace

std::optional<EndpointAnswer> endpoint_answer(const EndpointRequest& request) {
    const auto path = request.path;
    const bool triton = path.starts_with("/v2/models/") &&
                        (path.ends_with("/generate") || path.ends_with("/generate_stream"));
    static constexpr std::string_view known[] = {
        "/v1/embeddings", "/v1/responses", "/v1/messages", "/v1/audio/transcriptions",
        "/v1/rerank",     "/rerank",       "/v2/rerank",   "/v1/score",
        "/score",         "/tokenize"};
    if (!triton && std::find(std::begin(known), std::end(known), path) == std::end(known))
        return std::nullopt;
    if (request.method != "POST") return error(405, "method not allowed");
    auto asked = read_asked(request);
    if (!asked) return error(400, "request body is not a valid JSON object");
    if (triton) {
        const auto rest = path.substr(std::string_view("/v2/models/").size());
        asked->model = std::string(rest.substr(0, rest.find('/')));
        return triton_generate(*asked, path.ends_with("_stream"));
    }
    if (path == "/v1/embeddings") return embeddings(*asked);
    if (path == "/v1/responses") return responses(*asked);
    if (path == "/v1/messages") return messages(*asked);
    if (path == "/v1/audio/transcriptions") return transcription(*asked);
    if (path.ends_with("/rerank")) return rerank(*asked);
    if (path.ends_with("/score")) return score(*asked);
    return tokenize(*asked);
}

}  // namespace fake_model
