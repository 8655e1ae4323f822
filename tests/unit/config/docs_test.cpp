// docs/configuration.md documents every field the schema accepts: the docs cannot drift.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "llmgw/config/schema.hpp"

namespace {

std::string read_docs() {
    std::ifstream file(std::string(LLMGW_SOURCE_DIR) + "/docs/configuration.md");
    std::stringstream text;
    text << file.rdbuf();
    return text.str();
}

// The docs' section for a top-level key: from "## key" to the next "## " heading.
std::string section_of(const std::string& docs, const std::string& key) {
    const auto start = docs.find("\n## " + key + "\n");
    if (start == std::string::npos) return "";
    const auto end = docs.find("\n## ", start + 1);
    return docs.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

// "backends.<name>.endpoints[].url" → {"backends", "endpoints[].url"}, as the tables name it.
std::pair<std::string, std::string> split(const std::string& path) {
    auto end = path.find_first_of(".[");
    const auto key = path.substr(0, end);
    auto rest = path.substr(end);
    for (const std::string prefix : {".<name>.", "[].", "."})
        if (rest.rfind(prefix, 0) == 0) return {key, rest.substr(prefix.size())};
    return {key, rest};
}

// True when a table row of `section` names `field` in backticks.
bool row_names(const std::string& section, const std::string& field) {
    std::istringstream lines(section);
    std::string line;
    while (std::getline(lines, line))
        if (line.rfind("|", 0) == 0 && line.find("`" + field + "`") != std::string::npos)
            return true;
    return false;
}

}  // namespace

TEST(ConfigDocs, EveryFieldOfTheSchemaHasARowInConfigurationMd) {
    const auto docs = read_docs();
    ASSERT_FALSE(docs.empty()) << "cannot read docs/configuration.md";
    const auto paths = llmgw::config::field_paths();
    EXPECT_GT(paths.size(), 80u) << "is the schema walk broken?";
    for (const auto& path : paths) {
        const auto [key, field] = split(path);
        const auto section = section_of(docs, key);
        EXPECT_FALSE(section.empty()) << "docs/configuration.md has no \"## " << key << "\"";
        EXPECT_TRUE(row_names(section, field))
            << path << ": no table row names `" << field << "` under \"## " << key << "\"";
    }
}
