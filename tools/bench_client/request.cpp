// The request both modes send: built once, written as it is on every connection.
#include <string>

#include "bench_client.hpp"

namespace bench_client {

std::string make_request(const Options& options) {
    std::string host = options.target.address().to_string();
    if (options.target.address().is_v6()) host = "[" + host + "]";
    std::string request = "POST " + options.path + " HTTP/1.1\r\nHost: " + host + ":" +
                          std::to_string(options.target.port()) +
                          "\r\nContent-Type: application/json\r\nContent-Length: " +
                          std::to_string(options.body.size()) + "\r\n" + options.headers + "\r\n";
    return request + options.body;
}

}  // namespace bench_client
