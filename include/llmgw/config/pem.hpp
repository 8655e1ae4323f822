// TLS files as the config holds them: read and parsed once at load, so a bad certificate fails
// at start (and in --check) naming its key, and the TLS contexts are built from exactly what was
// checked. OpenSSL types stay opaque here; tls/ builds contexts from them.
#pragma once

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

struct x509_st;
struct evp_pkey_st;

namespace llmgw::config {

using Certificate = std::shared_ptr<x509_st>;
using PrivateKey = std::shared_ptr<evp_pkey_st>;

// A file that cannot be used; what() names the file and the problem (the loader adds the key).
class PemError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// A certificate chain: the first certificate, then its intermediates. Throws PemError.
std::vector<Certificate> read_certificate_chain(const std::string& path);
// Every certificate of a CA bundle (at least one). Throws PemError.
std::vector<Certificate> read_ca_certificates(const std::string& path);
// An unencrypted PEM private key. Throws PemError.
PrivateKey read_private_key(const std::string& path);
bool key_matches(const Certificate& certificate, const PrivateKey& key);

// The most recent reason on this thread's OpenSSL error queue (then cleared).
std::string take_openssl_error(const char* fallback);

}  // namespace llmgw::config
