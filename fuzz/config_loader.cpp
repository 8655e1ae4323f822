// Fuzzes the configuration loader: any YAML text gives a Config or a ConfigError (which names
// the place), never another exception, a crash or undefined behaviour.
#include <cstddef>
#include <cstdint>
#include <string>

#include "llmgw/config/loader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string yaml(reinterpret_cast<const char*>(data), size);
    try {
        (void)llmgw::config::load_string(yaml, "fuzz.yaml");
    } catch (const llmgw::config::ConfigError& e) {
        // Every message starts with the source name: "fuzz.yaml:LINE: ...".
        if (std::string_view(e.what()).rfind("fuzz.yaml", 0) != 0) __builtin_trap();
    }
    return 0;
}
