// Whether the gateway can serve (/readyz): each worker tells it once its limits store is
// reachable; nobody polls the workers.
#pragma once

#include <atomic>

namespace llmgw::gateway {

class Readiness {
public:
    // The number of workers that must report before the gateway is ready.
    void expect(unsigned workers) { expected_.store(workers); }
    // Called once by each worker, from its own thread (and by the store once it has loaded).
    void worker_ready() { ready_.fetch_add(1); }
    bool ready() const { return ready_.load() >= expected_.load(); }

private:
    std::atomic<unsigned> expected_{0};
    std::atomic<unsigned> ready_{0};
};

}  // namespace llmgw::gateway
