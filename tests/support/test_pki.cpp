// Building a small X.509 hierarchy in process with OpenSSL 3: no openssl CLI, no fixtures.
#include "support/test_pki.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <memory>
#include <stdexcept>

namespace llmgw::testing {
namespace {

struct KeyFree {
    void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct CertFree {
    void operator()(X509* cert) const { X509_free(cert); }
};
using Key = std::unique_ptr<EVP_PKEY, KeyFree>;
using Cert = std::unique_ptr<X509, CertFree>;

void check(bool ok, const char* what) {
    if (!ok) throw std::runtime_error(std::string("test PKI: ") + what + " failed");
}

Key new_key() {
    Key key(EVP_EC_gen("P-256"));
    check(key != nullptr, "EC key generation");
    return key;
}

void add_extension(X509* cert, X509* issuer, int nid, const char* value) {
    X509V3_CTX context;
    X509V3_set_ctx_nodb(&context);
    X509V3_set_ctx(&context, issuer, cert, nullptr, nullptr, 0);
    X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &context, nid, value);
    check(extension != nullptr, value);
    X509_add_ext(cert, extension, -1);
    X509_EXTENSION_free(extension);
}

// `issuer`/`issuer_key` null: self-signed.
Cert new_cert(EVP_PKEY* key, const char* common_name, long serial, X509* issuer,
              EVP_PKEY* issuer_key, bool ca, const char* extended_usage = "serverAuth") {
    Cert cert(X509_new());
    check(cert != nullptr, "X509_new");
    X509_set_version(cert.get(), 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial);
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), 24 * 3600);
    X509_set_pubkey(cert.get(), key);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(cert.get()), "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(common_name), -1, -1, 0);
    X509* signer = issuer != nullptr ? issuer : cert.get();
    X509_set_issuer_name(cert.get(), X509_get_subject_name(signer));
    add_extension(cert.get(), signer, NID_subject_key_identifier, "hash");
    if (ca) {
        add_extension(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE");
        add_extension(cert.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign");
    } else {
        add_extension(cert.get(), signer, NID_basic_constraints, "CA:FALSE");
        add_extension(cert.get(), signer, NID_key_usage, "critical,digitalSignature");
        add_extension(cert.get(), signer, NID_ext_key_usage, extended_usage);
        add_extension(cert.get(), signer, NID_subject_alt_name,
                      "DNS:localhost,IP:127.0.0.1,DNS:fake.test");
        add_extension(cert.get(), signer, NID_authority_key_identifier, "keyid");
    }
    check(X509_sign(cert.get(), issuer_key != nullptr ? issuer_key : key, EVP_sha256()) > 0,
          "X509_sign");
    return cert;
}

std::string write_pem(TempDir& dir, const std::string& name, X509* cert, EVP_PKEY* key) {
    const auto path = dir.file(name);
    std::FILE* file = std::fopen(path.c_str(), "w");
    check(file != nullptr, "fopen");
    const bool ok = cert != nullptr ? PEM_write_X509(file, cert) == 1
                                    : PEM_write_PrivateKey(file, key, nullptr, nullptr, 0, nullptr,
                                                           nullptr) == 1;
    std::fclose(file);
    check(ok, "PEM write");
    return path;
}

}  // namespace

TestPki make_test_pki(TempDir& dir) {
    const auto ca_key = new_key();
    const auto ca = new_cert(ca_key.get(), "llmgw test CA", 1, nullptr, nullptr, true);
    const auto server_key = new_key();
    const auto server = new_cert(server_key.get(), "localhost", 2, ca.get(), ca_key.get(), false);
    const auto other_key = new_key();
    const auto other_ca = new_cert(other_key.get(), "llmgw other CA", 3, nullptr, nullptr, true);
    const auto unrelated = new_key();
    const auto client_key = new_key();
    const auto client =
        new_cert(client_key.get(), "llmgw client", 4, ca.get(), ca_key.get(), false, "clientAuth");
    TestPki pki;
    pki.ca_cert = write_pem(dir, "ca.crt", ca.get(), nullptr);
    pki.server_cert = write_pem(dir, "server.crt", server.get(), nullptr);
    pki.server_key = write_pem(dir, "server.key", nullptr, server_key.get());
    pki.other_ca_cert = write_pem(dir, "other-ca.crt", other_ca.get(), nullptr);
    pki.unrelated_key = write_pem(dir, "unrelated.key", nullptr, unrelated.get());
    pki.client_cert = write_pem(dir, "client.crt", client.get(), nullptr);
    pki.client_key = write_pem(dir, "client.key", nullptr, client_key.get());
    return pki;
}

}  // namespace llmgw::testing
