// Where llmgw-bench-client (tools/bench_client) is: built beside the fake model server.
#pragma once

#include <filesystem>
#include <string>

namespace llmgw::testing {

inline std::string bench_client_binary() {
    return (std::filesystem::path(FAKE_MODEL_BINARY).parent_path().parent_path() / "bench_client" /
            "llmgw-bench-client")
        .string();
}

}  // namespace llmgw::testing
