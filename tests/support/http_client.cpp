#include "tests/support/http_client.hpp"

#include <zlib.h>

#include <algorithm>
#include <stdexcept>
#include <utility>

#include <boost/asio.hpp>

namespace invariantd::test {

namespace asio = boost::asio;
using asio::ip::tcp;

std::string http_reply::header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
}

struct http_connection::impl {
    asio::io_context io;
    tcp::socket socket{io};
    std::string buffer;

    /// Reads more bytes into buffer; false on EOF/error/timeout.
    bool read_more(std::chrono::steady_clock::time_point deadline) {
        char chunk[8192];
        boost::system::error_code result = asio::error::would_block;
        std::size_t received = 0;
        socket.async_read_some(asio::buffer(chunk), [&](boost::system::error_code ec, std::size_t n) {
            result = ec;
            received = n;
        });
        io.restart();
        io.run_until(deadline);
        if (result == asio::error::would_block) {
            socket.cancel();
            io.restart();
            io.run();
            return false;
        }
        if (result) return false;
        buffer.append(chunk, received);
        return true;
    }
};

http_connection::http_connection(std::uint16_t port) : impl_(std::make_unique<impl>()) {
    impl_->socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
}

http_connection::~http_connection() {
    boost::system::error_code ec;
    impl_->socket.close(ec);
}

void http_connection::send(const std::string& bytes) { asio::write(impl_->socket, asio::buffer(bytes)); }

http_reply http_connection::read_reply(bool head_request, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    auto& buffer = impl_->buffer;
    std::size_t head_end;
    while ((head_end = buffer.find("\r\n\r\n")) == std::string::npos) {
        if (!impl_->read_more(deadline)) return {};
    }
    http_reply reply;
    const std::string head = buffer.substr(0, head_end);
    buffer.erase(0, head_end + 4);
    const auto first_line_end = head.find("\r\n");
    const std::string status_line = head.substr(0, first_line_end);
    const auto space = status_line.find(' ');
    reply.status = std::stoi(status_line.substr(space + 1, 3));
    std::size_t pos = first_line_end == std::string::npos ? head.size() : first_line_end + 2;
    while (pos < head.size()) {
        auto end = head.find("\r\n", pos);
        if (end == std::string::npos) end = head.size();
        const std::string line = head.substr(pos, end - pos);
        const auto colon = line.find(':');
        if (colon != std::string::npos) {
            std::string name = line.substr(0, colon);
            std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
            std::string value = line.substr(colon + 1);
            value.erase(0, value.find_first_not_of(' '));
            reply.headers[name] = value;
        }
        pos = end + 2;
    }
    if (head_request) return reply;
    const std::string length = reply.header("content-length");
    if (reply.header("transfer-encoding") == "chunked") {
        // Prometheus's API answers larger results in chunks: <hex size>\r\n<data>\r\n ... 0\r\n\r\n
        for (;;) {
            std::size_t line_end;
            while ((line_end = buffer.find("\r\n")) == std::string::npos) {
                if (!impl_->read_more(deadline)) return reply;
            }
            const std::size_t size = std::stoul(buffer.substr(0, line_end), nullptr, 16);
            while (buffer.size() < line_end + 2 + size + 2) {
                if (!impl_->read_more(deadline)) return reply;
            }
            reply.body += buffer.substr(line_end + 2, size);
            buffer.erase(0, line_end + 2 + size + 2);
            if (size == 0) return reply;  // no trailers are sent to us
        }
    }
    if (!length.empty()) {
        const std::size_t size = std::stoul(length);
        while (buffer.size() < size) {
            if (!impl_->read_more(deadline)) break;
        }
        reply.body = buffer.substr(0, std::min(size, buffer.size()));
        buffer.erase(0, reply.body.size());
    } else {
        while (impl_->read_more(deadline)) {
        }
        reply.body = std::move(buffer);
        buffer.clear();
    }
    return reply;
}

bool http_connection::closed_by_peer(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        char chunk[256];
        boost::system::error_code result = asio::error::would_block;
        impl_->socket.async_read_some(asio::buffer(chunk), [&](boost::system::error_code ec, std::size_t) { result = ec; });
        impl_->io.restart();
        impl_->io.run_until(deadline);
        if (result == asio::error::would_block) {
            impl_->socket.cancel();
            impl_->io.restart();
            impl_->io.run();
            return false;
        }
        if (result) return true;  // eof or reset: closed
    }
    return false;
}

http_reply http_call(std::uint16_t port, const std::string& method, const std::string& target,
                     const std::map<std::string, std::string>& headers, const std::string& body) {
    http_connection connection(port);
    std::string request = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
    for (const auto& [name, value] : headers) request += name + ": " + value + "\r\n";
    if (!body.empty() || method == "POST") request += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    request += "\r\n" + body;
    connection.send(request);
    return connection.read_reply(method == "HEAD");
}

std::string gunzip(const std::string& data) {
    z_stream stream{};
    if (inflateInit2(&stream, 15 + 16) != Z_OK) throw std::runtime_error("inflateInit2");
    stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    stream.avail_in = static_cast<uInt>(data.size());
    std::string out;
    char chunk[16384];
    int rc = Z_OK;
    while (rc == Z_OK) {
        stream.next_out = reinterpret_cast<Bytef*>(chunk);
        stream.avail_out = sizeof chunk;
        rc = inflate(&stream, Z_NO_FLUSH);
        out.append(chunk, sizeof chunk - stream.avail_out);
    }
    inflateEnd(&stream);
    if (rc != Z_STREAM_END) throw std::runtime_error("not a complete gzip stream");
    return out;
}

}  // namespace invariantd::test
