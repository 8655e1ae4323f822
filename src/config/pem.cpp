// Reading PEM certificates and keys with OpenSSL; messages name the file, never its contents.
#include "llmgw/config/pem.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace llmgw::config {

namespace {

// The file's bytes; a missing or unreadable file is named before OpenSSL's terser reasons.
std::string read_file(const std::string& path) {
    std::ifstream file(path, std::ios::binary);
    if (!file) throw PemError("cannot read \"" + path + "\": " + std::strerror(errno));
    std::stringstream text;
    text << file.rdbuf();
    return text.str();
}

using Bio = std::unique_ptr<BIO, decltype(&BIO_free)>;

Bio memory_bio(const std::string& text) {
    return Bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())), &BIO_free);
}

Certificate own(X509* certificate) {
    return Certificate(certificate, &X509_free);
}

// Every certificate in the text; the first read with its trust settings when `leaf` (as
// SSL_CTX_use_certificate_chain_file reads a chain). Empty, with OpenSSL's reason queued, when
// the text holds none.
std::vector<Certificate> read_all(const std::string& text, bool leaf) {
    auto bio = memory_bio(text);
    std::vector<Certificate> certificates;
    ERR_clear_error();
    X509* first = leaf ? PEM_read_bio_X509_AUX(bio.get(), nullptr, nullptr, nullptr)
                       : PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
    if (first == nullptr) return certificates;
    certificates.push_back(own(first));
    while (X509* next = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr))
        certificates.push_back(own(next));
    ERR_clear_error();  // the end of the text reads as "no start line"
    return certificates;
}

// Encrypted keys are refused instead of prompting on the terminal.
int no_passphrase(char*, int, int, void*) {
    return 0;
}

}  // namespace

std::string take_openssl_error(const char* fallback) {
    unsigned long code = 0;
    unsigned long last = 0;
    while ((code = ERR_get_error()) != 0) last = code;
    const char* reason = last != 0 ? ERR_reason_error_string(last) : nullptr;
    return reason != nullptr ? reason : fallback;
}

std::vector<Certificate> read_certificate_chain(const std::string& path) {
    auto chain = read_all(read_file(path), true);
    if (chain.empty())
        throw PemError("\"" + path + "\" is not a usable PEM certificate (" +
                       take_openssl_error("unknown error") + ")");
    return chain;
}

std::vector<Certificate> read_ca_certificates(const std::string& path) {
    auto certificates = read_all(read_file(path), false);
    if (certificates.empty())
        throw PemError("\"" + path + "\" holds no usable PEM certificate (" +
                       take_openssl_error("unknown error") + ")");
    return certificates;
}

PrivateKey read_private_key(const std::string& path) {
    const auto text = read_file(path);
    ERR_clear_error();
    auto bio = memory_bio(text);
    EVP_PKEY* key = PEM_read_bio_PrivateKey(bio.get(), nullptr, &no_passphrase, nullptr);
    if (key == nullptr)
        throw PemError("\"" + path + "\" is not a usable PEM private key (" +
                       take_openssl_error("unknown error") + ")");
    return PrivateKey(key, &EVP_PKEY_free);
}

bool key_matches(const Certificate& certificate, const PrivateKey& key) {
    const bool match = X509_check_private_key(certificate.get(), key.get()) == 1;
    ERR_clear_error();
    return match;
}

}  // namespace llmgw::config
