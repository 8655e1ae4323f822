// Reading the Cluster's replies: the slot map (CLUSTER SHARDS or CLUSTER SLOTS) and the
// MOVED / ASK redirects.
#include <charconv>
#include <map>

#include "cluster.hpp"

namespace llmgw::redis::detail {

namespace {

std::optional<long long> number_of(const Reply& reply) {
    if (reply.is_integer()) return reply.integer;
    if (!reply.is_string()) return std::nullopt;
    long long value = 0;
    const auto* end = reply.str.data() + reply.str.size();
    const auto [at, ec] = std::from_chars(reply.str.data(), end, value);
    if (ec != std::errc() || at != end) return std::nullopt;
    return value;
}

std::optional<std::uint16_t> port_of(const Reply& reply) {
    const auto value = number_of(reply);
    if (!value || *value <= 0 || *value > 65535) return std::nullopt;
    return static_cast<std::uint16_t>(*value);
}

// A field of a RESP2 map (a flat array of names and values); null when absent.
const Reply* field(const Reply& map, std::string_view name) {
    if (!map.is_array()) return nullptr;
    for (std::size_t i = 0; i + 1 < map.elements.size(); i += 2)
        if (map.elements[i].str == name) return &map.elements[i + 1];
    return nullptr;
}

// "?" or "": the node does not know its own address; it is the one we asked.
std::string host_or(const std::string& host, const std::string& asked_host) {
    return host.empty() || host == "?" ? asked_host : host;
}

// Adds a master (once per address) and gives it slots first..last; false when out of range.
class MapBuilder {
public:
    bool add(const std::string& host, std::uint16_t port, long long first, long long last) {
        if (first < 0 || last < first || last >= cluster_slots) return false;
        const auto name = host + ":" + std::to_string(port);
        auto [found, added] = index_.try_emplace(name, map_.masters.size());
        if (added) map_.masters.push_back(Client::Address{host, port, {}, {}});
        for (auto slot = first; slot <= last; ++slot)
            map_.owner[static_cast<std::size_t>(slot)] = static_cast<std::int16_t>(found->second);
        return true;
    }
    SlotMap take() { return std::move(map_); }

private:
    SlotMap map_;
    std::map<std::string, std::size_t> index_;
};

// One shard of CLUSTER SHARDS: its slot ranges and its master's address.
bool add_shard(MapBuilder& builder, const Reply& shard, const std::string& asked_host, bool tls) {
    const Reply* slots = field(shard, "slots");
    const Reply* nodes = field(shard, "nodes");
    if (slots == nullptr || nodes == nullptr || !slots->is_array() || !nodes->is_array())
        return false;
    for (const auto& node : nodes->elements) {
        const Reply* role = field(node, "role");
        if (role == nullptr || role->str != "master") continue;
        const Reply* endpoint = field(node, "endpoint");
        const Reply* ip = field(node, "ip");
        std::string host = host_or(endpoint ? endpoint->str : "", ip ? ip->str : "");
        host = host_or(host, asked_host);
        const Reply* port_field = tls && field(node, "tls-port") ? field(node, "tls-port")
                                                                 : field(node, "port");
        const auto port = port_field ? port_of(*port_field) : std::nullopt;
        if (!port) return false;
        const auto& ranges = slots->elements;
        for (std::size_t i = 0; i + 1 < ranges.size(); i += 2) {
            const auto first = number_of(ranges[i]);
            const auto last = number_of(ranges[i + 1]);
            if (!first || !last || !builder.add(host, *port, *first, *last)) return false;
        }
        return true;
    }
    return true;  // no master (yet): its slots stay unserved
}

}  // namespace

std::optional<SlotMap> parse_shards(const Reply& reply, const std::string& asked_host, bool tls) {
    if (!reply.is_array()) return std::nullopt;
    MapBuilder builder;
    for (const auto& shard : reply.elements)
        if (!add_shard(builder, shard, asked_host, tls)) return std::nullopt;
    return builder.take();
}

// Each entry: first slot, last slot, then the master [host, port, id, ...] and its replicas.
std::optional<SlotMap> parse_slots(const Reply& reply, const std::string& asked_host) {
    if (!reply.is_array()) return std::nullopt;
    MapBuilder builder;
    for (const auto& range : reply.elements) {
        const auto& e = range.elements;
        if (!range.is_array() || e.size() < 3 || !e[2].is_array() || e[2].elements.size() < 2)
            return std::nullopt;
        const auto first = number_of(e[0]);
        const auto last = number_of(e[1]);
        const auto port = port_of(e[2].elements[1]);
        if (!first || !last || !port) return std::nullopt;
        if (!builder.add(host_or(e[2].elements[0].str, asked_host), *port, *first, *last))
            return std::nullopt;
    }
    return builder.take();
}

// "MOVED 3999 127.0.0.1:6381" or "ASK 3999 :6381" (Redis 7 leaves an unknown host empty).
std::optional<Redirect> redirect_of(const Result& result) {
    if (result || result.error().kind != Error::Kind::server_error) return std::nullopt;
    std::string_view text = result.error().message;
    Redirect redirect;
    if (text.rfind("MOVED ", 0) == 0) {
        text.remove_prefix(6);
    } else if (text.rfind("ASK ", 0) == 0) {
        redirect.ask = true;
        text.remove_prefix(4);
    } else {
        return std::nullopt;
    }
    const auto space = text.find(' ');
    const auto colon = text.rfind(':');
    if (space == std::string_view::npos || colon == std::string_view::npos || colon < space)
        return std::nullopt;
    unsigned slot = 0;
    const auto slot_text = text.substr(0, space);
    const auto [end, ec] = std::from_chars(slot_text.data(), slot_text.data() + slot_text.size(), slot);
    if (ec != std::errc() || end != slot_text.data() + slot_text.size() || slot >= cluster_slots)
        return std::nullopt;
    Reply port_text;
    port_text.type = Reply::Type::string;
    port_text.str = std::string(text.substr(colon + 1));
    const auto port = port_of(port_text);
    if (!port) return std::nullopt;
    redirect.slot = static_cast<std::uint16_t>(slot);
    redirect.host = std::string(text.substr(space + 1, colon - space - 1));
    redirect.port = *port;
    return redirect;
}

}  // namespace llmgw::redis::detail
