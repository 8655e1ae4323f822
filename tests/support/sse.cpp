// Server-sent events in a recorded response: data payloads and when each event arrived.
#include <algorithm>
#include <string_view>

#include "support/http_client.hpp"

namespace llmgw::testing {
namespace {

// Calls f(line, end) for each terminated line; `end` is the offset just past its line end
// (CRLF, LF or CR). An unterminated last line is not a line yet.
template <class F>
void for_each_line(std::string_view text, F&& f) {
    std::size_t pos = 0;
    while (pos < text.size()) {
        const std::size_t eol = text.find_first_of("\r\n", pos);
        if (eol == std::string_view::npos) return;
        std::size_t next = eol + 1;
        if (text[eol] == '\r' && next < text.size() && text[next] == '\n') ++next;
        f(text.substr(pos, eol - pos), next);
        pos = next;
    }
}

bool is_data_field(std::string_view line) {
    return line == "data" || line.substr(0, 5) == "data:";
}

}  // namespace

std::vector<std::string> sse_data_lines(const std::string& body) {
    std::vector<std::string> payloads;
    for_each_line(body, [&](std::string_view line, std::size_t) {
        if (!is_data_field(line)) return;
        std::string_view value = line.substr(std::min<std::size_t>(5, line.size()));
        if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
        payloads.emplace_back(value);
    });
    return payloads;
}

std::vector<std::chrono::steady_clock::duration> sse_event_arrivals(const StreamedResponse& r) {
    // Where each event ends in the body: just past the blank line that dispatches it.
    const std::string body = r.body();
    std::vector<std::size_t> event_ends;
    bool has_data = false;
    for_each_line(body, [&](std::string_view line, std::size_t end) {
        if (line.empty()) {
            if (has_data) event_ends.push_back(end);
            has_data = false;
        } else if (is_data_field(line)) {
            has_data = true;
        }
    });

    // The read that delivered an event's last byte is when the event arrived.
    std::vector<std::chrono::steady_clock::duration> arrivals;
    std::size_t chunk = 0;
    std::size_t received = r.chunks.empty() ? 0 : r.chunks[0].data.size();
    for (std::size_t end : event_ends) {
        while (received < end) received += r.chunks[++chunk].data.size();
        arrivals.push_back(r.chunks[chunk].arrived_after);
    }
    return arrivals;
}

std::optional<std::chrono::steady_clock::duration> sse_event_arrival(const StreamedResponse& r,
                                                                     std::size_t k) {
    auto arrivals = sse_event_arrivals(r);
    if (k >= arrivals.size()) return std::nullopt;
    return arrivals[k];
}

}  // namespace llmgw::testing
