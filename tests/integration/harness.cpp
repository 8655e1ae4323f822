// Child-process plumbing for the integration tests: free ports, readiness waits, configs.
#include "harness.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <openssl/sha.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "support/ports.hpp"

namespace llmgw::testing {

using namespace std::chrono_literals;

FakeModel FakeModel::start(const std::string& id, std::vector<std::string> extra_args) {
    const auto port = free_port();
    std::vector<std::string> args = {"--listen", "127.0.0.1:" + std::to_string(port), "--id", id};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    auto process = Process::start(FAKE_MODEL_BINARY, args);
    if (!process.wait_for_output("listening on", 10s))
        throw std::runtime_error("fake model server did not start: " + process.stderr_text());
    const bool tls = std::find(args.begin(), args.end(), "--tls-cert") != args.end();
    return FakeModel(std::move(process), port, tls);
}

nlohmann::json FakeModel::stats() const {
    if (tls_) return https_request(port_, TlsClientOptions{}, {"GET", "/fake/stats"}).json();
    return http_request(port_, {"GET", "/fake/stats"}).json();
}

RunningGateway RunningGateway::start(const std::string& sections, const GatewayOptions& options) {
    TempDir dir;
    const auto port = free_port();
    const auto admin_port = free_port();
    std::ostringstream head;
    head << "server:\n  listen: \"127.0.0.1:" << port << "\"\n  workers: " << options.workers
         << "\n"
         << options.server_extra << "admin:\n  listen: \"127.0.0.1:" << admin_port << "\"\n"
         << options.admin_extra << "logging:\n  level: info\n  access_log: \"" << options.access_log
         << "\"\n";
    std::ostringstream yaml;
    yaml << head.str() << sections;
    const auto config_path = dir.write("llmgw.yaml", yaml.str());
    auto process = Process::start(LLMGW_BINARY, {"--config", config_path}, options.env);
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < deadline) {
        if (!process.running())
            throw std::runtime_error("llmgw exited at start: " + process.stderr_text() +
                                     "\nconfig:\n" + yaml.str());
        if (wait_for_port(admin_port, 100ms)) {
            if (http_request(admin_port, {"GET", "/readyz"}, 2s).status == 200)
            {
                RunningGateway gateway(std::move(dir), std::move(process), port, admin_port);
                gateway.config_head_ = head.str();
                gateway.config_path_ = config_path;
                return gateway;
            }
        }
    }
    throw std::runtime_error("llmgw did not become ready: " + process.stderr_text());
}

void RunningGateway::rewrite_config(const std::string& sections) const {
    // Written to a new file, then renamed over the old one: a reload never reads half a file.
    const auto temporary = config_path_ + ".new";
    {
        std::ofstream out(temporary, std::ios::trunc);
        out << config_head_ << sections;
    }
    std::filesystem::rename(temporary, config_path_);
}

std::vector<nlohmann::json> RunningGateway::access_log_lines() const {
    std::vector<nlohmann::json> lines;
    // Only whole lines: the gateway may be writing the last one right now.
    auto text = process_.stdout_text();
    text.resize(text.rfind('\n') == std::string::npos ? 0 : text.rfind('\n') + 1);
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        if (!line.empty()) lines.push_back(nlohmann::json::parse(line));
    return lines;
}

nlohmann::json RunningGateway::access_line_where(const std::string& field, const nlohmann::json& value) const {
    for (auto& line : access_log_lines())
        if (line.contains(field) && line[field] == value) return line;
    return nullptr;
}

bool RunningGateway::wait_for_access_lines(std::size_t count,
                                           std::chrono::milliseconds deadline) const {
    const auto until = std::chrono::steady_clock::now() + deadline;
    do {
        if (access_log_lines().size() >= count) return true;
        std::this_thread::sleep_for(10ms);  // polling a file; the wait is bounded by `deadline`
    } while (std::chrono::steady_clock::now() < until);
    return false;
}

HttpResponse RunningGateway::post(const std::string& target, const nlohmann::json& body,
                                  HttpHeaders headers) const {
    headers.emplace_back("content-type", "application/json");
    return http_request(port_, {"POST", target, headers, body.dump()});
}

std::string sha256_hex(std::string_view text) {
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
    static constexpr char digits[] = "0123456789abcdef";
    std::string hex;
    for (unsigned char b : digest) {
        hex.push_back(digits[b >> 4]);
        hex.push_back(digits[b & 0xf]);
    }
    return hex;
}

nlohmann::json chat_body(const std::string& model, bool stream) {
    nlohmann::json body = {{"model", model},
                           {"messages", {{{"role", "user"}, {"content", "Say hello"}}}}};
    if (stream) body["stream"] = true;
    return body;
}

std::string metrics_of(const RunningGateway& gateway) {
    return http_request(gateway.admin_port(), {"GET", "/metrics"}).body;
}

double metric_value(const std::string& metrics, const std::string& series) {
    const auto at = metrics.find("\n" + series + " ");
    if (at == std::string::npos) return -1;
    return std::stod(metrics.substr(at + series.size() + 2));
}

std::string backend_and_route(const FakeModel& model) {
    return "backends:\n  vllm: { endpoints: [ { url: \"" + model.url() +
           "\" } ] }\nroutes:\n  - { name: chat, backend: vllm, match: { path_prefix: /v1/ } }\n";
}

std::string metered_acme(const FakeModel& model, const std::string& limits, const std::string& key) {
    return "tiers:\n  metered: " + limits +
           "\nconsumers: [ { name: acme, tier: metered, keys: [ { sha256: \"" + sha256_hex(key) +
           "\" } ] } ]\n" + backend_and_route(model);
}

std::string usage_days_around_today() {
    const auto day = [](std::chrono::system_clock::time_point at) {
        const std::time_t seconds = std::chrono::system_clock::to_time_t(at);
        std::tm utc{};
        gmtime_r(&seconds, &utc);
        char text[16];
        std::strftime(text, sizeof text, "%Y-%m-%d", &utc);
        return std::string(text);
    };
    const auto now = std::chrono::system_clock::now();
    return "from=" + day(now - std::chrono::hours(24)) + "&to=" + day(now + std::chrono::hours(24));
}

std::string echo_request(const std::string& body) {
    return "POST /v1/echo HTTP/1.1\r\nHost: llmgw\r\nContent-Type: text/plain\r\n"
           "x-fake-echo: 1\r\nConnection: close\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n\r\n" + body;
}

int send_with_small_window(unsigned short port, int receive_buffer, const std::string& request) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const timeval patience{30, 0};
    if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer) != 0 ||
        ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &patience, sizeof patience) != 0 ||
        ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &patience, sizeof patience) != 0 ||
        ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
        ::close(fd);
        return -1;
    }
    for (std::size_t sent = 0; sent < request.size();) {
        const auto n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) {
            ::close(fd);
            return -1;
        }
        sent += static_cast<std::size_t>(n);
    }
    return fd;
}

}  // namespace llmgw::testing
