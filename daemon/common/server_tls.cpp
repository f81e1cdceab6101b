#include "daemon/common/server_tls.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>

namespace invariantd {

namespace {

/// The oldest OpenSSL error as text ("no such file", "key values mismatch"), then clears the queue.
std::string openssl_reason() {
    const unsigned long code = ERR_get_error();
    ERR_clear_error();
    if (code == 0) return "unknown OpenSSL error";
    const char* reason = ERR_reason_error_string(code);
    return reason != nullptr ? reason : fmt::format("OpenSSL error {}", code);
}

}  // namespace

std::shared_ptr<boost::asio::ssl::context> make_server_tls_context(const std::string& cert_file,
                                                                   const std::string& key_file,
                                                                   const std::string& client_ca_file) {
    // OpenSSL 3 reports a missing file as an unnamed "system library" error: say it plainly.
    for (const std::string* file : {&cert_file, &key_file, &client_ca_file}) {
        if (file->empty()) continue;
        std::ifstream readable(*file);
        if (!readable) throw std::runtime_error(fmt::format("cannot read '{}': {}", *file, std::strerror(errno)));
    }
    auto context = std::make_shared<boost::asio::ssl::context>(boost::asio::ssl::context::tls_server);
    SSL_CTX* native = context->native_handle();
    SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
    SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    ERR_clear_error();
    if (SSL_CTX_use_certificate_chain_file(native, cert_file.c_str()) != 1)
        throw std::runtime_error(fmt::format("cannot use certificate '{}': {}", cert_file, openssl_reason()));
    if (SSL_CTX_use_PrivateKey_file(native, key_file.c_str(), SSL_FILETYPE_PEM) != 1)
        throw std::runtime_error(fmt::format("cannot use private key '{}': {}", key_file, openssl_reason()));
    if (SSL_CTX_check_private_key(native) != 1)
        throw std::runtime_error(
            fmt::format("private key '{}' does not match certificate '{}': {}", key_file, cert_file, openssl_reason()));
    if (!client_ca_file.empty()) {
        if (SSL_CTX_load_verify_locations(native, client_ca_file.c_str(), nullptr) != 1)
            throw std::runtime_error(
                fmt::format("cannot use client CA file '{}': {}", client_ca_file, openssl_reason()));
        STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(client_ca_file.c_str());
        if (names != nullptr) SSL_CTX_set_client_CA_list(native, names);  // the CAs named to clients
        SSL_CTX_set_verify(native, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
    }
    ERR_clear_error();
    return context;
}

}  // namespace invariantd
