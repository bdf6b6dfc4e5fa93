#include "tests/unit/net/test_pki.hpp"

#include <cstdlib>
#include <stdexcept>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace shotfarm::testing {
namespace {

struct pkey_free {
    void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct x509_free {
    void operator()(X509* p) const { X509_free(p); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_free>;
using x509_ptr = std::unique_ptr<X509, x509_free>;

void check(bool ok, const char* what) {
    if (!ok) {
        throw std::runtime_error(std::string("test_pki: ") + what + " failed");
    }
}

pkey_ptr make_key() {
    pkey_ptr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
    check(key != nullptr, "EC key generation");
    return key;
}

void add_ext(X509* cert, X509* issuer, int nid, const std::string& value) {
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    check(ext != nullptr, "extension");
    check(X509_add_ext(cert, ext, -1) == 1, "X509_add_ext");
    X509_EXTENSION_free(ext);
}

x509_ptr make_cert(
    EVP_PKEY* subject_key,
    const std::string& cn,
    X509* issuer,  // nullptr: self-signed
    long serial,
    long not_before_s,
    long not_after_s
) {
    x509_ptr cert(X509_new());
    check(cert != nullptr, "X509_new");
    X509* x = cert.get();
    check(X509_set_version(x, 2) == 1, "version");
    check(ASN1_INTEGER_set(X509_get_serialNumber(x), serial) == 1, "serial");
    check(X509_gmtime_adj(X509_getm_notBefore(x), not_before_s) != nullptr, "notBefore");
    check(X509_gmtime_adj(X509_getm_notAfter(x), not_after_s) != nullptr, "notAfter");
    check(X509_set_pubkey(x, subject_key) == 1, "pubkey");
    X509_NAME* name = X509_get_subject_name(x);
    check(
        X509_NAME_add_entry_by_txt(
            name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0
        ) == 1,
        "CN"
    );
    check(X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name) == 1, "issuer");
    return cert;
}

void write_pem(const std::filesystem::path& path, X509* cert, EVP_PKEY* key) {
    BIO* bio = BIO_new_file(path.c_str(), "w");
    check(bio != nullptr, "BIO_new_file");
    const bool ok =
        cert ? PEM_write_bio_X509(bio, cert) == 1
             : PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr) == 1;
    BIO_free(bio);
    check(ok, "PEM write");
}

}  // namespace

struct test_pki::impl {
    pkey_ptr ca_key;
    x509_ptr ca;
    long next_serial = 2;
};

test_pki::test_pki() : impl_(std::make_unique<impl>()) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "shotfarm-pki-XXXXXX").string();
    check(mkdtemp(tmpl.data()) != nullptr, "mkdtemp");
    dir_ = tmpl;
    impl_->ca_key = make_key();
    impl_->ca = make_cert(impl_->ca_key.get(), "shotfarm test CA", nullptr, 1, -3600, 86400);
    X509* ca = impl_->ca.get();
    add_ext(ca, ca, NID_basic_constraints, "critical,CA:TRUE");
    add_ext(ca, ca, NID_key_usage, "critical,keyCertSign,cRLSign");
    add_ext(ca, ca, NID_subject_key_identifier, "hash");
    check(X509_sign(ca, impl_->ca_key.get(), EVP_sha256()) > 0, "CA sign");
    ca_cert_ = dir_ / "ca.pem";
    write_pem(ca_cert_, ca, nullptr);
}

test_pki::~test_pki() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
}

test_pki::leaf test_pki::make_leaf(
    const std::string& file_stem,
    const std::vector<std::string>& dns_names,
    const std::vector<std::string>& ips,
    long not_before_s,
    long not_after_s
) {
    auto key = make_key();
    const std::string cn = dns_names.empty() ? std::string("ip-only") : dns_names.front();
    auto cert =
        make_cert(key.get(), cn, impl_->ca.get(), impl_->next_serial++, not_before_s, not_after_s);
    std::string san;
    for (const auto& d : dns_names) {
        san += (san.empty() ? "" : ",") + std::string("DNS:") + d;
    }
    for (const auto& ip : ips) {
        san += (san.empty() ? "" : ",") + std::string("IP:") + ip;
    }
    X509* x = cert.get();
    add_ext(x, impl_->ca.get(), NID_basic_constraints, "critical,CA:FALSE");
    add_ext(x, impl_->ca.get(), NID_key_usage, "critical,digitalSignature");
    add_ext(x, impl_->ca.get(), NID_ext_key_usage, "serverAuth");
    add_ext(x, impl_->ca.get(), NID_subject_alt_name, san);
    add_ext(x, impl_->ca.get(), NID_authority_key_identifier, "keyid:always");
    check(X509_sign(x, impl_->ca_key.get(), EVP_sha256()) > 0, "leaf sign");
    leaf out{dir_ / (file_stem + ".pem"), dir_ / (file_stem + ".key")};
    write_pem(out.cert, x, nullptr);
    write_pem(out.key, nullptr, key.get());
    return out;
}

}  // namespace shotfarm::testing
