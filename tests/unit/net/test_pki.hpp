// A throw-away PKI for TLS tests: a CA and leaf certificates (OpenSSL API, EC P-256), as PEM
// files in a temporary directory that is removed with the object.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace shotfarm::testing {

class test_pki {
public:
    test_pki();  // creates the directory and the CA
    ~test_pki();
    test_pki(const test_pki&) = delete;
    test_pki& operator=(const test_pki&) = delete;

    struct leaf {
        std::filesystem::path cert;  // PEM certificate (signed by the CA)
        std::filesystem::path key;   // PEM private key
    };
    // A server certificate for `dns_names` and `ips` (subjectAltName), valid from
    // now + not_before_s to now + not_after_s (seconds; negative = in the past).
    leaf make_leaf(
        const std::string& file_stem,
        const std::vector<std::string>& dns_names,
        const std::vector<std::string>& ips,
        long not_before_s = -3600,
        long not_after_s = 86400
    );

    const std::filesystem::path& ca_cert() const { return ca_cert_; }
    const std::filesystem::path& dir() const { return dir_; }

    struct impl;

private:
    std::filesystem::path dir_;
    std::filesystem::path ca_cert_;
    std::unique_ptr<impl> impl_;
};

}  // namespace shotfarm::testing
