// llmgw: command line, configuration check, logging setup, and the server's run.
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <cstring>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "llmgw/store/store.hpp"
#include "llmgw/auth/authenticator.hpp"
#include "llmgw/config/loader.hpp"
#include "llmgw/observability/app_log.hpp"
#include "llmgw/observability/health_probe.hpp"
#include "llmgw/server/malloc_tuning.hpp"
#include "llmgw/server/server.hpp"

namespace {

constexpr const char* usage = R"(usage: llmgw --config FILE [--check]
       llmgw keygen
       llmgw healthcheck [URL]
       llmgw --version

  --config FILE   the YAML configuration (see docs/configuration.md)
  --check         validate the configuration and exit: 0 when valid, 1 otherwise
  --version       print the version
  keygen          print a new random API key and the sha256 line for the config
  healthcheck     GET URL (default http://127.0.0.1:9090/healthz, the admin listener):
                  exit 0 on 200, 1 otherwise, within 3 s (for a container HEALTHCHECK)
)";

int healthcheck(const char* url) {
    const auto result = llmgw::observability::probe_health(url, std::chrono::seconds(3));
    (result.healthy ? std::cout : std::cerr) << url << ": " << result.detail << "\n";
    return result.healthy ? 0 : 1;
}

// A new API key: 32 random bytes from OpenSSL's CSPRNG, hex-encoded behind a prefix
// that makes leaked keys easy to find with secret scanners.
int keygen() {
    unsigned char random[32];
    if (RAND_bytes(random, sizeof random) != 1) {
        std::cerr << "llmgw: the random generator failed\n";
        return 1;
    }
    static constexpr char hex[] = "0123456789abcdef";
    std::string key = "sk-llmgw-";
    for (unsigned char byte : random) {
        key.push_back(hex[byte >> 4]);
        key.push_back(hex[byte & 0xf]);
    }
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(key.data()), key.size(), digest);
    std::string digest_hex;
    for (unsigned char byte : digest) {
        digest_hex.push_back(hex[byte >> 4]);
        digest_hex.push_back(hex[byte & 0xf]);
    }
    std::cout << "key:    " << key << "\n"
              << "config: - sha256: \"" << digest_hex << "\"\n"
              << "Give the key to the consumer; put only the sha256 line in the config.\n";
    return 0;
}

// Each client connection holds a descriptor, two while it is proxied. The usual soft limit
// (1024) would refuse connections long before server.max_connections, so it is raised to the
// hard limit, as nginx (worker_rlimit_nofile) and systemd services (LimitNOFILE) do.
void raise_open_file_limit(unsigned max_connections) {
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
    if (limit.rlim_cur < limit.rlim_max) {
        rlimit raised = limit;
        raised.rlim_cur = limit.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
    }
    // Below this even idle clients alone would run out of descriptors at accept.
    const rlim_t wanted = static_cast<rlim_t>(max_connections) + 64;
    if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < wanted)
        spdlog::warn(
            "the open-file limit ({}) is below server.max_connections ({}): accepts will fail "
            "before that many connections are open",
            static_cast<unsigned long long>(limit.rlim_cur), max_connections);
}

// Settings that are valid but probably not what the operator meant.
void warn_about_risky_settings(const llmgw::config::Config& config) {
    if (config.consumers.empty() && config.jwt.empty() && !config.store) {
        spdlog::warn(
            "authentication is off (no consumers, no jwt): every request is the anonymous "
            "consumer");
        for (const auto& route : config.routes)
            if (route.tiers)
                spdlog::warn(
                    "route {} lists tiers but authentication is off: it refuses every request",
                    route.name);
    }
    for (const auto& backend : config.backends)
        if (!backend.tls.verify)
            spdlog::warn(
                "backend {}: tls.verify is false: its https endpoints' certificates are not "
                "checked, so anyone on the path can read and change its traffic",
                backend.name);
    if (config.admin.token.empty())
        spdlog::warn(
            "admin.token is not set: /admin/* endpoints are open to anyone who reaches the "
            "admin listener");
}

struct Arguments {
    std::string config_path;
    bool check_only = false;
    std::optional<int> exit_now;  // answered already (--version, keygen, an error)
};

Arguments read_arguments(int argc, char** argv) {
    Arguments args;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "keygen" && argc == 2) {
            args.exit_now = keygen();
        } else if (arg == "healthcheck" && i == 1 && argc <= 3) {
            args.exit_now = healthcheck(argc == 3 ? argv[2] : "http://127.0.0.1:9090/healthz");
        } else if (arg == "--version") {
            std::cout << "llmgw " << LLMGW_VERSION << "\n";
            args.exit_now = 0;
        } else if (arg == "--help" || arg == "-h") {
            std::cout << usage;
            args.exit_now = 0;
        } else if (arg == "--check") {
            args.check_only = true;
            continue;
        } else if (arg == "--config" && i + 1 < argc) {
            args.config_path = argv[++i];
            continue;
        } else {
            std::cerr << "llmgw: unknown argument \"" << arg << "\"\n" << usage;
            args.exit_now = 2;
        }
        return args;
    }
    if (args.config_path.empty()) {
        std::cerr << "llmgw: --config FILE is required\n" << usage;
        args.exit_now = 2;
    }
    return args;
}

// The config, or null after saying why it is invalid (to a person for --check, else the log).
std::shared_ptr<const llmgw::config::Config> load_config(const Arguments& args) {
    try {
        auto config = std::make_shared<const llmgw::config::Config>(
            llmgw::config::load_file(args.config_path));
        llmgw::auth::Authenticator validate_keys(*config);  // JWKS files are part of the config
        // The store's URL is checked without writing anything (a file is only read).
        if (config->store && args.check_only) {
            const auto problem = llmgw::store::check_store(*config->store);
            if (!problem.empty()) throw llmgw::config::ConfigError("store.url: " + problem);
        }
        return config;
    } catch (const llmgw::config::ConfigError& e) {
        if (args.check_only)
            std::cerr << "llmgw: invalid configuration: " << e.what() << "\n";
        else
            spdlog::error("invalid configuration: {}", e.what());
        return nullptr;
    }
}

}  // namespace

int main(int argc, char** argv) {
    const auto args = read_arguments(argc, argv);
    if (args.exit_now) return *args.exit_now;
    if (!args.check_only) llmgw::server::apply_malloc_tuning(argv);  // may run main again
    // Operational messages are JSON lines on stderr; stdout carries the access log.
    llmgw::observability::install_app_log();
    const auto config = load_config(args);
    if (!config) return 1;
    if (args.check_only) {
        std::cout << "llmgw: configuration " << args.config_path << " is valid\n";
        return 0;
    }
    llmgw::observability::set_app_log_level(config->logging.level);
    raise_open_file_limit(config->server.max_connections);
    try {
        llmgw::server::Server server(config, args.config_path);
        server.start();
        warn_about_risky_settings(*config);
        server.run();
    } catch (const std::exception& e) {
        spdlog::error("{}", e.what());
        return 1;
    }
    return 0;
}
