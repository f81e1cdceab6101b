#include "daemon/db/libpq_loader.hpp"

#include <dlfcn.h>
#include <libpq-fe.h>

#include <cstdio>
#include <cstdlib>

namespace invariantd::db {
namespace {

struct loaded_library {
    void* handle = nullptr;
    std::string problem;
};

const loaded_library& libpq() {
    // dlsym on this handle searches libpq (and its dependencies), never the forwarding
    // definitions below, which the executable's own PQ* references bind to; RTLD_LOCAL keeps
    // libpq's symbols from resolving anything loaded later.
    static const loaded_library library = [] {
        loaded_library loaded;
        loaded.handle = dlopen("libpq.so.5", RTLD_NOW | RTLD_LOCAL);
        if (loaded.handle == nullptr) {
            const char* reason = dlerror();
            loaded.problem = std::string("the PostgreSQL client library cannot be loaded: ") +
                             (reason ? reason : "libpq.so.5 not found");
        }
        return loaded;
    }();
    return library;
}

template <typename Function>
Function resolve(const char* name) {
    const auto& library = libpq();
    void* symbol = library.handle ? dlsym(library.handle, name) : nullptr;
    if (symbol == nullptr) {
        // Unreachable through the daemon: every connection starts with libpq_load_problem().
        const char* problem = library.problem.empty() ? "libpq lacks a function" : library.problem.c_str();
        std::fprintf(stderr, "invariantd: %s (%s)\n", problem, name);
        std::abort();
    }
    return reinterpret_cast<Function>(symbol);
}

}  // namespace

const std::string& libpq_load_problem() {
    return libpq().problem;
}

}  // namespace invariantd::db

// The libpq functions the daemon calls, with libpq-fe.h's exact signatures. Each resolves
// its libpq counterpart once (a function-local static: thread-safe) and calls it.
#define INVARIANTD_LIBPQ(name) \
    (*[] { \
        static const auto function = invariantd::db::resolve<decltype(&::name)>(#name); \
        return function; \
    }())

extern "C" {
PGconn* PQconnectStartParams(const char* const* keywords, const char* const* values, int expand_dbname) {
    return INVARIANTD_LIBPQ(PQconnectStartParams)(keywords, values, expand_dbname);
}
PGconn* PQconnectStart(const char* conninfo) { return INVARIANTD_LIBPQ(PQconnectStart)(conninfo); }
PGconn* PQconnectdb(const char* conninfo) { return INVARIANTD_LIBPQ(PQconnectdb)(conninfo); }
PostgresPollingStatusType PQconnectPoll(PGconn* conn) { return INVARIANTD_LIBPQ(PQconnectPoll)(conn); }
void PQfinish(PGconn* conn) { INVARIANTD_LIBPQ(PQfinish)(conn); }
ConnStatusType PQstatus(const PGconn* conn) { return INVARIANTD_LIBPQ(PQstatus)(conn); }
PGTransactionStatusType PQtransactionStatus(const PGconn* conn) { return INVARIANTD_LIBPQ(PQtransactionStatus)(conn); }
char* PQerrorMessage(const PGconn* conn) { return INVARIANTD_LIBPQ(PQerrorMessage)(conn); }
int PQsocket(const PGconn* conn) { return INVARIANTD_LIBPQ(PQsocket)(conn); }
int PQsetnonblocking(PGconn* conn, int arg) { return INVARIANTD_LIBPQ(PQsetnonblocking)(conn, arg); }
PQnoticeProcessor PQsetNoticeProcessor(PGconn* conn, PQnoticeProcessor proc, void* arg) {
    return INVARIANTD_LIBPQ(PQsetNoticeProcessor)(conn, proc, arg);
}
int PQsendQuery(PGconn* conn, const char* query) { return INVARIANTD_LIBPQ(PQsendQuery)(conn, query); }
int PQsendQueryParams(PGconn* conn, const char* command, int nParams, const Oid* paramTypes,
                      const char* const* paramValues, const int* paramLengths, const int* paramFormats,
                      int resultFormat) {
    return INVARIANTD_LIBPQ(PQsendQueryParams)(conn, command, nParams, paramTypes, paramValues, paramLengths,
                                               paramFormats, resultFormat);
}
int PQsetSingleRowMode(PGconn* conn) { return INVARIANTD_LIBPQ(PQsetSingleRowMode)(conn); }
int PQenterPipelineMode(PGconn* conn) { return INVARIANTD_LIBPQ(PQenterPipelineMode)(conn); }
int PQexitPipelineMode(PGconn* conn) { return INVARIANTD_LIBPQ(PQexitPipelineMode)(conn); }
int PQpipelineSync(PGconn* conn) { return INVARIANTD_LIBPQ(PQpipelineSync)(conn); }
int PQflush(PGconn* conn) { return INVARIANTD_LIBPQ(PQflush)(conn); }
int PQconsumeInput(PGconn* conn) { return INVARIANTD_LIBPQ(PQconsumeInput)(conn); }
int PQisBusy(PGconn* conn) { return INVARIANTD_LIBPQ(PQisBusy)(conn); }
PGresult* PQgetResult(PGconn* conn) { return INVARIANTD_LIBPQ(PQgetResult)(conn); }
PGresult* PQexec(PGconn* conn, const char* query) { return INVARIANTD_LIBPQ(PQexec)(conn, query); }
void PQclear(PGresult* res) { INVARIANTD_LIBPQ(PQclear)(res); }
ExecStatusType PQresultStatus(const PGresult* res) { return INVARIANTD_LIBPQ(PQresultStatus)(res); }
char* PQresultErrorField(const PGresult* res, int fieldcode) {
    return INVARIANTD_LIBPQ(PQresultErrorField)(res, fieldcode);
}
int PQntuples(const PGresult* res) { return INVARIANTD_LIBPQ(PQntuples)(res); }
int PQnfields(const PGresult* res) { return INVARIANTD_LIBPQ(PQnfields)(res); }
char* PQfname(const PGresult* res, int field_num) { return INVARIANTD_LIBPQ(PQfname)(res, field_num); }
Oid PQftype(const PGresult* res, int field_num) { return INVARIANTD_LIBPQ(PQftype)(res, field_num); }
char* PQgetvalue(const PGresult* res, int tup_num, int field_num) {
    return INVARIANTD_LIBPQ(PQgetvalue)(res, tup_num, field_num);
}
int PQgetlength(const PGresult* res, int tup_num, int field_num) {
    return INVARIANTD_LIBPQ(PQgetlength)(res, tup_num, field_num);
}
int PQgetisnull(const PGresult* res, int tup_num, int field_num) {
    return INVARIANTD_LIBPQ(PQgetisnull)(res, tup_num, field_num);
}
PGcancel* PQgetCancel(PGconn* conn) { return INVARIANTD_LIBPQ(PQgetCancel)(conn); }
void PQfreeCancel(PGcancel* cancel) { INVARIANTD_LIBPQ(PQfreeCancel)(cancel); }
int PQcancel(PGcancel* cancel, char* errbuf, int errbufsize) {
    return INVARIANTD_LIBPQ(PQcancel)(cancel, errbuf, errbufsize);
}
}
