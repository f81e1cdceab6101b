#pragma once
/// A throwaway certificate authority made with the real openssl tool: a CA and, for each
/// requested DNS name, a certificate and key signed by it (PEM files in a temp directory).
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

namespace invariantd::test {

struct test_pki {
    temp_dir dir;

    explicit test_pki(const std::vector<std::string>& names) {
        openssl({"req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", at("ca.key"), "-out",
                 at("ca.pem"), "-days", "2", "-subj", "/CN=invariantd test CA"});
        for (const auto& name : names) {
            dir.write(name + ".ext", "subjectAltName=DNS:" + name + "\n");
            openssl({"req", "-newkey", "rsa:2048", "-nodes", "-keyout", at(name + ".key"), "-out",
                     at(name + ".csr"), "-subj", "/CN=" + name});
            openssl({"x509", "-req", "-in", at(name + ".csr"), "-CA", at("ca.pem"), "-CAkey", at("ca.key"),
                     "-CAcreateserial", "-out", at(name + ".pem"), "-days", "2", "-extfile",
                     at(name + ".ext")});
        }
    }
    std::string at(const std::string& file) const { return (dir.path() / file).string(); }
    std::string ca() const { return at("ca.pem"); }
    std::string cert(const std::string& name) const { return at(name + ".pem"); }
    std::string key(const std::string& name) const { return at(name + ".key"); }

private:
    static void openssl(const std::vector<std::string>& args) {
        std::vector<std::string> argv{"openssl"};
        argv.insert(argv.end(), args.begin(), args.end());
        const auto result = run_command(argv);
        INFO(result.err);
        REQUIRE(result.exit_code == 0);
    }
};

}  // namespace invariantd::test
