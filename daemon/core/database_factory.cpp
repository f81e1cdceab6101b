#include "daemon/core/database_factory.hpp"

#include <stdexcept>

#include "daemon/db/postgres_database.hpp"
#include "daemon/db/sqlite_database.hpp"

namespace invariantd {

std::shared_ptr<db::database> make_database(asio::any_io_executor loop, const config::database_config& config) {
    switch (config.driver) {
        case db::driver_kind::sqlite:
            return db::sqlite_database::create(
                loop, db::sqlite_options{config.name, config.path, config.max_connections, config.busy_timeout});
        case db::driver_kind::postgres:
            return db::postgres_database::create(loop, db::postgres_options{config.name, config.dsn, config.max_connections,
                                                                            config.connect_timeout, config.max_lifetime,
                                                                            config.lock_timeout});
    }
    throw std::logic_error("unknown driver");
}

}  // namespace invariantd
