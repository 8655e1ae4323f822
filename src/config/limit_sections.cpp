// The top-level `limits` and `prices` sections: how token limits reserve at admission, and what
// tokens cost for the money budgets.
#include "sections.hpp"

namespace llmgw::config::schema {

const Section<LimitsConfig>& limits_section() {
    using S = LimitsConfig;
    static const Section<S> section{
        {integer("completion_tokens_estimate", &S::completion_tokens_estimate, 0, 10'000'000)}};
    return section;
}

namespace {

// A price per million tokens; 10^6 keeps a token's price in nano-units far below 2^53.
constexpr double max_price = 1e6;

const Section<Price>& price_section() {
    using S = Price;
    static const Section<S> section{{number("prompt", &S::prompt, 0, max_price).required(),
                                     number("completion", &S::completion, 0, max_price).required()}};
    return section;
}

std::map<std::string, Price> read_prices(const YamlNode& node) {
    std::map<std::string, Price> prices;
    node.for_each_entry([&](const std::string& model, const YamlNode& body) {
        read_section(price_section(), body, prices[model], Config{});
    });
    return prices;
}

}  // namespace

// prices.<model>.prompt / .completion
Field<Config> prices_field() {
    auto field = member("prices", &Config::prices, read_prices,
                        [](const std::map<std::string, Price>& prices) {
                            json out = json::object();
                            for (const auto& [model, price] : prices)
                                out[model] = {{"prompt", price.prompt},
                                              {"completion", price.completion}};
                            return out;
                        });
    field.nested_paths = [](const std::string& path, std::vector<std::string>& out) {
        field_paths(price_section(), path + ".<model>", out);
    };
    return field;
}

}  // namespace llmgw::config::schema
