#pragma once
/// The identity of one check instance: the key of every per-check state, metric and route.
/// Today it is the check's name; with database sets (README.md "Check instances")
/// one check runs once per member database and each run is `<check>/<member>`. Code keys
/// state by this type, never by a bare string, so that change touches this file only.
#include <compare>
#include <string>

namespace invariantd {

class check_instance {
public:
    check_instance() = default;
    /// The instance of a check on its one database.
    static check_instance of(std::string check) { return check_instance(std::move(check), {}); }
    /// The instance of a check on one member of a database set.
    static check_instance of_member(std::string check, std::string member) {
        return check_instance(std::move(check), std::move(member));
    }

    /// The instance a name() denotes: "<check>" or "<check>/<member>" (check names have no '/').
    static check_instance from_name(const std::string& name) {
        const auto slash = name.find('/');
        return slash == std::string::npos ? of(name) : of_member(name.substr(0, slash), name.substr(slash + 1));
    }

    const std::string& check() const { return check_; }
    const std::string& member() const { return member_; }
    /// `<check>` or `<check>/<member>`: the name in dedup keys, labels and URLs.
    const std::string& name() const { return name_; }

    friend bool operator==(const check_instance& a, const check_instance& b) { return a.name_ == b.name_; }
    friend std::strong_ordering operator<=>(const check_instance& a, const check_instance& b) {
        return a.name_ <=> b.name_;
    }

private:
    check_instance(std::string check, std::string member)
        : check_(std::move(check)),
          member_(std::move(member)),
          name_(member_.empty() ? check_ : check_ + "/" + member_) {}
    std::string check_;
    std::string member_;
    std::string name_;
};

}  // namespace invariantd
