// Builds the bodies the fake model server answers with (vLLM/OpenAI JSON, SSE, Prometheus, echo).
#include "openai_bodies.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>

namespace fake_model {

namespace {

using json = nlohmann::json;

std::string_view object_name(CompletionKind kind, bool streamed) {
    if (kind == CompletionKind::text) return "text_completion";
    return streamed ? "chat.completion.chunk" : "chat.completion";
}

// {"id":"...","object":"...","created":N,"model":...,
void append_header_fields(std::string& out, const CompletionShape& shape, bool streamed) {
    out += R"({"id":")";
    out += shape.id;
    out += R"(","object":")";
    out += object_name(shape.kind, streamed);
    out += R"(","created":)";
    out += std::to_string(shape.created);
    out += R"(,"model":)";
    out += shape.model_json;
    out += ',';
}

void append_usage(std::string& out, const CompletionShape& shape) {
    const auto completion = static_cast<std::uint64_t>(shape.words);
    out += R"("usage":{"prompt_tokens":)";
    out += std::to_string(shape.prompt_tokens);
    out += R"(,"total_tokens":)";
    out += std::to_string(shape.prompt_tokens + completion);
    out += R"(,"completion_tokens":)";
    out += std::to_string(completion);
    out += '}';
}

// "tok<word>", followed by a space unless it is the last word, so that the streamed pieces
// concatenate to the non-streamed text.
void append_word(std::string& out, int word, int words) {
    out += "tok";
    out += std::to_string(word);
    if (word + 1 < words) out += ' ';
}

std::string event(std::string&& data) {
    return "data: " + std::move(data) + "\n\n";
}

std::string escape_label_value(std::string_view value) {
    std::string out;
    for (const char c : value) {
        if (c == '\\' || c == '"') {
            out += '\\';
            out += c;
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out += c;
        }
    }
    return out;
}

}  // namespace

std::optional<CompletionRequest> parse_completion_request(std::string_view body) {
    const auto document = json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (document.is_discarded() || !document.is_object()) return std::nullopt;
    CompletionRequest request;
    if (const auto model = document.find("model"); model != document.end() && !model->is_null()) {
        request.model_json = dump_json(*model);
    }
    if (const auto stream = document.find("stream"); stream != document.end()) {
        request.stream = stream->is_boolean() && stream->get<bool>();
    }
    if (const auto options = document.find("stream_options");
        options != document.end() && options->is_object()) {
        const auto usage = options->find("include_usage");
        request.include_usage =
            usage != options->end() && usage->is_boolean() && usage->get<bool>();
    }
    return request;
}

std::string completion_body(const CompletionShape& shape) {
    std::string out;
    out.reserve(320 + static_cast<std::size_t>(shape.words) * 6);
    append_header_fields(out, shape, /*streamed=*/false);
    out += R"("choices":[{"index":0,)";
    out += shape.kind == CompletionKind::chat ? R"("message":{"role":"assistant","content":")"
                                              : R"("text":")";
    for (int word = 0; word < shape.words; ++word) append_word(out, word, shape.words);
    out += shape.kind == CompletionKind::chat ? R"("},)" : R"(",)";
    out += R"("logprobs":null,"finish_reason":"stop","stop_reason":null}],)";
    append_usage(out, shape);
    out += '}';
    return out;
}

std::string stream_word_event(const CompletionShape& shape, int word) {
    std::string out;
    out.reserve(256);
    append_header_fields(out, shape, /*streamed=*/true);
    out += R"("choices":[{"index":0,)";
    if (shape.kind == CompletionKind::chat) {
        out += word == 0 ? R"("delta":{"role":"assistant","content":")" : R"("delta":{"content":")";
        append_word(out, word, shape.words);
        out += R"("},"logprobs":null,"finish_reason":null}]})";
    } else {
        out += R"("text":")";
        append_word(out, word, shape.words);
        out += R"(","logprobs":null,"finish_reason":null,"stop_reason":null}]})";
    }
    return event(std::move(out));
}

std::string stream_stop_event(const CompletionShape& shape) {
    std::string out;
    out.reserve(256);
    append_header_fields(out, shape, /*streamed=*/true);
    if (shape.kind == CompletionKind::chat) {
        // With no words at all, the role still has to be announced once.
        out += shape.words == 0
                   ? R"("choices":[{"index":0,"delta":{"role":"assistant","content":""},)"
                   : R"("choices":[{"index":0,"delta":{},)";
    } else {
        out += R"("choices":[{"index":0,"text":"",)";
    }
    out += R"("logprobs":null,"finish_reason":"stop","stop_reason":null}]})";
    return event(std::move(out));
}

std::string stream_usage_event(const CompletionShape& shape) {
    std::string out;
    out.reserve(256);
    append_header_fields(out, shape, /*streamed=*/true);
    out += R"("choices":[],)";
    append_usage(out, shape);
    out += '}';
    return event(std::move(out));
}

std::string error_body(std::string_view message, std::string_view type) {
    return dump_json({{"error", {{"message", message}, {"type", type}, {"code", nullptr}}}});
}

std::string models_body(std::string_view model, std::int64_t created) {
    const json card = {{"id", model},           {"object", "model"},
                       {"created", created},    {"owned_by", "vllm"},
                       {"root", model},         {"parent", nullptr},
                       {"max_model_len", 8192}, {"permission", json::array()}};
    return dump_json({{"object", "list"}, {"data", json::array({card})}});
}

std::string metrics_text(const MetricsSnapshot& metrics, std::string_view model) {
    const std::string labels = "{model_name=\"" + escape_label_value(model) + "\"}";
    std::string out;
    auto add = [&](std::string_view name, std::string_view type, std::string_view help,
                   std::string_view sample_labels, std::uint64_t value) {
        out.append("# HELP ").append(name).append(" ").append(help).append("\n");
        out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
        out.append(name).append(sample_labels).append(" ").append(std::to_string(value));
        out.append("\n");
    };
    add("vllm:num_requests_running", "gauge", "Number of requests currently running on GPU.",
        labels, metrics.running);
    add("vllm:num_requests_waiting", "gauge", "Number of requests waiting to be processed.", labels,
        0);
    add("vllm:prompt_tokens_total", "counter", "Number of prefill tokens processed.", labels,
        metrics.prompt_tokens);
    add("vllm:generation_tokens_total", "counter", "Number of generation tokens processed.", labels,
        metrics.generation_tokens);
    add("vllm:request_success_total", "counter", "Count of successfully processed requests.",
        "{finished_reason=\"stop\",model_name=\"" + escape_label_value(model) + "\"}",
        metrics.succeeded);
    return out;
}

nlohmann::json echo_object(const EchoSource& request, bool with_body) {
    json headers = json::object();
    for (const auto& [name, value] : request.headers) {
        std::string lowered(name);
        std::ranges::transform(lowered, lowered.begin(),
                               [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        auto& joined = headers[lowered];
        joined = joined.is_null() ? std::string(value)
                                  : joined.get<std::string>() + ", " + std::string(value);
    }
    json model = nullptr;
    if (const auto body = json::parse(request.body, nullptr, false); body.is_object()) {
        if (const auto found = body.find("model"); found != body.end()) model = *found;
    }
    json echo = {{"method", request.method},
                 {"target", request.target},
                 {"headers", std::move(headers)},
                 {"body_bytes", request.body.size()},
                 {"body_sha256", sha256_hex(request.body)},
                 {"model", std::move(model)}};
    if (with_body) echo["body"] = request.body;
    return echo;
}

std::string dump_json(const nlohmann::json& value) {
    return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string sha256_hex(std::string_view data) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr);
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    out.reserve(length * 2);
    for (unsigned int i = 0; i < length; ++i) {
        out += hex[digest[i] >> 4];
        out += hex[digest[i] & 0x0f];
    }
    return out;
}

}  // namespace fake_model
