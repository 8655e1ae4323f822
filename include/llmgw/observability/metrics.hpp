// The Prometheus registry every component adds its metrics to, served on the admin /metrics.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "llmgw/observability/access_record.hpp"

namespace prometheus {
class Registry;
}

namespace llmgw::observability {

class Metrics {
public:
    Metrics();
    ~Metrics();
    Metrics(const Metrics&) = delete;
    Metrics& operator=(const Metrics&) = delete;

    void request_started();
    // Counts a finished request; labels come from the config (route, backend, tier) and
    // the status, never from raw client input.
    void request_finished(const AccessRecord& record);
    // Counts a request refused while it was being read (it never started).
    void request_refused(const AccessRecord& record);
    void upstream_error(std::string_view backend, std::string_view kind);
    // `reason` comes from a fixed set (missing, unknown_key, expired, ...), never from the request.
    void auth_failure(std::string_view reason);

    // The text exposition format.
    std::string serialize() const;
    prometheus::Registry& registry();

private:
    struct Families;
    std::shared_ptr<prometheus::Registry> registry_;
    std::unique_ptr<Families> families_;
};

}  // namespace llmgw::observability
