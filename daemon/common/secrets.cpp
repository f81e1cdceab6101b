#include "daemon/common/secrets.hpp"

#include <algorithm>

namespace invariantd {

secret_registry& secret_registry::global() {
    static secret_registry registry;
    return registry;
}

void secret_registry::replace(std::vector<std::string> secrets) {
    std::erase_if(secrets, [](const std::string& s) { return s.size() < 3; });
    // Longest first, so a secret that contains another is masked whole.
    std::sort(secrets.begin(), secrets.end(),
              [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
    secrets.erase(std::unique(secrets.begin(), secrets.end()), secrets.end());
    std::lock_guard lock(mutex_);
    secrets_ = std::move(secrets);
}

void secret_registry::add(const std::vector<std::string>& secrets) {
    std::vector<std::string> merged;
    {
        std::lock_guard lock(mutex_);
        merged = secrets_;
    }
    merged.insert(merged.end(), secrets.begin(), secrets.end());
    replace(std::move(merged));
}

std::string secret_registry::redact(std::string_view text) const {
    std::string out(text);
    std::lock_guard lock(mutex_);
    for (const auto& secret : secrets_) {
        std::size_t pos = 0;
        while ((pos = out.find(secret, pos)) != std::string::npos) {
            out.replace(pos, secret.size(), "<redacted>");
            pos += 10;
        }
    }
    return out;
}

}  // namespace invariantd
