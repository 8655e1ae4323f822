// A client request read whole out of the read buffer without Beast's parser, when it is simple.
//
// Beast's request parser cost about 3,400 instructions per request on the plain path (issue
// 17): its tokenizer, the framing checks it runs on every field, and a second pass to find the
// head's end. Most requests an LLM gateway sees are simple: a request line, a few fields, a
// Content-Length body, all in one segment. Those are read here in one pass, into the same
// beast::http::request the rest of llmgw uses; anything else is left to Beast.
//
// Simple means: the head and the whole body are in the buffer; the head is within the
// header limit and the body within the body limit; HTTP/1.0 or 1.1; the request target is
// visible ASCII; at most max_fields fields; no Transfer-Encoding, at most one Content-Length,
// a plain decimal; no obsolete line folding; and a Connection field, when present, a list of
// tokens. Whatever is accepted here Beast accepts too, and reads the same (method, target,
// version, the fields in order, the body, the bytes used): the fuzz target simple_request
// holds the two to that. What is declined is parsed by Beast, from the same bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "llmgw/http/beast.hpp"

namespace llmgw::http {

// Views into the buffer the request was found in: valid while it is.
struct SimpleRequest {
    static constexpr std::size_t max_fields = 32;

    std::string_view method;
    std::string_view target;
    unsigned version = 11;
    // A field line's name and value (trivial, so the array of them is not zeroed for each
    // request: only the first field_count are set).
    struct Field {
        const char* name;
        const char* value;
        std::uint32_t name_size;
        std::uint32_t value_size;
    };
    Field fields[max_fields];
    std::size_t field_count = 0;
    std::optional<std::uint64_t> content_length;
    std::string_view body;
    std::size_t size = 0;  // the head and the body: the bytes to take from the buffer

    // Fills `request` (a new one): what Beast's parser puts in it.
    void fill(Request& request) const;
};

// Finds the simple request at the start of `in`; false when there is none (not simple, or not
// whole yet). `out` is a new SimpleRequest (an out-parameter: it is a kilobyte of views).
bool find_simple_request(std::string_view in, std::size_t header_limit, std::uint64_t body_limit,
                         SimpleRequest& out);

}  // namespace llmgw::http
