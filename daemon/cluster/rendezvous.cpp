#include "daemon/cluster/rendezvous.hpp"

#include <openssl/evp.h>

#include <string>

namespace invariantd::cluster {

std::uint64_t rendezvous_score(std::string_view member, std::string_view instance) {
    std::string input;
    input.reserve(member.size() + 1 + instance.size());
    input.append(member);
    input.push_back('\0');
    input.append(instance);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    EVP_Digest(input.data(), input.size(), digest, &length, EVP_sha256(), nullptr);
    std::uint64_t score = 0;
    for (int i = 0; i < 8; ++i) score = (score << 8) | digest[i];
    return score;
}

std::optional<std::string> rendezvous_owner(const std::vector<std::string>& members,
                                            std::string_view instance) {
    const std::string* best = nullptr;
    std::uint64_t best_score = 0;
    for (const auto& member : members) {
        const auto score = rendezvous_score(member, instance);
        if (best == nullptr || score > best_score || (score == best_score && member < *best)) {
            best = &member;
            best_score = score;
        }
    }
    if (best == nullptr) return std::nullopt;
    return *best;
}

}  // namespace invariantd::cluster
