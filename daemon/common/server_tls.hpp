#pragma once
/// The TLS context of the daemon's own HTTPS listener (SPEC §3 server.tls). Loaded by the
/// configuration loader to report bad files with positions, and again by the daemon at start
/// and on every reload, so rotated certificates take effect without a restart.
#include <memory>
#include <string>

#include <boost/asio/ssl/context.hpp>

namespace invariantd {

/// TLS 1.2+ server context from PEM files: the certificate chain, its private key (checked to
/// match), and, when `client_ca_file` is not empty, a required client certificate signed by
/// that CA. Throws std::runtime_error naming the file and what is wrong (never key material).
std::shared_ptr<boost::asio::ssl::context> make_server_tls_context(const std::string& cert_file,
                                                                   const std::string& key_file,
                                                                   const std::string& client_ca_file);

}  // namespace invariantd
