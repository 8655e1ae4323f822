// Reading protobuf's wire format: each field a key (number and wire type) then a varint, a
// fixed64, a fixed32 or a length and that many bytes. Unknown fields are skipped, as a
// collector does; proto3's defaults are filled in where the JSON shape has them.
#include "support/otlp_decode.hpp"

#include <bit>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>

namespace llmgw::testing {

namespace {

class Reader {
public:
    explicit Reader(std::string_view bytes) : at_(bytes.data()), end_(bytes.data() + bytes.size()) {}

    bool done() const { return at_ == end_; }

    std::uint64_t varint() {
        std::uint64_t value = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (at_ == end_) throw std::runtime_error("protobuf: truncated varint");
            const auto byte = static_cast<unsigned char>(*at_++);
            value |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
            if ((byte & 0x80) == 0) return value;
        }
        throw std::runtime_error("protobuf: varint longer than ten bytes");
    }
    std::uint64_t fixed(std::size_t size) {
        const auto bytes = take(size);
        std::uint64_t value = 0;
        for (std::size_t i = 0; i < size; ++i)
            value |= static_cast<std::uint64_t>(static_cast<unsigned char>(bytes[i])) << (8 * i);
        return value;
    }
    std::string_view delimited() { return take(varint()); }

    // The next field's number and wire type.
    std::pair<std::uint64_t, unsigned> key() {
        const auto k = varint();
        return {k >> 3, static_cast<unsigned>(k & 7)};
    }
    void skip(unsigned wire) {
        switch (wire) {
            case 0: varint(); return;
            case 1: take(8); return;
            case 2: delimited(); return;
            case 5: take(4); return;
            default: throw std::runtime_error("protobuf: wire type " + std::to_string(wire));
        }
    }

private:
    std::string_view take(std::uint64_t size) {
        if (size > static_cast<std::uint64_t>(end_ - at_))
            throw std::runtime_error("protobuf: a field runs past the end of its message");
        std::string_view bytes(at_, size);
        at_ += size;
        return bytes;
    }

    const char* at_;
    const char* end_;
};

void expect(unsigned wire, unsigned wanted, std::uint64_t field) {
    if (wire != wanted)
        throw std::runtime_error("protobuf: field " + std::to_string(field) + " has wire type " +
                                 std::to_string(wire));
}

std::string hex(std::string_view bytes) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (const char c : bytes) {
        const auto b = static_cast<unsigned char>(c);
        out += digits[b >> 4];
        out += digits[b & 0xf];
    }
    return out;
}

// Calls `field(number, wire, reader)` for each field of `message`.
template <typename Field>
void each_field(std::string_view message, Field&& field) {
    Reader reader(message);
    while (!reader.done()) {
        const auto [number, wire] = reader.key();
        if (!field(number, wire, reader)) reader.skip(wire);
    }
}

nlohmann::json key_value(std::string_view message);

// AnyValue: string 1, bool 2, int 3, double 4, array 5 (values 1), kvlist 6 (values 1).
nlohmann::json any_value(std::string_view message) {
    nlohmann::json value = nlohmann::json::object();
    each_field(message, [&](std::uint64_t number, unsigned wire, Reader& r) {
        const auto list = [&](const char* name, auto&& element) {
            expect(wire, 2, number);
            nlohmann::json values = nlohmann::json::array();
            each_field(r.delimited(), [&](std::uint64_t n, unsigned w, Reader& inner) {
                if (n != 1) return false;
                expect(w, 2, n);
                values.push_back(element(inner.delimited()));
                return true;
            });
            value[name] = {{"values", values}};
        };
        switch (number) {
            case 1: expect(wire, 2, number); value["stringValue"] = std::string(r.delimited()); return true;
            case 2: expect(wire, 0, number); value["boolValue"] = r.varint() != 0; return true;
            case 3:
                expect(wire, 0, number);
                value["intValue"] = std::to_string(static_cast<std::int64_t>(r.varint()));
                return true;
            case 4:
                expect(wire, 1, number);
                value["doubleValue"] = std::bit_cast<double>(r.fixed(8));
                return true;
            case 5: list("arrayValue", any_value); return true;
            case 6: list("kvlistValue", key_value); return true;
            case 7: expect(wire, 2, number); value["bytesValue"] = hex(r.delimited()); return true;
            default: return false;
        }
    });
    return value;
}

nlohmann::json key_value(std::string_view message) {
    nlohmann::json pair = {{"key", ""}, {"value", nlohmann::json::object()}};
    each_field(message, [&](std::uint64_t number, unsigned wire, Reader& r) {
        if (number == 1) pair["key"] = std::string((expect(wire, 2, number), r.delimited()));
        else if (number == 2) pair["value"] = any_value((expect(wire, 2, number), r.delimited()));
        else return false;
        return true;
    });
    return pair;
}

nlohmann::json status(std::string_view message) {
    nlohmann::json out = {{"code", 0}};
    each_field(message, [&](std::uint64_t number, unsigned wire, Reader& r) {
        if (number == 2) out["message"] = std::string((expect(wire, 2, number), r.delimited()));
        else if (number == 3) out["code"] = static_cast<int>((expect(wire, 0, number), r.varint()));
        else return false;
        return true;
    });
    return out;
}

// Span.Event: time 1, name 2, attributes 3.
nlohmann::json event(std::string_view message) {
    nlohmann::json out = {{"timeUnixNano", "0"}, {"name", ""}, {"attributes", nlohmann::json::array()}};
    each_field(message, [&](std::uint64_t number, unsigned wire, Reader& r) {
        if (number == 1) out["timeUnixNano"] = std::to_string((expect(wire, 1, number), r.fixed(8)));
        else if (number == 2) out["name"] = std::string((expect(wire, 2, number), r.delimited()));
        else if (number == 3) out["attributes"].push_back(key_value((expect(wire, 2, number), r.delimited())));
        else return false;
        return true;
    });
    return out;
}

nlohmann::json span(std::string_view message) {
    nlohmann::json out = {{"traceId", ""}, {"spanId", ""}, {"name", ""}, {"kind", 0},
                          {"startTimeUnixNano", "0"}, {"endTimeUnixNano", "0"},
                          {"attributes", nlohmann::json::array()}, {"status", {{"code", 0}}}};
    each_field(message, [&](std::uint64_t number, unsigned wire, Reader& r) {
        const auto bytes = [&] { return (expect(wire, 2, number), r.delimited()); };
        const auto time = [&] { return std::to_string((expect(wire, 1, number), r.fixed(8))); };
        switch (number) {
            case 1: out["traceId"] = hex(bytes()); return true;
            case 2: out["spanId"] = hex(bytes()); return true;
            case 3: out["traceState"] = std::string(bytes()); return true;
            case 4: out["parentSpanId"] = hex(bytes()); return true;
            case 5: out["name"] = std::string(bytes()); return true;
            case 6: out["kind"] = static_cast<int>((expect(wire, 0, number), r.varint())); return true;
            case 7: out["startTimeUnixNano"] = time(); return true;
            case 8: out["endTimeUnixNano"] = time(); return true;
            case 9: out["attributes"].push_back(key_value(bytes())); return true;
            case 11: out["events"].push_back(event(bytes())); return true;
            case 15: out["status"] = status(bytes()); return true;
            case 16: out["flags"] = (expect(wire, 5, number), r.fixed(4)); return true;
            default: return false;
        }
    });
    return out;
}

nlohmann::json scope_spans(std::string_view message) {
    nlohmann::json out = {{"scope", nlohmann::json::object()}, {"spans", nlohmann::json::array()}};
    each_field(message, [&](std::uint64_t number, unsigned wire, Reader& r) {
        if (number == 1) {
            each_field((expect(wire, 2, number), r.delimited()),
                       [&](std::uint64_t n, unsigned w, Reader& inner) {
                           if (n != 1 && n != 2) return false;
                           out["scope"][n == 1 ? "name" : "version"] =
                               std::string((expect(w, 2, n), inner.delimited()));
                           return true;
                       });
        } else if (number == 2) {
            out["spans"].push_back(span((expect(wire, 2, number), r.delimited())));
        } else {
            return false;
        }
        return true;
    });
    return out;
}

nlohmann::json resource_spans(std::string_view message) {
    nlohmann::json out = {{"resource", {{"attributes", nlohmann::json::array()}}},
                          {"scopeSpans", nlohmann::json::array()}};
    each_field(message, [&](std::uint64_t number, unsigned wire, Reader& r) {
        if (number == 1) {
            each_field((expect(wire, 2, number), r.delimited()),
                       [&](std::uint64_t n, unsigned w, Reader& inner) {
                           if (n != 1) return false;
                           out["resource"]["attributes"].push_back(
                               key_value((expect(w, 2, n), inner.delimited())));
                           return true;
                       });
        } else if (number == 2) {
            out["scopeSpans"].push_back(scope_spans((expect(wire, 2, number), r.delimited())));
        } else {
            return false;
        }
        return true;
    });
    return out;
}

}  // namespace

nlohmann::json decode_otlp_traces(std::string_view bytes) {
    nlohmann::json out = {{"resourceSpans", nlohmann::json::array()}};
    each_field(bytes, [&](std::uint64_t number, unsigned wire, Reader& r) {
        if (number != 1) return false;
        out["resourceSpans"].push_back(resource_spans((expect(wire, 2, number), r.delimited())));
        return true;
    });
    return out;
}

}  // namespace llmgw::testing
