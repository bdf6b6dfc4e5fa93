// The cryptography webhook verification needs, on OpenSSL 3, without I/O: base64url (RFC 4648
// §5), Ed25519 signature checks (Atlas Cloud) and HMAC-SHA256 compared in constant time
// (WaveSpeed). Kept apart from the providers' rules (webhook.hpp) so each is read alone.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace shotfarm::providers {

/// base64url without padding.
std::string base64url_encode(std::string_view bytes);

/// Decodes base64url (`-` and `_`; `=` padding tolerated at the end only). nullopt for any
/// other character, a length no encoding has, or non-zero bits left over at the end.
std::optional<std::string> base64url_decode(std::string_view text);

/// Decodes hex (either case); nullopt for an odd length or a non-hex character.
std::optional<std::string> hex_decode(std::string_view text);

/// An Ed25519 public key: the 32 raw bytes (a JWK's decoded `x`).
using ed25519_public_key = std::array<unsigned char, 32>;

/// Whether `signature` (64 raw bytes) is `key`'s Ed25519 signature of `message` (EVP_PKEY_ED25519,
/// EVP_DigestVerify with no digest: Ed25519 hashes the message itself). False for a signature of
/// another length, or a key OpenSSL refuses.
bool ed25519_verify(
    const ed25519_public_key& key, std::string_view message, std::string_view signature
);

/// HMAC-SHA256 of `message` under `key`: 32 raw bytes.
std::string hmac_sha256(std::string_view key, std::string_view message);

/// Whether a and b are equal, in time that depends on their length only (CRYPTO_memcmp).
bool equal_constant_time(std::string_view a, std::string_view b) noexcept;

}  // namespace shotfarm::providers
