// Starting the real llmgw binary and fake model servers on free loopback ports for a test.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "support/http_client.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace llmgw::testing {

// One llmgw-fake-model process; every answer carries x-fake-server: <id>.
class FakeModel {
public:
    static FakeModel start(const std::string& id, std::vector<std::string> extra_args = {});

    uint16_t port() const { return port_; }
    // https:// when started with --tls-cert; `host` may be "localhost" (sent as SNI).
    std::string url(const std::string& host = "127.0.0.1") const {
        return (tls_ ? "https://" : "http://") + host + ":" + std::to_string(port_);
    }
    // GET /fake/stats: requests_total, by_path, last_request (the echo object); over TLS
    // (tls_handshakes, last_sni) for an HTTPS fake.
    nlohmann::json stats() const;

private:
    FakeModel(Process process, uint16_t port, bool tls)
        : process_(std::move(process)), port_(port), tls_(tls) {}
    Process process_;
    uint16_t port_;
    bool tls_ = false;
};

struct GatewayOptions {
    std::string server_extra{};  // more lines under `server:`, each indented by two spaces
    std::string admin_extra{};   // more lines under `admin:`
    std::map<std::string, std::string> env{};
    unsigned workers = 2;
    std::string access_log = "stdout";  // logging.access_log
};

// A running llmgw. `sections` is the YAML after server/admin/logging (backends, routes, ...),
// which the harness writes with free ports for the listener and the admin listener.
class RunningGateway {
public:
    static RunningGateway start(const std::string& sections, const GatewayOptions& options = {});

    uint16_t port() const { return port_; }
    uint16_t admin_port() const { return admin_port_; }
    Process& process() { return process_; }
    // The access log (llmgw's stdout), one JSON object per line.
    std::vector<nlohmann::json> access_log_lines() const;
    // The first access-log line whose `field` equals `value` (null when none). Lines of
    // requests answered one after another may be written in either order: two workers.
    nlohmann::json access_line_where(const std::string& field, const nlohmann::json& value) const;
    // Waits until the access log holds at least `count` lines.
    bool wait_for_access_lines(std::size_t count, std::chrono::milliseconds deadline) const;

    HttpResponse post(const std::string& target, const nlohmann::json& body,
                      HttpHeaders headers = {}) const;

    // Replaces the config file's sections (listeners and logging stay), for reload tests.
    void rewrite_config(const std::string& sections) const;
    const std::string& config_path() const { return config_path_; }

private:
    RunningGateway(TempDir dir, Process process, uint16_t port, uint16_t admin_port)
        : dir_(std::move(dir)),
          process_(std::move(process)),
          port_(port),
          admin_port_(admin_port) {}
    TempDir dir_;
    Process process_;
    uint16_t port_;
    uint16_t admin_port_;
    std::string config_head_;  // server, admin and logging, as written at start
    std::string config_path_;
};

// Lower-case hex SHA-256, as the config's `sha256:` keys are written.
std::string sha256_hex(std::string_view text);

// Waits until `done()` holds, polling every 10 ms, up to `deadline`; true when it did.
template <typename Condition>
bool eventually(Condition done, std::chrono::milliseconds deadline = std::chrono::seconds(5)) {
    const auto until = std::chrono::steady_clock::now() + deadline;
    while (std::chrono::steady_clock::now() < until) {
        if (done()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return done();
}

// "from=<yesterday>&to=<tomorrow>" (UTC days) for /admin/usage: the default range is today
// only, and a test that runs across midnight UTC would miss the usage of the day before.
std::string usage_days_around_today();

// One backend `vllm` with `model` as its endpoint, and one route `chat` for /v1/ to it.
std::string backend_and_route(const FakeModel& model);
// A tier "metered" with `limits` (a YAML flow mapping), the consumer "acme" on it with the API
// key `key` (stored as its SHA-256), and backend_and_route(model).
std::string metered_acme(const FakeModel& model, const std::string& limits, const std::string& key);

// A minimal chat request body.
nlohmann::json chat_body(const std::string& model = "fake-model", bool stream = false);

// An echo request (the fake's x-fake-echo: 1) of `body` as text/plain to /v1/echo, closing after.
std::string echo_request(const std::string& body);
// A loopback connection to `port` whose receive buffer is `receive_buffer` bytes (set before the
// connect, so the window stays small), with `request` sent whole and 30 s receive timeouts;
// -1 when the connect or the send failed.
int send_with_small_window(unsigned short port, int receive_buffer, const std::string& request);

// The gateway's /metrics text (its admin listener).
std::string metrics_of(const RunningGateway& gateway);
// The value of the sample line `series` (name and labels, as the text writes them) in a
// /metrics text; -1 when there is none. A sample line, never the # HELP / # TYPE lines.
double metric_value(const std::string& metrics, const std::string& series);

}  // namespace llmgw::testing
