// What the container image, docker/compose.yaml and docker/k8s rely on: the shipped configs
// pass `llmgw --check` with the variables the deployment provides, the manifests agree with
// the config (ports, drain time, paths, names), the image installs every library the binary
// links, and `llmgw healthcheck` tells a healthy admin listener from anything else.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "harness.hpp"
#include "llmgw/config/units.hpp"
#include "support/ports.hpp"

using namespace std::chrono_literals;
using namespace llmgw::testing;
using testing::HasSubstr;

namespace {

const std::string docker_dir = std::string(LLMGW_SOURCE_DIR) + "/docker";

std::string read_text(const std::string& path) {
    std::ifstream in(path);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// The k8s objects of every manifest in docker/k8s, by kind and name.
std::map<std::string, YAML::Node> k8s_objects() {
    std::map<std::string, YAML::Node> objects;
    for (const auto& entry : std::filesystem::directory_iterator(docker_dir + "/k8s")) {
        if (entry.path().filename() == "kustomization.yaml") continue;
        for (const auto& doc : YAML::LoadAllFromFile(entry.path().string()))
            objects[doc["kind"].as<std::string>() + "/" +
                    doc["metadata"]["name"].as<std::string>()] = doc;
    }
    return objects;
}

int listen_port(const YAML::Node& config, const char* section) {
    const auto listen = config[section]["listen"].as<std::string>();
    return std::stoi(listen.substr(listen.rfind(':') + 1));
}

long long seconds_of(const std::string& duration) {
    return std::chrono::duration_cast<std::chrono::seconds>(
               llmgw::config::parse_duration(duration).value())
        .count();
}

}  // namespace

TEST(Deployment, ComposeConfigPassesCheckWithTheVariablesComposeSets) {
    std::string out, err;
    EXPECT_EQ(
        run_to_exit(LLMGW_BINARY, {"--config", docker_dir + "/llmgw.yaml", "--check"}, 5s, &out,
                    &err, {{"LLMGW_ADMIN_TOKEN", "t"}, {"LLMGW_DEMO_KEY", "sk-llmgw-demo"}}),
        0)
        << err;
    const auto compose = YAML::LoadFile(docker_dir + "/compose.yaml");
    const auto environment = compose["services"]["llmgw"]["environment"];
    EXPECT_TRUE(environment["LLMGW_ADMIN_TOKEN"]);
    EXPECT_TRUE(environment["LLMGW_DEMO_KEY"]);
}

TEST(Deployment, ComposeFilesItMountsAndBuildTargetsExist) {
    const auto compose = YAML::LoadFile(docker_dir + "/compose.yaml");
    const auto dockerfile = read_text(docker_dir + "/Dockerfile");
    int mounts = 0;
    for (const auto& service : compose["services"]) {
        const auto& spec = service.second;
        if (spec["build"]) {
            EXPECT_TRUE(std::filesystem::exists(docker_dir + "/" +
                                                spec["build"]["context"].as<std::string>() + "/" +
                                                spec["build"]["dockerfile"].as<std::string>()));
            EXPECT_THAT(dockerfile,
                        HasSubstr(" AS " + spec["build"]["target"].as<std::string>() + "\n"));
        }
        for (const auto& volume : spec["volumes"]) {
            const auto source =
                volume.as<std::string>().substr(0, volume.as<std::string>().find(':'));
            if (source.rfind("./", 0) != 0) continue;
            EXPECT_TRUE(std::filesystem::exists(docker_dir + "/" + source)) << source;
            ++mounts;
        }
    }
    // llmgw.yaml, prometheus.yml, prometheus/, otel-collector.yaml, grafana's provisioning/
    // and dashboards/.
    EXPECT_EQ(mounts, 6);
    // Docker must not SIGKILL a drain: the grace period outlasts server.drain_timeout.
    const auto config = YAML::LoadFile(docker_dir + "/llmgw.yaml");
    EXPECT_GT(seconds_of(compose["services"]["llmgw"]["stop_grace_period"].as<std::string>()),
              seconds_of(config["server"]["drain_timeout"].as<std::string>()));
    // Prometheus scrapes the admin listener of the llmgw service.
    const auto prometheus = YAML::LoadFile(docker_dir + "/prometheus.yml");
    EXPECT_EQ(prometheus["scrape_configs"][0]["static_configs"][0]["targets"][0].as<std::string>(),
              "llmgw:" + std::to_string(listen_port(config, "admin")));
}

TEST(Deployment, ConfigMapConfigPassesCheckWithTheSecretsValues) {
    auto objects = k8s_objects();
    const auto config_map = objects["ConfigMap/llmgw-config"];
    const auto secret = objects["Secret/llmgw-secrets"];
    ASSERT_TRUE(config_map && secret);
    TempDir dir;
    const auto path = dir.write("llmgw.yaml", config_map["data"]["llmgw.yaml"].as<std::string>());
    std::map<std::string, std::string> env;
    for (const auto& entry : secret["stringData"])
        env[entry.first.as<std::string>()] = entry.second.as<std::string>();
    std::string out, err;
    EXPECT_EQ(run_to_exit(LLMGW_BINARY, {"--config", path, "--check"}, 5s, &out, &err, env), 0)
        << err;
}

TEST(Deployment, KubernetesDeploymentAgreesWithItsConfig) {
    auto objects = k8s_objects();
    const auto deployment = objects["Deployment/llmgw"];
    ASSERT_TRUE(deployment);
    const auto config =
        YAML::Load(objects["ConfigMap/llmgw-config"]["data"]["llmgw.yaml"].as<std::string>());
    const auto pod = deployment["spec"]["template"]["spec"];
    const auto container = pod["containers"][0];

    std::map<std::string, int> ports;
    for (const auto& port : container["ports"])
        ports[port["name"].as<std::string>()] = port["containerPort"].as<int>();
    EXPECT_EQ(ports["http"], listen_port(config, "server"));
    EXPECT_EQ(ports["admin"], listen_port(config, "admin"));
    EXPECT_EQ(container["readinessProbe"]["httpGet"]["path"].as<std::string>(), "/readyz");
    EXPECT_EQ(container["readinessProbe"]["httpGet"]["port"].as<std::string>(), "admin");
    EXPECT_EQ(container["livenessProbe"]["httpGet"]["path"].as<std::string>(), "/healthz");
    EXPECT_EQ(container["livenessProbe"]["httpGet"]["port"].as<std::string>(), "admin");

    // preStop, then the drain, must both fit in the grace period (with a margin).
    const auto pre_stop = container["lifecycle"]["preStop"]["exec"]["command"];
    ASSERT_EQ(pre_stop[0].as<std::string>(), "sleep");
    const auto drain = seconds_of(config["server"]["drain_timeout"].as<std::string>());
    EXPECT_GE(pod["terminationGracePeriodSeconds"].as<long long>(),
              pre_stop[1].as<long long>() + drain + 5);

    EXPECT_TRUE(pod["securityContext"]["runAsNonRoot"].as<bool>());
    EXPECT_TRUE(container["securityContext"]["readOnlyRootFilesystem"].as<bool>());
    EXPECT_FALSE(container["securityContext"]["allowPrivilegeEscalation"].as<bool>());
    // One worker per CPU of the limit (workers: 0 would count the node's cores).
    EXPECT_EQ(config["server"]["workers"].as<int>(),
              std::stoi(container["resources"]["limits"]["cpu"].as<std::string>()));

    // The config is mounted where the arguments say, from the ConfigMap and Secret that exist.
    EXPECT_EQ(container["args"][1].as<std::string>(),
              container["volumeMounts"][0]["mountPath"].as<std::string>() + "/llmgw.yaml");
    EXPECT_TRUE(
        objects.count("ConfigMap/" + pod["volumes"][0]["configMap"]["name"].as<std::string>()));
    EXPECT_TRUE(
        objects.count("Secret/" + container["envFrom"][0]["secretRef"]["name"].as<std::string>()));
    // The Services, the autoscaler and the disruption budget select or target this Deployment.
    EXPECT_EQ(objects["HorizontalPodAutoscaler/llmgw"]["spec"]["scaleTargetRef"]["name"]
                  .as<std::string>(),
              "llmgw");
    const auto labels = deployment["spec"]["template"]["metadata"]["labels"];
    for (const auto* name : {"Service/llmgw", "Service/llmgw-admin"})
        for (const auto& selector : objects[name]["spec"]["selector"])
            EXPECT_EQ(labels[selector.first.as<std::string>()].as<std::string>(),
                      selector.second.as<std::string>())
                << name;
    // Every manifest is listed in the kustomization.
    const auto kustomization = YAML::LoadFile(docker_dir + "/k8s/kustomization.yaml");
    std::set<std::string> listed;
    for (const auto& resource : kustomization["resources"])
        listed.insert(resource.as<std::string>());
    for (const auto& entry : std::filesystem::directory_iterator(docker_dir + "/k8s"))
        if (entry.path().filename() != "kustomization.yaml") {
            EXPECT_TRUE(listed.count(entry.path().filename().string())) << entry.path();
        }
}

// The Debian packages of the shared libraries `binary` links, that debian:bookworm-slim lacks,
// are all installed by the Dockerfile's stage `stage`.
static void expect_stage_installs_libraries_of(const std::string& binary,
                                               const std::string& stage) {
    std::string ldd;
    ASSERT_EQ(run_to_exit("ldd", {binary}, 10s, &ldd), 0);
    const auto dockerfile = read_text(docker_dir + "/Dockerfile");
    const auto stage_start = dockerfile.find(" AS " + stage + "\n");
    ASSERT_NE(stage_start, std::string::npos) << stage;
    const auto runtime =
        dockerfile.substr(stage_start, dockerfile.find("\nFROM ", stage_start) - stage_start);
    // In debian:bookworm-slim already; sanitizer runtimes only exist in test builds.
    const std::set<std::string> in_base = {"libc6", "libgcc-s1", "libstdc++6", "libasan8",
                                           "libubsan1"};
    std::istringstream lines(ldd);
    int libraries = 0;
    for (std::string line; std::getline(lines, line);) {
        std::smatch match;
        if (!std::regex_search(line, match, std::regex(R"(=> (/\S+))"))) continue;
        // dpkg knows a file by the path its package installed it at: with merged /usr that
        // may be the /lib path ldd shows, the real file behind it, or either without /usr.
        const auto file = match[1].str();
        const auto real = std::filesystem::canonical(file).string();
        std::string owner;
        bool found = false;
        for (const auto& candidate :
             {file, real, real.rfind("/usr/", 0) == 0 ? real.substr(4) : "/usr" + real})
            if (run_to_exit("dpkg-query", {"--search", candidate}, 10s, &owner) == 0) {
                found = true;
                break;
            }
        ASSERT_TRUE(found) << "no Debian package owns " << file;
        const auto package = owner.substr(0, owner.find_first_of(":"));
        ++libraries;
        if (in_base.count(package)) continue;
        EXPECT_TRUE(std::regex_search(runtime, std::regex("\\s" + package + "\\s")))
            << binary << " links " << file << " from " << package
            << ", which docker/Dockerfile's stage " << stage << " does not install";
    }
    EXPECT_GE(libraries, 4);
}

TEST(Deployment, TheImagesInstallEveryLibraryTheBinariesLink) {
    expect_stage_installs_libraries_of(LLMGW_BINARY, "llmgw");
    expect_stage_installs_libraries_of(FAKE_MODEL_BINARY, "fake-model");
}

TEST(Deployment, HealthcheckCommandPassesOnlyOnA200) {
    auto model = FakeModel::start("m1");
    auto gateway = RunningGateway::start("backends: { b: { endpoints: [ { url: \"" + model.url() +
                                         "\" } ] } }\nroutes: [ { name: all, backend: b } ]\n");
    const auto admin = "http://127.0.0.1:" + std::to_string(gateway.admin_port());
    std::string out, err;
    EXPECT_EQ(run_to_exit(LLMGW_BINARY, {"healthcheck", admin + "/healthz"}, 10s, &out, &err), 0)
        << err;
    EXPECT_THAT(out, HasSubstr("200"));
    EXPECT_EQ(run_to_exit(LLMGW_BINARY, {"healthcheck", admin + "/nowhere"}, 10s, &out, &err), 1);
    EXPECT_THAT(err, HasSubstr("404"));
    EXPECT_EQ(
        run_to_exit(LLMGW_BINARY,
                    {"healthcheck", "http://127.0.0.1:" + std::to_string(free_port()) + "/healthz"},
                    10s, &out, &err),
        1);
    EXPECT_THAT(err, HasSubstr("cannot connect"));
    EXPECT_EQ(run_to_exit(LLMGW_BINARY, {"healthcheck", "ftp://example"}, 10s, &out, &err), 1);
}
