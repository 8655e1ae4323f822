// New API keys: random from OpenSSL's CSPRNG, with a prefix secret scanners recognise.
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <stdexcept>

#include "llmgw/store/catalog.hpp"

namespace llmgw::store {

namespace {

std::string random_hex(std::size_t bytes) {
    std::string raw(bytes, '\0');
    if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes)) != 1)
        throw StoreError("the random generator failed");
    static constexpr char digits[] = "0123456789abcdef";
    std::string hex;
    for (const unsigned char c : raw) {
        hex += digits[c >> 4];
        hex += digits[c & 0xf];
    }
    return hex;
}

}  // namespace

NewKey generate_key(std::string label, UnixSeconds now, std::optional<UnixSeconds> expires_at) {
    NewKey made;
    made.key = "llmgw_" + random_hex(24);  // 192 bits
    auto& stored = made.stored;
    stored.id = "key_" + random_hex(8);
    // 6 of the 48 hex digits: enough to tell keys apart in a list, far too few to guess.
    stored.prefix = made.key.substr(0, 12);
    stored.label = std::move(label);
    stored.sha256.resize(SHA256_DIGEST_LENGTH);
    SHA256(reinterpret_cast<const unsigned char*>(made.key.data()), made.key.size(),
           reinterpret_cast<unsigned char*>(stored.sha256.data()));
    stored.created_at = now;
    stored.expires_at = expires_at;
    return made;
}

}  // namespace llmgw::store
