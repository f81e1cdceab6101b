// Configuration loader: any text gives a configuration or positioned errors, nothing else.
// Every error must name the file and a 1-based line and column (README "Configuration
// reference"); an exception of any other type, a crash or a sanitizer report is a finding.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "daemon/config/loader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    try {
        (void)invariantd::config::load_config_text(text, "fuzz.yaml", "/nonexistent-fuzz-base");
    } catch (const invariantd::config::config_exception& failure) {
        if (failure.errors().empty()) std::abort();  // a refusal must say why
        for (const auto& error : failure.errors()) {
            if (error.line < 1 || error.column < 1 || error.message.empty()) std::abort();
        }
    }
    return 0;
}
