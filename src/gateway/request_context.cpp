// Per-request state, including the lazily parsed JSON body.
#include "llmgw/gateway/request_context.hpp"

#include <cstring>

namespace llmgw::gateway {

RequestContext::RequestContext(http::Request& req, std::string client_ip) : request(req) {
    record.time = std::chrono::system_clock::now();
    record.client = std::move(client_ip);
    record.method = std::string(request.method_string());
    const auto target = std::string_view(request.target());
    record.path = std::string(target.substr(0, target.find('?')));
    record.bytes_in = request.body().size();
}

nlohmann::json* RequestContext::mutable_body_json() {
    if (!body_parsed_) {
        body_parsed_ = true;
        auto parsed = nlohmann::json::parse(request.body(), nullptr, /*allow_exceptions=*/false);
        if (!parsed.is_discarded()) body_json_ = std::move(parsed);
    }
    return body_json_ ? &*body_json_ : nullptr;
}

bool RequestContext::has_json_body() const {
    if (request.body().empty()) return false;
    const auto it = request.find(http::beast::http::field::content_type);
    if (it == request.end()) return true;  // many clients leave it out; the body decides
    return it->value().find("json") != std::string_view::npos;
}

bool RequestContext::asks_for_stream() {
    if (!asks_for_stream_) asks_for_stream_ = read_asks_for_stream();
    return *asks_for_stream_;
}

bool RequestContext::read_asks_for_stream() {
    const auto target = std::string_view(request.target());
    // Most requests are not streamed: a substring test spares them a JSON parse.
    constexpr std::string_view key = "\"stream\"";
    const auto& body = request.body();
    // memmem: std::string::find stops at every '"' of the body.
    const bool may_say_so = ::memmem(body.data(), body.size(), key.data(), key.size()) != nullptr;
    const auto path = target.substr(0, target.find('?'));
    // "stream": false is common: the text says so without a parse when the tree is not there.
    if (may_say_so && !body_parsed_)
        if (const auto said = usage::text_asks_for_stream(shape, path, body)) return *said;
    return usage::asks_for_stream(shape, path, may_say_so ? body_json() : nullptr);
}

const nlohmann::json* RequestContext::body_json() {
    return mutable_body_json();
}

}  // namespace llmgw::gateway
