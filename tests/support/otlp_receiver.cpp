// The test collector: one thread, one connection at a time, Beast's synchronous HTTP.
#include "support/otlp_receiver.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <stdexcept>
#include <thread>

#include "support/otlp_decode.hpp"

namespace llmgw::testing {

namespace net = boost::asio;
namespace bhttp = boost::beast::http;
using net::ip::tcp;

struct OtlpReceiver::State {
    net::io_context io;
    tcp::acceptor acceptor{io, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0)};
    std::thread thread;
    mutable std::mutex mutex;
    std::vector<nlohmann::json> bodies;
    std::vector<std::string> raw;  // the same bodies as they came
    std::size_t requests = 0;
    std::size_t malformed = 0;  // bodies that did not decode
    int fail_count = 0;
    int fail_status = 0;
    int always_status = 0;
    std::map<std::string, std::string> last_headers;
    bool stopping = false;

    // The status for the request that just arrived.
    int status_for(const bhttp::request<bhttp::string_body>& request) {
        std::lock_guard lock(mutex);
        ++requests;
        last_headers.clear();
        for (const auto& field : request) {
            std::string name(field.name_string());
            for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            last_headers[name] = std::string(field.value());
        }
        if (fail_count > 0) {
            --fail_count;
            return fail_status;
        }
        if (always_status != 0) return always_status;
        // As a collector: protobuf by its content type (415 for any other), 400 when the
        // body does not decode.
        if (request.target() != "/v1/traces") return 404;
        if (request[bhttp::field::content_type] != "application/x-protobuf") return 415;
        try {
            bodies.push_back(decode_otlp_traces(request.body()));
            raw.push_back(request.body());
        } catch (const std::runtime_error&) {
            ++malformed;
            return 400;
        }
        return 200;
    }

    void serve(tcp::socket socket) {
        boost::system::error_code ec;
        boost::beast::flat_buffer buffer;
        for (;;) {
            bhttp::request<bhttp::string_body> request;
            bhttp::read(socket, buffer, request, ec);
            if (ec) return;
            const int status = status_for(request);
            bhttp::response<bhttp::string_body> response{static_cast<bhttp::status>(status), 11};
            response.set(bhttp::field::content_type, "application/json");
            response.body() = status == 200 ? "{}" : "{\"code\":14}";
            response.keep_alive(request.keep_alive());
            response.prepare_payload();
            bhttp::write(socket, response, ec);
            if (ec || !request.keep_alive()) return;
        }
    }

    void run() {
        for (;;) {
            boost::system::error_code ec;
            tcp::socket socket(io);
            acceptor.accept(socket, ec);
            {
                std::lock_guard lock(mutex);
                if (stopping) return;
            }
            if (!ec) serve(std::move(socket));
        }
    }
};

OtlpReceiver::OtlpReceiver() : state_(std::make_shared<State>()) {
    state_->thread = std::thread([state = state_] { state->run(); });
}

OtlpReceiver::~OtlpReceiver() {
    {
        std::lock_guard lock(state_->mutex);
        state_->stopping = true;
    }
    // Wakes the blocking accept with a connection of our own.
    boost::system::error_code ec;
    net::io_context io;
    tcp::socket poke(io);
    poke.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port()), ec);
    state_->thread.join();
}

uint16_t OtlpReceiver::port() const {
    return state_->acceptor.local_endpoint().port();
}

void OtlpReceiver::answer_next(int count, int status) {
    std::lock_guard lock(state_->mutex);
    state_->fail_count = count;
    state_->fail_status = status;
}

void OtlpReceiver::answer_always(int status) {
    std::lock_guard lock(state_->mutex);
    state_->always_status = status;
}

std::vector<nlohmann::json> OtlpReceiver::spans() const {
    std::lock_guard lock(state_->mutex);
    std::vector<nlohmann::json> out;
    for (const auto& body : state_->bodies)
        for (const auto& resource : body["resourceSpans"]) {
            const auto service = otlp_attribute(resource["resource"], "service.name");
            for (const auto& scope : resource["scopeSpans"])
                for (auto span : scope["spans"]) {
                    span["service.name"] = service.value("stringValue", "");
                    out.push_back(std::move(span));
                }
        }
    return out;
}

std::vector<nlohmann::json> OtlpReceiver::trace(const std::string& trace_id) const {
    std::vector<nlohmann::json> out;
    for (auto& span : spans())
        if (span["traceId"] == trace_id) out.push_back(std::move(span));
    return out;
}

std::size_t OtlpReceiver::requests() const {
    std::lock_guard lock(state_->mutex);
    return state_->requests;
}

std::size_t OtlpReceiver::malformed() const {
    std::lock_guard lock(state_->mutex);
    return state_->malformed;
}

std::vector<std::string> OtlpReceiver::raw_bodies() const {
    std::lock_guard lock(state_->mutex);
    return state_->raw;
}

std::map<std::string, std::string> OtlpReceiver::last_headers() const {
    std::lock_guard lock(state_->mutex);
    return state_->last_headers;
}

std::string OtlpReceiver::last_content_type() const {
    const auto headers = last_headers();
    const auto it = headers.find("content-type");
    return it == headers.end() ? std::string() : it->second;
}

nlohmann::json otlp_attribute(const nlohmann::json& span, const std::string& key) {
    if (!span.contains("attributes")) return nullptr;
    for (const auto& attribute : span["attributes"])
        if (attribute["key"] == key) return attribute["value"];
    return nullptr;
}

}  // namespace llmgw::testing
