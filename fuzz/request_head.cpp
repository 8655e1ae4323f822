// Fuzzes what a client controls first: bytes on the socket, through Beast's request parser
// with llmgw's limits and chunk-extension bound, then llmgw's head validation, the
// absolute-form rewrite and the trailer check, as the session does.
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "llmgw/http/beast.hpp"
#include "llmgw/http/request_validation.hpp"

namespace bhttp = boost::beast::http;

namespace {
void bound_chunk_extensions(std::uint64_t, boost::beast::string_view extensions,
                            boost::system::error_code& ec) {
    if (extensions.size() > llmgw::http::kMaxChunkExtensionBytes)
        ec = bhttp::error::bad_chunk_extension;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(16 * 1024);
    parser.body_limit(1024 * 1024);
    auto check = &bound_chunk_extensions;
    parser.on_chunk_header(check);
    parser.eager(false);  // stop after the head, as async_read_header does

    std::string_view input(reinterpret_cast<const char*>(data), size);
    boost::system::error_code ec;
    auto feed = [&] {
        while (!input.empty() && !parser.is_done()) {
            const auto used = parser.put(boost::asio::buffer(input.data(), input.size()), ec);
            input.remove_prefix(used);
            if (ec) return;
            if (used == 0) return;
            if (parser.is_header_done() && !parser.is_done() && !parser.eager()) return;
        }
    };
    feed();
    if (ec || !parser.is_header_done()) return 0;
    if (llmgw::http::validate_request_head(parser.get().base())) return 0;
    const auto fields_in_head = llmgw::http::field_count(parser.get().base());
    const auto origin = llmgw::http::origin_form(std::string_view(parser.get().target()));
    if (!origin.empty() && origin.front() != '/') __builtin_trap();  // routes match paths
    parser.eager(true);
    feed();
    if (ec || !parser.is_done()) return 0;
    (void)(llmgw::http::field_count(parser.get().base()) != fields_in_head);
    return 0;
}
