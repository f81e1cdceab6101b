#include "daemon/core/database_factory.hpp"

#include <stdexcept>

#include "daemon/db/postgres_database.hpp"
#include "daemon/db/sqlite_database.hpp"

namespace invariantd {

std::shared_ptr<db::database> make_database(asio::any_io_executor loop, const config::database_config& config,
                                            const std::string& application_name) {
    switch (config.driver) {
        case db::driver_kind::sqlite:
            return db::sqlite_database::create(
                loop, db::sqlite_options{config.name, config.path, config.max_connections, config.busy_timeout});
        case db::driver_kind::postgres: {
            db::postgres_options options{config.name,         config.dsn,          config.max_connections,
                                         config.connect_timeout, config.max_lifetime, config.lock_timeout};
            options.application_name = application_name;
            return db::postgres_database::create(loop, std::move(options));
        }
    }
    throw std::logic_error("unknown driver");
}

}  // namespace invariantd
