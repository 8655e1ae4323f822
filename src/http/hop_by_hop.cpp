// Comma-separated header lists (Connection and the like), shared by the request and response path.
#include "llmgw/http/hop_by_hop.hpp"


namespace llmgw::http {

std::vector<std::string> list_tokens(std::string_view value) {
    std::vector<std::string> tokens;
    std::size_t pos = 0;
    while (pos <= value.size()) {
        auto comma = value.find(',', pos);
        if (comma == std::string_view::npos) comma = value.size();
        auto token = value.substr(pos, comma - pos);
        while (!token.empty() && (token.front() == ' ' || token.front() == '\t'))
            token.remove_prefix(1);
        while (!token.empty() && (token.back() == ' ' || token.back() == '\t'))
            token.remove_suffix(1);
        if (!token.empty()) tokens.push_back(to_lower(token));
        pos = comma + 1;
    }
    return tokens;
}

}  // namespace llmgw::http
