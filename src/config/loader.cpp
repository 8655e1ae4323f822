// Reads the configuration file and walks the schema's root table over it.
#include "llmgw/config/loader.hpp"

#include <fstream>
#include <sstream>

#include "sections.hpp"
#include "yaml_node.hpp"

namespace llmgw::config {
namespace {

Config parse_document(const YAML::Node& document, const std::string& source) {
    const YamlNode root(document, "", &source, 1);
    if (root.is_null()) root.fail("the configuration is empty");
    Config config;
    schema::read_section(schema::root_section(), root, config, config);
    return config;
}

}  // namespace

Config load_string(const std::string& yaml, const std::string& source_name) {
    YAML::Node document;
    try {
        document = YAML::Load(yaml);
    } catch (const YAML::Exception& e) {
        throw ConfigError(source_name + ":" + std::to_string(e.mark.line + 1) +
                          ": invalid YAML: " + e.msg);
    }
    return parse_document(document, source_name);
}

Config load_file(const std::string& path) {
    std::ifstream file(path);
    if (!file) throw ConfigError(path + ": cannot open the file");
    std::stringstream text;
    text << file.rdbuf();
    return load_string(text.str(), path);
}

}  // namespace llmgw::config
