// vLLM's (and Triton's) endpoints beyond completions, as the fake model server answers them:
// embeddings, responses, Anthropic messages, transcriptions, rerank, score, tokenize and
// Triton's generate. Pure functions of the request: no sockets, no Beast.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fake_model {

// A request to one of these endpoints, as connection.cpp read it.
struct EndpointRequest {
    std::string_view method;
    std::string_view path;
    std::string_view content_type;
    std::string_view body;
    int words = 0;                   // how many output tokens to produce (x-fake-chunks)
    std::string_view default_model;  // --model
};

// The answer: a JSON body (status 200 or an error), or the events of a stream, each a
// complete "event: ...\ndata: ...\n\n" block, sent one per chunk.
struct EndpointAnswer {
    unsigned status = 200;
    std::string body;
    bool stream = false;
    std::vector<std::string> events;
    std::uint64_t prompt_tokens = 0;  // what the usage says, for the server's own counters
    std::uint64_t output_tokens = 0;
};

// Nothing when `path` is not one of these endpoints.
std::optional<EndpointAnswer> endpoint_answer(const EndpointRequest& request);

}  // namespace fake_model
