// What the endpoint choice needs to know about a request when the backend balances on the
// engine or keeps affinity; read from the request once, before the forward.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "llmgw/config/config.hpp"

namespace llmgw::upstream {

struct RoutingHints {
    std::uint64_t model = 0;                    // hash_text of the body's "model" (a LoRA adapter?)
    std::int64_t estimated_tokens = 0;          // prompt estimate + max_tokens
    std::optional<std::uint64_t> affinity_key;  // affinity by header or consumer
    std::vector<std::uint64_t> prefix_blocks;   // affinity by prefix: chained block hashes
};

// A 64-bit FNV-1a hash, never 0 (0 means "none" to the readers). `seed` chains blocks.
std::uint64_t hash_text(std::string_view text, std::uint64_t seed = 0);

// The prompt as the engine reads it, at most `limit` bytes: the chat messages in order
// (role and text of each) or the completion prompt. Empty when the body has neither.
std::string prompt_text(const nlohmann::json& body, std::size_t limit);

// Hashes of the successive full `block_bytes` blocks of `text`, each chained on the one
// before, so block k's hash names the whole prefix up to it (as an engine's prefix cache).
std::vector<std::uint64_t> prefix_blocks(std::string_view text, std::size_t block_bytes);

// The hints for a request to `backend`. `body` is the parsed JSON body (null when not JSON),
// `header` the affinity header's value, `consumer` the consumer's name.
RoutingHints routing_hints(const config::Backend& backend, const nlohmann::json* body,
                           std::size_t body_bytes, std::string_view header,
                           std::string_view consumer);

// Whether a request to `backend` needs hints at all (a plain backend reads none).
inline bool needs_hints(const config::Backend& backend) {
    return backend.balancer == config::BalancerKind::engine_aware || backend.affinity.has_value();
}

}  // namespace llmgw::upstream
