// Names of Error kinds, for logs and test messages.
#include "llmgw/redis/reply.hpp"

namespace llmgw::redis {

std::string_view to_string(Error::Kind kind) {
    switch (kind) {
        case Error::Kind::timeout:
            return "timeout";
        case Error::Kind::disconnected:
            return "disconnected";
        case Error::Kind::not_connected:
            return "not_connected";
        case Error::Kind::server_error:
            return "server_error";
        case Error::Kind::protocol:
            return "protocol";
    }
    return "unknown";
}

}  // namespace llmgw::redis
