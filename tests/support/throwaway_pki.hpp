// A throwaway PKI for the TLS tests, made once per test process with the `openssl` CLI
// (EC P-256 keys, valid 2 days): CA A signs the leaves a1 and a2, CA B signs b1, and
// caAB.pem trusts both CAs. Files are <dir>/<name>.pem (certificate) and <name>.key.
// Removed when the process ends.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>

#include "support/temp_dir.hpp"

namespace actorlm::test {

struct throwaway_pki {
    std::filesystem::path dir;
    bool ok = false;
    std::string error;  // why it could not be made (tests skip with it)

    std::string cert(const std::string& name) const { return (dir / (name + ".pem")).string(); }
    std::string key(const std::string& name) const { return (dir / (name + ".key")).string(); }
};

inline const throwaway_pki& make_throwaway_pki() {
    static const throwaway_pki made = [] {
        auto run = [](const std::string& cmd) {
            return std::system((cmd + " >/dev/null 2>&1").c_str()) == 0;
        };
        throwaway_pki p;
        p.dir = fresh_temp_dir("tls-pki");
        std::filesystem::create_directories(p.dir);
        if (!run("openssl version")) {
            p.error = "the `openssl` CLI is missing (tools/setup installs it)";
            return p;
        }
        const std::string d = p.dir.string() + "/";
        const std::string key = " -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
        auto ca = [&](const std::string& n) {
            return run("openssl req -x509" + key + " -keyout " + d + n + ".key -out " + d + n +
                       ".pem -days 2 -subj /CN=" + n);
        };
        auto leaf = [&](const std::string& n, const std::string& signer) {
            return run("openssl req" + key + " -keyout " + d + n + ".key -out " + d + n +
                       ".csr -subj /CN=" + n) &&
                   run("openssl x509 -req -in " + d + n + ".csr -CA " + d + signer +
                       ".pem -CAkey " + d + signer + ".key -CAcreateserial -days 2 -out " + d +
                       n + ".pem");
        };
        p.ok = ca("caA") && ca("caB") && leaf("a1", "caA") && leaf("a2", "caA") &&
               leaf("b1", "caB");
        // A bundle trusting both CAs: a peer using it would accept either side, so a
        // refusal proves the other side's check.
        std::ofstream both(d + "caAB.pem");
        both << std::ifstream(d + "caA.pem").rdbuf() << std::ifstream(d + "caB.pem").rdbuf();
        if (!p.ok) p.error = "making the test certificates with `openssl` failed";
        return p;
    }();
    static const struct cleanup {
        ~cleanup() {
            std::error_code ec;
            std::filesystem::remove_all(made.dir, ec);
        }
    } remove_at_exit;
    return made;
}

}  // namespace actorlm::test
