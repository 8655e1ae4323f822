// Fuzzes the usage scanner on what an upstream sends: a JSON answer or a server-sent event
// stream, cut into pieces at fuzzer-chosen places, with and without dropping the usage-only
// event. The relayed bytes must be the input itself, or the input minus whole events.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "llmgw/usage/usage_scanner.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) return 0;
    const bool event_stream = (data[0] & 1) != 0;
    const bool drop = (data[0] & 2) != 0;
    const std::size_t piece = 1 + data[1];  // the upstream's read sizes
    const std::string_view input(reinterpret_cast<const char*>(data + 2), size - 2);

    llmgw::usage::UsageScanner scanner(event_stream, drop);
    std::string relayed;
    for (std::size_t at = 0; at < input.size(); at += piece)
        relayed.append(scanner.feed(input.substr(at, piece)));
    relayed.append(scanner.finish());

    if (scanner.body_bytes() != input.size()) __builtin_trap();
    if (!(event_stream && drop)) {
        if (relayed != input) __builtin_trap();  // nothing is filtered
    } else {
        if (relayed.size() > input.size()) __builtin_trap();
        if (input.find("\"usage\"") == std::string_view::npos && relayed != input) __builtin_trap();
    }
    if (const auto usage = scanner.usage(); usage && usage->estimated) __builtin_trap();
    return 0;
}
