// The docs name everything an operator meets: every error code the gateway answers with.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "llmgw/http/gateway_error.hpp"

namespace {

std::string all_docs() {
    std::string text;
    for (const auto& entry : std::filesystem::directory_iterator(LLMGW_SOURCE_DIR "/docs")) {
        if (entry.path().extension() != ".md") continue;
        std::ifstream in(entry.path());
        std::ostringstream content;
        content << in.rdbuf();
        text += content.str();
    }
    return text;
}

}  // namespace

TEST(Docs, EveryErrorCodeTheGatewayAnswersWithIsDocumented) {
    const auto docs = all_docs();
    ASSERT_FALSE(docs.empty());
    for (const auto& kind : llmgw::http::all_error_kinds())
        EXPECT_NE(docs.find("`" + std::string(kind.name) + "`"), std::string::npos)
            << "docs/ never names the error code `" << kind.name << "`";
}
