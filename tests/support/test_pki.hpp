// Certificates made at test time with OpenSSL: a CA, a server certificate it signs (for
// localhost, 127.0.0.1 and fake.test), a client certificate, and pieces that must be refused.
#pragma once

#include <string>

#include "support/temp_dir.hpp"

namespace llmgw::testing {

struct TestPki {
    std::string ca_cert;        // PEM: the CA that signed server_cert
    std::string server_cert;    // PEM: leaf for DNS:localhost, IP:127.0.0.1, DNS:fake.test
    std::string server_key;     // PEM: its key
    std::string other_ca_cert;  // PEM: a CA that signed nothing here (the wrong trust anchor)
    std::string unrelated_key;  // PEM: a key that matches no certificate
    std::string client_cert;    // PEM: a client certificate (clientAuth) the CA signed, for mTLS
    std::string client_key;     // PEM: its key
};

// Writes the files into `dir` (P-256 keys, SHA-256 signatures, valid from an hour ago for a day).
TestPki make_test_pki(TempDir& dir);

}  // namespace llmgw::testing
