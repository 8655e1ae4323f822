// What the modes share: the request, built once and written as it is on every connection, and
// the percentiles of the latencies they report.
#include <algorithm>
#include <string>

#include "bench_client.hpp"

namespace bench_client {

std::string make_request(const Options& options) { return make_request(options, options.target); }

std::string make_request(const Options& options, const boost::asio::ip::tcp::endpoint& target) {
    std::string host = target.address().to_string();
    if (target.address().is_v6()) host = "[" + host + "]";
    std::string request = "POST " + options.path + " HTTP/1.1\r\nHost: " + host + ":" +
                          std::to_string(target.port()) +
                          "\r\nContent-Type: application/json\r\nContent-Length: " +
                          std::to_string(options.body.size()) + "\r\n" + options.headers + "\r\n";
    return request + options.body;
}

std::uint32_t percentile(std::vector<std::uint32_t>& values, double q) {
    if (values.empty()) return 0;
    const auto index = static_cast<std::size_t>(q * static_cast<double>(values.size() - 1));
    std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(index), values.end());
    return values[index];
}

}  // namespace bench_client
