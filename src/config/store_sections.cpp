// The tables of the store (consumers, keys and usage in a database) and of self-service.
#include "sections.hpp"

namespace llmgw::config::schema {

namespace {

// "postgres://user:secret@host/db" → "postgres://user:***@host/db": the URL may be logged.
std::string without_password(const std::string& url) {
    const auto scheme_end = url.find("://");
    if (scheme_end == std::string::npos) return url;
    const auto authority = scheme_end + 3;
    const auto at = url.find('@', authority);
    const auto slash = url.find('/', authority);
    if (at == std::string::npos || (slash != std::string::npos && slash < at)) return url;
    const auto colon = url.find(':', authority);
    if (colon == std::string::npos || colon > at) return url;
    return url.substr(0, colon + 1) + "***" + url.substr(at);
}

// sqlite:///absolute/path or sqlite://relative/path; postgres:// or postgresql:// as libpq
// takes it. The message never quotes a postgres URL (it may hold a password).
Field<StoreConfig> store_url() {
    Field<StoreConfig> field;
    field.name = "url";
    field.read = [](const YamlNode& node, StoreConfig& store, const Config&) {
        const auto url = node.as_string();
        if (url.rfind("sqlite://", 0) == 0) {
            store.engine = StoreConfig::Engine::sqlite;
            store.path = url.substr(9);
            if (store.path.empty()) node.fail("sqlite:// needs a file path (sqlite:///var/lib/llmgw/llmgw.db)");
            store.url_shown = url;
        } else if (url.rfind("postgres://", 0) == 0 || url.rfind("postgresql://", 0) == 0) {
            store.engine = StoreConfig::Engine::postgres;
            store.url = url;
            store.url_shown = without_password(url);
            if (url.find('/', url.find("://") + 3) == std::string::npos &&
                url.find('@') == std::string::npos && url.size() <= url.find("://") + 3)
                node.fail("the postgres URL needs a host");
        } else {
            node.fail("expected sqlite:///path/to/file.db or postgres://user:password@host:5432/db");
        }
    };
    field.show = [](const StoreConfig& store, const Config&) { return json(store.url_shown); };
    field.same = [](const StoreConfig& a, const StoreConfig& b) {
        return a.engine == b.engine && a.path == b.path && a.url == b.url;
    };
    return std::move(field).required();
}

}  // namespace

const Section<StoreConfig>& store_section() {
    using S = StoreConfig;
    static const Section<S> section{
        {store_url(), duration("flush_interval", &S::flush_interval, at_least(std::chrono::milliseconds(100))),
         duration("sync_interval", &S::sync_interval, at_least(std::chrono::seconds(1)))}};
    return section;
}

const Section<SelfServiceConfig>& self_service_section() {
    using S = SelfServiceConfig;
    static const Section<S> section{
        {flag("enabled", &S::enabled),
         integer("max_keys_per_consumer", &S::max_keys_per_consumer, 1, 1000)}};
    return section;
}

}  // namespace llmgw::config::schema
