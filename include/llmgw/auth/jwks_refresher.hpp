// Keeps the keys of issuers configured with jwks_url fresh: fetched at start, refreshed on an
// interval, refetched early (at most once per cooldown) when a token names an unknown kid.
// Runs on its own thread so a slow identity provider never touches the request path.
#pragma once

#include <chrono>
#include <memory>
#include <vector>

namespace llmgw::auth {

class JwtVerifier;

class JwksRefresher {
public:
    static constexpr auto unknown_kid_cooldown = std::chrono::seconds(30);
    static constexpr auto fetch_timeout = std::chrono::seconds(5);

    explicit JwksRefresher(std::vector<std::shared_ptr<JwtVerifier>> verifiers);
    ~JwksRefresher();
    JwksRefresher(const JwksRefresher&) = delete;
    JwksRefresher& operator=(const JwksRefresher&) = delete;

    // Starts the thread and waits (up to fetch_timeout) for the first fetch of every issuer;
    // an issuer whose first fetch failed keeps retrying in the background.
    void start();
    // Asks for an early refetch of this issuer's keys (thread-safe; rate-limited).
    void unknown_kid_seen(const JwtVerifier& verifier);

private:
    struct State;
    std::unique_ptr<State> state_;
};

}  // namespace llmgw::auth
